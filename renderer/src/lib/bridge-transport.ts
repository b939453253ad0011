// The Electron transport: `window.spare`, the narrow bridge the preload exposes (shared/ipc.ts).
import { ApiError } from '../../../shared/contract.ts'
import type { Transport } from '../../../shared/client.ts'
import type { SpareBridge } from '../../../shared/ipc.ts'

export function createBridgeTransport(bridge: SpareBridge): Transport {
  return {
    async call(method, params) {
      let answer
      try {
        answer = await bridge.call(method, params)
      } catch (err) {
        // IPC itself failed (the main process is gone or refused the sender).
        const detail = err instanceof Error ? `: ${err.message}` : ''
        throw new ApiError('UNAVAILABLE', `The Spare app did not answer ${method}${detail}`)
      }
      if (answer.ok) return answer.result
      throw new ApiError(answer.error.code, answer.error.message)
    },
    subscribe(listener) {
      return bridge.onEvent(listener)
    },
  }
}

/** The bridge, when this page runs inside Spare's Electron window. */
export function findBridge(win: { spare?: unknown }): SpareBridge | null {
  const candidate = win.spare
  if (typeof candidate !== 'object' || candidate === null) return null
  const bridge = candidate as Partial<SpareBridge>
  if (bridge.kind !== 'electron') return null
  if (typeof bridge.call !== 'function' || typeof bridge.onEvent !== 'function') return null
  return candidate as SpareBridge
}
