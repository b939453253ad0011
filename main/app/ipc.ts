// The main side of the Electron transport: the IPC_CHANNELS handlers of shared/ipc.ts. Every
// message's sender is checked first (our window, its main frame, app:// origin); calls go to the
// SpareService unchanged, which validates them against the contract.
import {
  dialog,
  ipcMain,
  type BrowserWindow,
  type IpcMainInvokeEvent,
  type OpenDialogOptions,
} from 'electron'
import { IPC_CHANNELS, type BridgeResult } from '../../shared/ipc.ts'
import {
  badRequestResult,
  parseCallRequest,
  runCall,
  unauthorizedResult,
  unavailableResult,
} from './bridge.ts'
import { eventMessage } from './ipc-shape.ts'
import type { ServiceLike } from './node-controller.ts'
import { isTrustedSender, type SenderInfo } from './security.ts'
import { openExternalSafely } from './window.ts'

export interface IpcDeps {
  /** The main window, if it exists. */
  window(): BrowserWindow | null
  /** The service once the node runs (waits for a start in progress); null if it isn't running. */
  service(): Promise<ServiceLike | null>
}

function liveWindow(deps: IpcDeps): BrowserWindow | null {
  const win = deps.window()
  return win !== null && !win.isDestroyed() ? win : null
}

export function senderInfo(event: IpcMainInvokeEvent, win: BrowserWindow | null): SenderInfo {
  const frame = event.senderFrame
  const contents = win?.webContents ?? null
  const main = contents?.mainFrame ?? null
  return {
    fromOurWindow: contents !== null && event.sender.id === contents.id,
    isMainFrame:
      frame !== null &&
      main !== null &&
      frame.parent === null &&
      frame.processId === main.processId &&
      frame.routingId === main.routingId,
    frameUrl: frame?.url ?? null,
  }
}

function trusted(event: IpcMainInvokeEvent, deps: IpcDeps): boolean {
  const ok = isTrustedSender(senderInfo(event, liveWindow(deps)))
  if (!ok) console.warn('spare: refused an IPC message from an untrusted frame')
  return ok
}

export function registerIpc(deps: IpcDeps): () => void {
  ipcMain.handle(IPC_CHANNELS.call, async (event, payload: unknown): Promise<BridgeResult> => {
    if (!trusted(event, deps)) return unauthorizedResult()
    const request = parseCallRequest(payload)
    if (request === null) return badRequestResult('expected { method: string, params?: object }')
    const service = await deps.service()
    if (service === null) return unavailableResult()
    return runCall(
      (m, p) => service.call(m, p),
      request,
      (err) => {
        console.error(`spare: ${request.method} failed unexpectedly`, err)
      },
    )
  })

  ipcMain.handle(IPC_CHANNELS.pickFolder, async (event): Promise<string | null> => {
    if (!trusted(event, deps)) return null
    const win = liveWindow(deps)
    const options: OpenDialogOptions = {
      title: 'Choose a folder',
      properties: ['openDirectory', 'createDirectory'],
    }
    const picked =
      win !== null
        ? await dialog.showOpenDialog(win, options)
        : await dialog.showOpenDialog(options)
    return picked.canceled ? null : (picked.filePaths[0] ?? null)
  })

  ipcMain.handle(IPC_CHANNELS.openExternal, async (event, url: unknown): Promise<boolean> => {
    if (!trusted(event, deps)) return false
    return openExternalSafely(url)
  })

  return () => {
    ipcMain.removeHandler(IPC_CHANNELS.call)
    ipcMain.removeHandler(IPC_CHANNELS.pickFolder)
    ipcMain.removeHandler(IPC_CHANNELS.openExternal)
  }
}

/** Sends one service event to the window (if it is there; events are not queued). */
export function forwardEvent(win: BrowserWindow | null, event: string, data: unknown): void {
  if (win === null || win.isDestroyed() || win.webContents.isDestroyed()) return
  try {
    win.webContents.send(IPC_CHANNELS.event, eventMessage(event, data))
  } catch (err) {
    console.error(`spare: could not forward ${event} to the window`, err)
  }
}
