// The state of the link between the UI and the Spare node, as an external store for React's
// useSyncExternalStore. In Electron the link is IPC and always up; in the browser it is the
// daemon's WebSocket, which drops and reconnects.

export type ConnectionStatus =
  /** The socket is being opened; calls made now are queued until it opens. */
  | 'connecting'
  | 'open'
  /** The socket dropped (or never opened); a new attempt is scheduled at `retryAt`. */
  | 'retrying'
  /** The transport was closed on purpose; nothing will reconnect. */
  | 'closed'

export interface ConnectionState {
  readonly status: ConnectionStatus
  /** Consecutive failed attempts since the last successful open. */
  readonly attempt: number
  /** Epoch ms of the next attempt while retrying, else null. */
  readonly retryAt: number | null
  /** Increments on every successful open: screens refetch when it changes. */
  readonly generation: number
  /** Why the last socket closed, when the server said so. */
  readonly lastError: string | null
  /**
   * The node is up but refused this browser's login (a restarted daemon forgets its sessions):
   * only a new login link lets it in. Cleared by the next successful open.
   */
  readonly loggedOut: boolean
}

export interface ConnectionSource {
  getState(): ConnectionState
  subscribe(listener: () => void): () => void
  /** Skips the backoff wait and tries to connect now (no-op when not retrying). */
  retryNow(): void
}

export const OPEN_STATE: ConnectionState = Object.freeze({
  status: 'open',
  attempt: 0,
  retryAt: null,
  generation: 1,
  lastError: null,
  loggedOut: false,
})

/** A link that is always up: Electron IPC, and tests. */
export function alwaysConnected(): ConnectionSource {
  return {
    getState: () => OPEN_STATE,
    subscribe: () => () => {},
    retryNow: () => {},
  }
}
