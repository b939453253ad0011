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
  /** renderer -> main, invoke: () -> LoginItemState (read afresh from the system) */
  loginItem: 'spare:login-item',
  /** renderer -> main, invoke: (openAtLogin: boolean) -> LoginItemState (read back after) */
  setLoginItem: 'spare:set-login-item',
  /** main -> renderer, send: LoginItemState, whenever it changed (the tray, Settings, the OS) */
  loginItemChanged: 'spare:login-item-changed',
} as const

export type BridgeResult =
  { ok: true; result: unknown } | { ok: false; error: { code: ErrorCode; message: string } }

/** "Start Spare at login", as the app last read it from the operating system. */
export interface LoginItemState {
  /** False where the app can't register itself (Linux when not packaged). */
  supported: boolean
  openAtLogin: boolean
}

/** What `window.spare` looks like inside the Electron renderer. Absent in a plain browser. */
export interface SpareBridge {
  readonly kind: 'electron'
  call(method: string, params: unknown): Promise<BridgeResult>
  onEvent(listener: (event: string, data: unknown) => void): () => void
  pickFolder(): Promise<string | null>
  openExternal(url: string): Promise<boolean>
  // The login item is app-only and optional in the type: the renderer's findBridge checks only
  // call and onEvent, so a screen checks these are functions before offering the setting.
  /** Reads the login item afresh (rejects if the app's reply is malformed). */
  getLoginItem?(): Promise<LoginItemState>
  /** Turns the login item on or off; resolves to the state read back afterwards. */
  setLoginItem?(openAtLogin: boolean): Promise<LoginItemState>
  /** Calls `listener` with the new state whenever it changes, wherever it was changed. */
  onLoginItemChanged?(listener: (state: LoginItemState) => void): () => void
}
