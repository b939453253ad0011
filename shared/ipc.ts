// The Electron transport of the contract: the channel names and the one narrow object the preload
// exposes on `window.spare` through contextBridge. The renderer never sees ipcRenderer itself.
import type { ErrorCode } from './contract.ts'

export const IPC_CHANNELS = {
  /** renderer -> main, invoke: { method, params } -> BridgeResult */
  call: 'spare:call',
  /** main -> renderer, send: { event, data } */
  event: 'spare:event',
  /** renderer -> main, invoke: () -> string | null (native folder picker; app only) */
  pickFolder: 'spare:pick-folder',
  /** renderer -> main, invoke: (url) -> boolean (opens only http(s) links the app made) */
  openExternal: 'spare:open-external',
} as const

export type BridgeResult =
  { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string } }

/** What `window.spare` looks like inside the Electron renderer. Absent in a plain browser. */
export interface SpareBridge {
  readonly kind: 'electron'
  call(method: string, params: unknown): Promise<BridgeResult>
  onEvent(listener: (event: string, data: unknown) => void): () => void
  pickFolder(): Promise<string | null>
  openExternal(url: string): Promise<boolean>
}
