import { y } from '@strata/broker'
export const z = y
