// The main window and the Electron security checklist: isolated, sandboxed renderer without Node;
// every permission denied; no new windows, no navigation away from app://, no <webview>; http(s)
// links go to the system browser through the allowlist in security.ts.
import { BrowserWindow, nativeTheme, shell, type Session, type WebContents } from 'electron'
import {
  APP_ENTRY_URL,
  externalUrlToOpen,
  isAllowedNavigation,
  isPermissionAllowed,
} from './security.ts'

/** Opens an http(s) URL in the system browser; anything else is refused. */
export async function openExternalSafely(raw: unknown): Promise<boolean> {
  const url = externalUrlToOpen(raw)
  if (url === null) return false
  try {
    await shell.openExternal(url, { activate: true })
    return true
  } catch (err) {
    console.error('spare: could not open a link in the browser', err)
    return false
  }
}

/**
 * Denies every permission (camera, notifications from pages, geolocation, HID, ...) but the
 * clipboard write of the app's own pages (security.ts).
 */
export function hardenSession(ses: Session): void {
  ses.setPermissionRequestHandler((_webContents, permission, callback, details) =>
    callback(isPermissionAllowed(permission, details.requestingUrl)),
  )
  ses.setPermissionCheckHandler((_webContents, permission, requestingOrigin) =>
    isPermissionAllowed(permission, requestingOrigin),
  )
  ses.setDevicePermissionHandler(() => false)
}

/** Applied to every WebContents the app ever creates (app 'web-contents-created'). */
export function hardenWebContents(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    void openExternalSafely(url)
    return { action: 'deny' }
  })
  const blockNavigation = (event: { preventDefault(): void }, url: string): void => {
    if (isAllowedNavigation(url)) return
    event.preventDefault()
    void openExternalSafely(url)
  }
  contents.on('will-navigate', blockNavigation)
  contents.on('will-redirect', blockNavigation)
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

export interface MainWindowOptions {
  preload: string
  show: boolean
  devTools: boolean
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: 1100,
    height: 760,
    minWidth: 720,
    minHeight: 520,
    title: 'Spare',
    show: false,
    autoHideMenuBar: true,
    // The renderer's own background (white, or zinc-950 in dark mode): no flash while it loads.
    backgroundColor: nativeTheme.shouldUseDarkColors ? '#09090b' : '#ffffff',
    webPreferences: {
      preload: options.preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: options.devTools,
    },
  })
  if (options.show) win.once('ready-to-show', () => win.show())
  void win.loadURL(APP_ENTRY_URL).catch((err: unknown) => {
    console.error('spare: could not load the window', err)
  })
  return win
}
