import type { SocketLike } from '../lib/ws-transport.ts'

/** A WebSocket stand-in that stays connecting and does nothing: for tests of what is opened. */
export function idleSocket(): SocketLike {
  return {
    readyState: 0,
    send: () => {},
    close: () => {},
    onopen: null,
    onmessage: null,
    onclose: null,
    onerror: null,
  }
}
