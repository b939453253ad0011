// The sandboxed preload: exposes exactly the SpareBridge of shared/ipc.ts on `window.spare`, and
// nothing else. ipcRenderer and raw IPC events never reach the page; every reply and event is
// shape-checked before the page sees it. Bundled (everything but electron) into
// dist/main/app/preload.cjs by scripts/build-main.mjs.
import { contextBridge, ipcRenderer } from 'electron'
import { IPC_CHANNELS, type BridgeResult, type SpareBridge } from '../../shared/ipc.ts'
import { isBridgeResult, isEventMessage } from './ipc-shape.ts'

type Listener = (event: string, data: unknown) => void

/** One entry per subscription, so the same function subscribed twice is two subscriptions. */
const subscriptions = new Set<{ listener: Listener }>()

ipcRenderer.on(IPC_CHANNELS.event, (_event, payload: unknown) => {
  if (!isEventMessage(payload)) return
  for (const sub of [...subscriptions]) {
    try {
      sub.listener(payload.event, payload.data)
    } catch (err) {
      console.error('spare: an event listener threw', err)
    }
  }
})

function failure(code: 'BAD_INPUT' | 'INTERNAL', message: string): BridgeResult {
  return { ok: false, error: { code, message } }
}

const bridge: SpareBridge = {
  kind: 'electron',
  async call(method: string, params: unknown): Promise<BridgeResult> {
    if (typeof method !== 'string') return failure('BAD_INPUT', 'the method name must be a string')
    const reply: unknown = await ipcRenderer.invoke(IPC_CHANNELS.call, { method, params })
    return isBridgeResult(reply) ? reply : failure('INTERNAL', 'the app sent a malformed reply')
  },
  onEvent(listener: Listener): () => void {
    if (typeof listener !== 'function') throw new TypeError('onEvent needs a function')
    const sub = { listener }
    subscriptions.add(sub)
    return () => {
      subscriptions.delete(sub)
    }
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
}

contextBridge.exposeInMainWorld('spare', bridge)
