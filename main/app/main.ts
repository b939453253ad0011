// Spare's Electron main process: one instance, the node running in this process, a tray, and one
// window that shows the renderer from app://spare/. The decisions live in small pure modules
// (security, bridge, tray-state, node-controller, app-options, login-item); this file wires them to
// Electron. Bundled by scripts/build-main.mjs into dist/main/app/main.cjs.
import path from 'node:path'
import { Notification, app, powerMonitor, session, type BrowserWindow } from 'electron'
import { SpareService } from '../engine/api/service.ts'
import type { SystemProbe } from '../engine/limits/system.ts'
import { SpareNode } from '../engine/node.ts'
import { HIDDEN_FLAG, appLayout, nodeDataDir, parseAppOptions } from './app-options.ts'
import { forwardEvent, forwardLoginItem, registerIpc } from './ipc.ts'
import {
  LoginItem,
  loginItemKind,
  readXdgAutostart,
  writeXdgAutostart,
  xdgAutostartCommand,
  xdgAutostartFile,
} from './login-item.ts'
import { NodeController, settlesWithin, type ServiceLike } from './node-controller.ts'
import { createPowerProbe } from './power-probe.ts'
import { handleAppProtocol, registerAppScheme } from './protocol.ts'
import {
  DONATE_ACTION_CALL,
  SYNC_ACTION_METHOD,
  applyEvent,
  donateActionFailedNotification,
  folderConflictNotification,
  folderErrorNotification,
  initialTrayState,
  snapshotFromRaw,
  snoozeEndsIn,
  syncActionFailedNotification,
  withDonateStatus,
  withNodeStatus,
  withOpenAtLogin,
  withPhase,
  type DonateAction,
  type NewConflicts,
  type TrayAction,
  type TrayFolder,
  type TrayState,
} from './tray-state.ts'
import { TrayView } from './tray.ts'
import { createMainWindow, hardenSession, hardenWebContents } from './window.ts'

/** How long quitting waits for the node to close before giving up on it. */
const STOP_TIMEOUT_MS = 15_000

const options = parseAppOptions(process.argv.slice(1), process.env)

app.setName('Spare')
if (process.platform === 'win32') app.setAppUserModelId('dev.spare.app')
// From source (npm start), keep data apart from an installed Spare: another folder, and the
// local network by default (scripts/start.mjs).
if (!app.isPackaged)
  app.setPath('userData', path.join(app.getPath('appData'), 'Spare (development)'))
app.enableSandbox()
registerAppScheme()

if (!app.requestSingleInstanceLock()) {
  // Another Spare runs: it gets 'second-instance' and shows its window; this one leaves.
  app.quit()
} else {
  runApp()
}

function runApp(): void {
  const layout = appLayout(app.getAppPath())
  const dataDir = nodeDataDir(app.getPath('userData'), options)
  // Idle time and battery for the CPU governor; powerMonitor works once the app is ready, which is
  // before the node is first started.
  let systemProbe: SystemProbe | null = null
  const controller = new NodeController(async () => {
    const node = new SpareNode({
      dataDir,
      ...(options.network !== null ? { network: options.network } : {}),
      ...(systemProbe !== null ? { systemProbe } : {}),
      logToStderr: !app.isPackaged,
    })
    try {
      await node.ready()
    } catch (err) {
      await node.close().catch(() => {})
      throw err
    }
    return { service: new SpareService(node), close: () => node.close() }
  })

  let win: BrowserWindow | null = null
  let tray: TrayView | null = null
  let state: TrayState = initialTrayState()
  let quitting = false
  let shutdown: 'no' | 'closing' | 'done' = 'no'
  let unsubscribe: (() => void) | null = null
  let snoozeTimer: ReturnType<typeof setTimeout> | null = null

  // ---- login item ----
  const loginKind = loginItemKind(process.platform, app.isPackaged)
  const xdgFile = (): string => xdgAutostartFile(process.env, app.getPath('home'))
  const readOpenAtLogin = (): boolean => {
    if (loginKind === 'electron')
      return app.getLoginItemSettings({ args: [HIDDEN_FLAG] }).openAtLogin
    if (loginKind === 'xdg') return readXdgAutostart(xdgFile())
    return false
  }
  const setOpenAtLogin = (openAtLogin: boolean): void => {
    if (loginKind === 'electron') app.setLoginItemSettings({ openAtLogin, args: [HIDDEN_FLAG] })
    if (loginKind === 'xdg') {
      writeXdgAutostart(
        xdgFile(),
        openAtLogin,
        xdgAutostartCommand(process.execPath, process.env.APPIMAGE),
      )
    }
  }
  // Shared by the tray's checkbox and the window's Settings: a change on either side (or one made
  // outside Spare, noticed on the next read) reaches the other.
  const loginItem = new LoginItem(
    { supported: loginKind !== 'unsupported', read: readOpenAtLogin, write: setOpenAtLogin },
    (login) => {
      update(withOpenAtLogin(state, login.openAtLogin))
      forwardLoginItem(win, login)
    },
  )

  // ---- one state, one render ----
  // Desktop notifications open the window when clicked.
  const notify = (content: { title: string; body: string }): void => {
    if (!Notification.isSupported()) return
    const notification = new Notification(content)
    notification.on('click', showWindow)
    notification.show()
  }
  const notifyFailed = (folder: TrayFolder): void => notify(folderErrorNotification(folder))
  const notifyConflicts = (news: NewConflicts): void => notify(folderConflictNotification(news))
  const update = (
    next: TrayState,
    news: { newlyFailed?: readonly TrayFolder[]; newConflicts?: readonly NewConflicts[] } = {},
  ): void => {
    const snoozeChanged = next.donatePause?.until !== state.donatePause?.until
    state = next
    tray?.render(state)
    news.newlyFailed?.forEach(notifyFailed)
    news.newConflicts?.forEach(notifyConflicts)
    if (snoozeChanged) watchSnooze()
  }

  // When a snooze ends the node says so (donate.updated); in case that is missed, the tray asks
  // again a moment after the end, so it never offers "Resume" for a snooze that is over.
  const readDonateStatus = (service: ServiceLike): void => {
    service
      .call('donate.get', {})
      .then((status) => update(withDonateStatus(state, status)))
      .catch((err: unknown) => console.error('spare: could not read the donation status', err))
  }
  function watchSnooze(): void {
    if (snoozeTimer !== null) clearTimeout(snoozeTimer)
    snoozeTimer = null
    const wait = snoozeEndsIn(state, Date.now())
    if (wait === null) return
    // setTimeout holds at most 2^31-1 ms; a longer snooze is looked at again then.
    snoozeTimer = setTimeout(
      () => {
        snoozeTimer = null
        const service = controller.service
        if (service !== null) readDonateStatus(service)
      },
      Math.min(wait + 1000, 2 ** 31 - 1),
    )
    snoozeTimer.unref?.()
  }

  // ---- window ----
  function createWindow(show: boolean): BrowserWindow {
    const created = createMainWindow({ preload: layout.preload, show, devTools: !app.isPackaged })
    created.on('close', (event) => {
      // Closing hides to the tray; only Quit (or the OS quitting the app) ends Spare.
      if (quitting) return
      event.preventDefault()
      created.hide()
    })
    created.on('closed', () => {
      if (win === created) win = null
    })
    win = created
    return created
  }
  function showWindow(): void {
    if (quitting) return
    if (win === null || win.isDestroyed()) {
      createWindow(true)
      return
    }
    if (win.isMinimized()) win.restore()
    win.show()
    win.focus()
  }

  // Pause or resume through the service, like any client: the node also emits node.updated and
  // folder.updated, which reach the window and the tray; the answer updates the tray at once.
  const setSyncPaused = (action: keyof typeof SYNC_ACTION_METHOD): void => {
    const service = controller.service
    if (service === null) return
    service
      .call(SYNC_ACTION_METHOD[action], {})
      .then((status) => update(withNodeStatus(state, status)))
      .catch((err: unknown) => {
        console.error(`spare: ${SYNC_ACTION_METHOD[action]} failed`, err)
        const message = err instanceof Error ? err.message : String(err)
        notify(syncActionFailedNotification(action, message))
      })
  }

  // Pause, snooze or resume donating through the service; the node also emits donate.updated.
  const setDonatePaused = (action: DonateAction): void => {
    const service = controller.service
    if (service === null) return
    const { method, params } = DONATE_ACTION_CALL[action]
    service
      .call(method, params)
      .then((status) => update(withDonateStatus(state, status)))
      .catch((err: unknown) => {
        console.error(`spare: ${method} failed`, err)
        const message = err instanceof Error ? err.message : String(err)
        notify(donateActionFailedNotification(action, message))
      })
  }

  const onTrayAction = (action: TrayAction): void => {
    switch (action) {
      case 'open':
        showWindow()
        return
      case 'pause-sync':
      case 'resume-sync':
        setSyncPaused(action)
        return
      case 'pause-donate':
      case 'snooze-donate':
      case 'resume-donate':
        setDonatePaused(action)
        return
      case 'toggle-open-at-login':
        // Rendered again even when nothing changed: the menu's checkbox flipped on the click.
        update(withOpenAtLogin(state, loginItem.set(!state.openAtLogin).openAtLogin))
        return
      case 'quit':
        app.quit()
        return
    }
  }

  // ---- node ----
  const onNodeRunning = (service: ServiceLike): void => {
    unsubscribe?.()
    unsubscribe = service.subscribe((event, data) => {
      forwardEvent(win, event, data)
      const next = applyEvent(state, event, data)
      if (next.state !== state) update(next.state, next)
    })
    Promise.all([service.call('folders.list', {}), service.call('node.status', {})])
      .then(([folders, status]) => {
        const next = snapshotFromRaw(state, folders, status)
        if (next !== null) update(next.state, next)
      })
      .catch((err: unknown) => console.error('spare: could not read the node state', err))
    // Apart, so that a node without it still shows its folders.
    readDonateStatus(service)
  }
  controller.onPhase((phase, error) => {
    if (phase === 'stopping') {
      unsubscribe?.()
      unsubscribe = null
    }
    update(withPhase(state, phase, error?.message ?? null))
    const service = controller.service
    if (phase === 'running' && service !== null) onNodeRunning(service)
  })

  // ---- app lifecycle ----
  app.on('second-instance', showWindow)
  app.on('activate', showWindow)
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents))
  // The tray keeps Spare alive with no window open.
  app.on('window-all-closed', () => {})
  app.on('before-quit', (event) => {
    quitting = true
    if (shutdown === 'done') return
    event.preventDefault()
    if (shutdown === 'closing') return
    shutdown = 'closing'
    void settlesWithin(controller.stop(), STOP_TIMEOUT_MS).then((closed) => {
      if (!closed) console.error(`spare: the node did not close within ${STOP_TIMEOUT_MS} ms`)
      shutdown = 'done'
      unsubscribe?.()
      if (snoozeTimer !== null) clearTimeout(snoozeTimer)
      tray?.destroy()
      app.quit()
    })
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => app.quit())

  void app.whenReady().then(() => {
    hardenSession(session.defaultSession)
    handleAppProtocol(layout.rendererDir)
    systemProbe = createPowerProbe(powerMonitor)
    registerIpc({
      window: () => win,
      async service() {
        if (controller.phase === 'starting') await controller.start().catch(() => {})
        return controller.service
      },
      loginItem,
    })
    state = initialTrayState(loginItem.read())
    tray = new TrayView(layout.trayIconDir, onTrayAction, showWindow)
    update(withPhase(state, controller.phase === 'stopped' ? 'starting' : controller.phase))
    // Started at login (--hidden on Windows and Linux, the login item itself on macOS): tray only.
    const startHidden =
      options.hidden ||
      (process.platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin === true)
    if (!startHidden) createWindow(true)
    controller
      .start()
      .catch((err: unknown) => console.error('spare: the node failed to start', err))
  })
}
