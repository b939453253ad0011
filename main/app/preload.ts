// The sandboxed preload: exposes exactly the SpareBridge of shared/ipc.ts on `window.spare`, and
// nothing else. ipcRenderer and raw IPC events never reach the page; every reply and event is
// shape-checked before the page sees it. Bundled (everything but electron) into
// dist/main/app/preload.cjs by scripts/build-main.mjs.
import { contextBridge, ipcRenderer } from 'electron'
import {
  IPC_CHANNELS,
  type BridgeResult,
  type LoginItemState,
  type SpareBridge,
} from '../../shared/ipc.ts'
import { isBridgeResult, isEventMessage, parseLoginItemState } from './ipc-shape.ts'

type Listener = (event: string, data: unknown) => void
type LoginItemListener = (state: LoginItemState) => void

/** One entry per subscription, so the same function subscribed twice is two subscriptions. */
const subscriptions = new Set<{ listener: Listener }>()
const loginItemSubscriptions = new Set<{ listener: LoginItemListener }>()

function subscribe<L>(set: Set<{ listener: L }>, listener: L, name: string): () => void {
  if (typeof listener !== 'function') throw new TypeError(`${name} needs a function`)
  const sub = { listener }
  set.add(sub)
  return () => {
    set.delete(sub)
  }
}

function notify<L>(set: Set<{ listener: L }>, run: (listener: L) => void): void {
  for (const sub of [...set]) {
    try {
      run(sub.listener)
    } catch (err) {
      console.error('spare: an event listener threw', err)
    }
  }
}

ipcRenderer.on(IPC_CHANNELS.event, (_event, payload: unknown) => {
  if (!isEventMessage(payload)) return
  notify(subscriptions, (listener) => listener(payload.event, payload.data))
})

ipcRenderer.on(IPC_CHANNELS.loginItemChanged, (_event, payload: unknown) => {
  const state = parseLoginItemState(payload)
  if (state === null) return
  // A copy per listener: one listener can't change what the next one sees.
  notify(loginItemSubscriptions, (listener) => listener({ ...state }))
})

function failure(code: 'BAD_INPUT' | 'INTERNAL', message: string): BridgeResult {
  return { ok: false, error: { code, message } }
}

function loginItemReply(reply: unknown): LoginItemState {
  const state = parseLoginItemState(reply)
  if (state === null) throw new Error('The Spare app sent a malformed reply')
  return state
}

const bridge: SpareBridge = {
  kind: 'electron',
  async call(method: string, params: unknown): Promise<BridgeResult> {
    if (typeof method !== 'string') return failure('BAD_INPUT', 'the method name must be a string')
    const reply: unknown = await ipcRenderer.invoke(IPC_CHANNELS.call, { method, params })
    return isBridgeResult(reply) ? reply : failure('INTERNAL', 'the app sent a malformed reply')
  },
  onEvent(listener: Listener): () => void {
    return subscribe(subscriptions, listener, 'onEvent')
  },
  async pickFolder(): Promise<string | null> {
    const picked: unknown = await ipcRenderer.invoke(IPC_CHANNELS.pickFolder)
    return typeof picked === 'string' ? picked : null
  },
  async openExternal(url: string): Promise<boolean> {
    if (typeof url !== 'string') return false
    const opened: unknown = await ipcRenderer.invoke(IPC_CHANNELS.openExternal, url)
    return opened === true
  },
  async getLoginItem(): Promise<LoginItemState> {
    return loginItemReply(await ipcRenderer.invoke(IPC_CHANNELS.loginItem))
  },
  async setLoginItem(openAtLogin: boolean): Promise<LoginItemState> {
    if (typeof openAtLogin !== 'boolean') throw new TypeError('setLoginItem needs true or false')
    return loginItemReply(await ipcRenderer.invoke(IPC_CHANNELS.setLoginItem, openAtLogin))
  },
  onLoginItemChanged(listener: LoginItemListener): () => void {
    return subscribe(loginItemSubscriptions, listener, 'onLoginItemChanged')
  },
}

contextBridge.exposeInMainWorld('spare', bridge)
