// The IPC contract between the auth benchmark's parent and its generator process (generator.ts).

export interface Target {
  host: string
  port: number
  /** PEM of the CA that signed the broker's server certificate; set = connect over TLS. */
  serverCaPem?: string
}

/** How one client logs in: a password, a client certificate, or neither (anonymous). */
export interface Credential {
  clientId: string
  username?: string
  password?: string
  certPem?: string
  keyPem?: string
}

export type ClientKind = 'raw' | 'mqtt.js'

export type ToGenerator =
  | {
      /** CONNECT, CONNACK, DISCONNECT once per credential, at most `concurrency` at a time. */
      type: 'connect-round'
      target: Target
      credentials: Credential[]
      concurrency: number
      client: ClientKind
    }
  | {
      /** Connects the subscriber and the publishers, then waits for `publish-window`. */
      type: 'publish-setup'
      target: Target
      subscriber: Credential
      filter: string
      publishers: Credential[]
      /** One topic per publisher. */
      topics: string[]
      payloadSize: number
      /** Messages sent and not yet received before publishers pause. */
      window: number
    }
  | {
      /** Publish for warmupMs, then count what the subscriber receives for durationMs. */
      type: 'publish-window'
      warmupMs: number
      durationMs: number
      /** Messages per second, all publishers together; 0 = as fast as the window allows. */
      rate: number
    }

export type FromGenerator =
  /** Sent when the timed part of a round or window starts: the parent reads the broker's CPU then. */
  | { type: 'started' }
  | {
      type: 'connect-done'
      ok: number
      failed: number
      seconds: number
      /** CPU seconds the generator used during the round. */
      cpu: number
      errors: string[]
    }
  | { type: 'publish-ready'; publishers: number }
  | { type: 'publish-done'; received: number; seconds: number; cpu: number; errors: string[] }
  | { type: 'failed'; message: string }
