/**
 * The one place that sets up @peculiar/x509: it needs the reflect-metadata polyfill loaded
 * before it (its dependency injection reads decorator metadata) and a WebCrypto provider
 * (it does not find node's by itself). Every module here imports x509 from this file, so
 * the order cannot be got wrong. See ../shared/ENVIRONMENT.md.
 */
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

// Its types name the DOM's Crypto, which this project's lib (no "DOM") does not declare.
x509.cryptoProvider.set(webcrypto)

export { x509 }

export const subtle: webcrypto.SubtleCrypto = webcrypto.subtle

/** WebCrypto types, from node's declarations rather than the DOM's. */
export type CryptoKey = webcrypto.CryptoKey
export type CryptoKeyPair = webcrypto.CryptoKeyPair
