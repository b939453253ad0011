// Shape checks of the messages that cross the Electron IPC boundary (shared/ipc.ts). Imports nothing,
// so the sandboxed preload can bundle it without pulling in zod or the contract; the main side uses
// the same functions. Tested in test/unit/app-bridge.test.ts.
import type { BridgeResult, LoginItemState } from '../../shared/ipc.ts'

/** Longest method name accepted before it reaches the service (which knows the real names). */
const MAX_METHOD_LENGTH = 128

export interface CallRequest {
  method: string
  params: unknown
}

/** Parses the payload of IPC_CHANNELS.call: `{ method: string, params?: unknown }`. */
export function parseCallRequest(payload: unknown): CallRequest | null {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return null
  const { method, params } = payload as { method?: unknown; params?: unknown }
  if (typeof method !== 'string' || method.length === 0 || method.length > MAX_METHOD_LENGTH) {
    return null
  }
  return { method, params: params === undefined ? {} : params }
}

/** The payload of IPC_CHANNELS.event, main -> renderer. */
export interface EventMessage {
  event: string
  data: unknown
}

export function eventMessage(event: string, data: unknown): EventMessage {
  return { event, data }
}

/** The preload's minimal check of an incoming event payload before it reaches any listener. */
export function isEventMessage(value: unknown): value is EventMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const { event } = value as { event?: unknown }
  return typeof event === 'string' && event.length > 0 && event.length <= MAX_METHOD_LENGTH
}

/** The preload's minimal check of a BridgeResult coming back from main. */
export function isBridgeResult(value: unknown): value is BridgeResult {
  if (typeof value !== 'object' || value === null) return false
  const v = value as { ok?: unknown; error?: unknown }
  if (v.ok === true) return true
  if (v.ok !== false || typeof v.error !== 'object' || v.error === null) return false
  const e = v.error as { code?: unknown; message?: unknown }
  return typeof e.code === 'string' && typeof e.message === 'string'
}

/**
 * The check of a LoginItemState, both ways: the preload's of main's replies and of the changes it
 * sends. Returns a fresh object of exactly the two flags, or null when the value isn't one.
 */
export function parseLoginItemState(value: unknown): LoginItemState | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null
  const { supported, openAtLogin } = value as { supported?: unknown; openAtLogin?: unknown }
  if (typeof supported !== 'boolean' || typeof openAtLogin !== 'boolean') return null
  // Where it can't be set, it isn't set: a reply claiming otherwise is malformed.
  if (!supported && openAtLogin) return null
  return { supported, openAtLogin }
}
