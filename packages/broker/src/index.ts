export type * from './options.js'
export type * from './persistence/store.js'
