/** Mutable statistics of one broker, read by stats() and $SYS. */
export class Counters {
  readonly startedAt = Date.now()
  clientsConnected = 0
  clientsMaximum = 0
  messagesReceived = 0
  messagesSent = 0
  bytesReceived = 0
  bytesSent = 0
  publishDropped = 0
}
