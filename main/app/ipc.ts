// The main side of the Electron transport: the IPC_CHANNELS handlers of shared/ipc.ts. Every
// message's sender is checked first (our window, its main frame, app:// origin); calls go to the
// SpareService unchanged, which validates them against the contract. The login item is the app's
// own setting, not the node's: it goes to main.ts's LoginItem (login-item.ts).
import {
  dialog,
  ipcMain,
  type BrowserWindow,
  type IpcMainInvokeEvent,
  type OpenDialogOptions,
} from 'electron'
import { IPC_CHANNELS, type BridgeResult, type LoginItemState } from '../../shared/ipc.ts'
import {
  badRequestResult,
  parseCallRequest,
  runCall,
  unauthorizedResult,
  unavailableResult,
} from './bridge.ts'
import { eventMessage } from './ipc-shape.ts'
import type { LoginItem } from './login-item.ts'
import type { ServiceLike } from './node-controller.ts'
import { isTrustedSender, type SenderInfo } from './security.ts'
import { openExternalSafely } from './window.ts'

export interface IpcDeps {
  /** The main window, if it exists. */
  window(): BrowserWindow | null
  /** The service once the node runs (waits for a start in progress); null if it isn't running. */
  service(): Promise<ServiceLike | null>
  /** "Start at login", shared with the tray. */
  loginItem: Pick<LoginItem, 'read' | 'set'>
}

/** The answer to a frame that may not see or change the login item. */
const LOGIN_ITEM_REFUSED: LoginItemState = Object.freeze({ supported: false, openAtLogin: false })

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

  ipcMain.handle(IPC_CHANNELS.loginItem, (event): LoginItemState => {
    if (!trusted(event, deps)) return LOGIN_ITEM_REFUSED
    return deps.loginItem.read()
  })

  ipcMain.handle(IPC_CHANNELS.setLoginItem, (event, openAtLogin: unknown): LoginItemState => {
    if (!trusted(event, deps)) return LOGIN_ITEM_REFUSED
    // Only a real boolean changes anything; otherwise the answer is the setting as it is.
    if (typeof openAtLogin !== 'boolean') return deps.loginItem.read()
    return deps.loginItem.set(openAtLogin)
  })

  return () => {
    ipcMain.removeHandler(IPC_CHANNELS.call)
    ipcMain.removeHandler(IPC_CHANNELS.pickFolder)
    ipcMain.removeHandler(IPC_CHANNELS.openExternal)
    ipcMain.removeHandler(IPC_CHANNELS.loginItem)
    ipcMain.removeHandler(IPC_CHANNELS.setLoginItem)
  }
}

function sendToWindow(
  win: BrowserWindow | null,
  channel: string,
  payload: unknown,
  what: string,
): void {
  if (win === null || win.isDestroyed() || win.webContents.isDestroyed()) return
  try {
    win.webContents.send(channel, payload)
  } catch (err) {
    console.error(`spare: could not forward ${what} to the window`, err)
  }
}

/** Sends one service event to the window (if it is there; events are not queued). */
export function forwardEvent(win: BrowserWindow | null, event: string, data: unknown): void {
  sendToWindow(win, IPC_CHANNELS.event, eventMessage(event, data), event)
}

/** Tells the window the login item changed (a window opened later reads it when it mounts). */
export function forwardLoginItem(win: BrowserWindow | null, state: LoginItemState): void {
  const payload: LoginItemState = { supported: state.supported, openAtLogin: state.openAtLogin }
  sendToWindow(win, IPC_CHANNELS.loginItemChanged, payload, 'the login item')
}
