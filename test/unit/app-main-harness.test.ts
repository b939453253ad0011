// The real bundle dist/main/app/main.cjs (built by scripts/build-main.mjs), run under Node against a
// fake `electron` module: Electron itself can't run here, but everything main.ts wires up can be
// driven: the privileged scheme, the hardened window, the app:// protocol, IPC with sender checks,
// the preload's bridge (dist/main/app/preload.cjs, loaded into a fake renderer world whose
// ipcRenderer reaches main's handlers), the tray, hide-on-close, the login item kept in step
// between the tray and Settings, and a quit that waits for the real node to close.
import fs from 'node:fs'
import Module, { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import createTestnet from 'hyperdht/testnet.js'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  IPC_CHANNELS,
  type BridgeResult,
  type LoginItemState,
  type SpareBridge,
} from '../../shared/ipc.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

type Fn = (...args: never[]) => unknown
type Listener = (...args: unknown[]) => unknown

class Emitter {
  readonly listeners = new Map<string, Listener[]>()
  on(event: string, fn: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), fn])
    return this
  }
  once(event: string, fn: Listener): this {
    const wrapped: Listener = (...args) => {
      this.listeners.set(
        event,
        (this.listeners.get(event) ?? []).filter((f) => f !== wrapped),
      )
      return fn(...args)
    }
    return this.on(event, wrapped)
  }
  emit(event: string, ...args: unknown[]): void {
    for (const fn of this.listeners.get(event) ?? []) fn(...args)
  }
}

class FakeEvent {
  defaultPrevented = false
  preventDefault(): void {
    this.defaultPrevented = true
  }
}

interface Frame {
  processId: number
  routingId: number
  url: string
  parent: Frame | null
}

let nextId = 1
class FakeWebContents extends Emitter {
  readonly id = nextId++
  readonly mainFrame: Frame = {
    processId: 7,
    routingId: this.id,
    url: 'app://spare/index.html',
    parent: null,
  }
  readonly sent: Array<[string, unknown]> = []
  /** Delivers what main sends to the page's preload (set for the app's windows). */
  toRenderer: ((channel: string, payload: unknown) => void) | null = null
  windowOpenHandler: ((details: { url: string }) => { action: string }) | null = null
  send(channel: string, payload: unknown): void {
    this.sent.push([channel, payload])
    this.toRenderer?.(channel, structuredClone(payload))
  }
  isDestroyed(): boolean {
    return false
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.windowOpenHandler = handler
  }
}

interface MenuItem {
  label?: string
  type?: string
  checked?: boolean
  enabled?: boolean
  click?: () => void
}

function fakeElectron(paths: Record<string, string>, appRoot: string) {
  const rec = {
    sandbox: false,
    schemes: [] as unknown[],
    protocol: new Map<string, (req: { url: string; method: string }) => Promise<Response>>(),
    ipc: new Map<string, Fn>(),
    windows: [] as FakeBrowserWindow[],
    trays: [] as FakeTray[],
    opened: [] as string[],
    notifications: [] as unknown[],
    /** The notifications shown, to click them. */
    shown: [] as Array<Emitter & { options: unknown }>,
    permissionRequest: null as null | Fn,
    permissionCheck: null as null | Fn,
    quits: 0,
    quitted: false,
    /** What the preload exposed with contextBridge.exposeInMainWorld. */
    mainWorld: {} as Record<string, unknown>,
    /** The preload's ipcRenderer.on listeners. */
    rendererListeners: new Map<string, Listener[]>(),
    /** The system's login item where Electron keeps it (macOS, Windows). */
    loginItem: { openAtLogin: false },
    isReady: false,
    /** What powerMonitor answers, how often it was asked, and how often before ready. */
    power: { idleSeconds: 0, onBattery: false, calls: 0, beforeReady: 0 },
  }
  let resolveReady!: () => void
  const readyPromise = new Promise<void>((resolve) => (resolveReady = resolve))
  const ready = (): void => {
    rec.isReady = true
    resolveReady()
  }
  const askPower = <T>(answer: T): T => {
    rec.power.calls++
    // Electron's powerMonitor can't be used before the app is ready.
    if (!rec.isReady) rec.power.beforeReady++
    return answer
  }

  class FakeBrowserWindow extends Emitter {
    readonly webContents = new FakeWebContents()
    visible = false
    destroyed = false
    loaded: string | null = null
    constructor(readonly options: { webPreferences: Record<string, unknown> }) {
      super()
      rec.windows.push(this)
      this.webContents.toRenderer = (channel, payload) => {
        for (const fn of rec.rendererListeners.get(channel) ?? []) fn({}, payload)
      }
    }
    loadURL(url: string): Promise<void> {
      this.loaded = url
      setImmediate(() => this.emit('ready-to-show'))
      return Promise.resolve()
    }
    show(): void {
      this.visible = true
    }
    hide(): void {
      this.visible = false
    }
    focus(): void {}
    isMinimized(): boolean {
      return false
    }
    restore(): void {}
    isDestroyed(): boolean {
      return this.destroyed
    }
    close(): void {
      const event = new FakeEvent()
      this.emit('close', event)
      if (event.defaultPrevented) return
      this.destroyed = true
      this.emit('closed')
    }
  }

  class FakeTray extends Emitter {
    image: { path: string } | null
    tooltip = ''
    menu: MenuItem[] = []
    destroyed = false
    constructor(image: { path: string }) {
      super()
      this.image = image
      rec.trays.push(this)
    }
    setImage(image: { path: string }): void {
      this.image = image
    }
    setToolTip(text: string): void {
      this.tooltip = text
    }
    setContextMenu(menu: MenuItem[]): void {
      this.menu = menu
    }
    isDestroyed(): boolean {
      return this.destroyed
    }
    destroy(): void {
      this.destroyed = true
    }
  }

  class FakeNotification extends Emitter {
    static isSupported(): boolean {
      return true
    }
    constructor(readonly options: unknown) {
      super()
    }
    show(): void {
      rec.notifications.push(this.options)
      rec.shown.push(this)
    }
  }

  const app = new (class extends Emitter {
    isPackaged = true
    setName(): void {}
    setAppUserModelId(): void {}
    setPath(name: string, value: string): void {
      paths[name] = value
    }
    getPath(name: string): string {
      const p = paths[name]
      if (p === undefined) throw new Error(`no fake path ${name}`)
      return p
    }
    getAppPath(): string {
      return appRoot
    }
    enableSandbox(): void {
      rec.sandbox = true
    }
    requestSingleInstanceLock(): boolean {
      return true
    }
    getLoginItemSettings(): { openAtLogin: boolean; wasOpenedAtLogin: boolean } {
      return { openAtLogin: rec.loginItem.openAtLogin, wasOpenedAtLogin: false }
    }
    setLoginItemSettings(settings: { openAtLogin: boolean }): void {
      rec.loginItem.openAtLogin = settings.openAtLogin
    }
    whenReady(): Promise<void> {
      return readyPromise
    }
    quit(): void {
      rec.quits++
      const event = new FakeEvent()
      this.emit('before-quit', event)
      if (!event.defaultPrevented) rec.quitted = true
    }
  })()

  const electron = {
    app,
    BrowserWindow: FakeBrowserWindow,
    Tray: FakeTray,
    Notification: FakeNotification,
    Menu: { buildFromTemplate: (template: MenuItem[]) => template },
    nativeTheme: { shouldUseDarkColors: false },
    nativeImage: {
      createFromPath: (p: string) => ({ path: p }),
      createEmpty: () => ({ path: '' }),
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => rec.schemes.push(...schemes),
      handle: (
        scheme: string,
        handler: (req: { url: string; method: string }) => Promise<Response>,
      ) => rec.protocol.set(scheme, handler),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (h: Fn) => (rec.permissionRequest = h),
        setPermissionCheckHandler: (h: Fn) => (rec.permissionCheck = h),
        setDevicePermissionHandler: () => {},
      },
    },
    ipcMain: {
      handle: (channel: string, fn: Fn) => rec.ipc.set(channel, fn),
      removeHandler: (channel: string) => rec.ipc.delete(channel),
    },
    // The preload's side: the page of the first window, whose main frame shows app://spare.
    // Arguments and replies are structured-cloned, as Electron's IPC does.
    contextBridge: {
      exposeInMainWorld: (key: string, api: unknown) => (rec.mainWorld[key] = api),
    },
    ipcRenderer: {
      on: (channel: string, fn: Listener) => {
        rec.rendererListeners.set(channel, [...(rec.rendererListeners.get(channel) ?? []), fn])
      },
      invoke: async (channel: string, ...args: unknown[]): Promise<unknown> => {
        const handler = rec.ipc.get(channel) as ((...a: unknown[]) => unknown) | undefined
        const contents = rec.windows[0]?.webContents
        if (!handler || !contents) throw new Error(`No handler registered for '${channel}'`)
        const event = { sender: { id: contents.id }, senderFrame: contents.mainFrame }
        return structuredClone(await handler(event, ...structuredClone(args)))
      },
    },
    dialog: {
      showOpenDialog: async () => ({ canceled: false, filePaths: ['/picked/folder'] }),
    },
    powerMonitor: {
      getSystemIdleTime: () => askPower(rec.power.idleSeconds),
      isOnBatteryPower: () => askPower(rec.power.onBattery),
    },
    shell: {
      openExternal: async (url: string) => {
        rec.opened.push(url)
      },
    },
  }
  return { electron, rec, ready }
}

async function waitFor<T>(check: () => T, what: string, ms = 20_000): Promise<NonNullable<T>> {
  const until = Date.now() + ms
  for (;;) {
    const v = check()
    if (v) return v as NonNullable<T>
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('dist/main/app/main.cjs under a fake electron', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'spare-app-harness-'))
  const appRoot = path.join(tmp, 'app')
  const userData = path.join(tmp, 'userData')
  const configHome = path.join(tmp, 'config')
  fs.mkdirSync(path.join(root, 'dist'), { recursive: true })
  const outRoot = fs.mkdtempSync(path.join(root, 'dist', 'test-harness-'))
  const outDir = path.join(outRoot, 'main', 'app')
  const savedEnv = { ...process.env }
  const signalListeners = new Map(
    (['SIGINT', 'SIGTERM'] as const).map((s) => [s, new Set(process.listeners(s))]),
  )
  let testnet: Awaited<ReturnType<typeof createTestnet>>
  let fake: ReturnType<typeof fakeElectron>

  const win = (): InstanceType<typeof fake.electron.BrowserWindow> => {
    const w = fake.rec.windows[0]
    if (!w) throw new Error('no window')
    return w
  }
  const tray = (): InstanceType<typeof fake.electron.Tray> => {
    const t = fake.rec.trays[0]
    if (!t) throw new Error('no tray')
    return t
  }
  const trustedEvent = () => ({
    sender: { id: win().webContents.id },
    senderFrame: win().webContents.mainFrame,
  })
  const invoke = async (channel: string, event: unknown, ...args: unknown[]): Promise<unknown> => {
    const handler = fake.rec.ipc.get(channel) as ((...a: unknown[]) => Promise<unknown>) | undefined
    if (!handler) throw new Error(`no handler for ${channel}`)
    return handler(event, ...args)
  }
  /** window.spare as the preload exposed it (loaded by a test below). */
  const bridge = (): SpareBridge => {
    const exposed = fake.rec.mainWorld.spare as SpareBridge | undefined
    if (!exposed) throw new Error('the preload has not exposed window.spare')
    return exposed
  }
  const call = (method: string, params: unknown = {}, event: unknown = trustedEvent()) =>
    invoke(IPC_CHANNELS.call, event, { method, params }) as Promise<BridgeResult>

  beforeAll(async () => {
    const { buildMain } = (await import(
      /* @vite-ignore */ new URL('../../scripts/build-main.mjs', import.meta.url).href
    )) as { buildMain(opts: { outDir: string; quiet: boolean }): Promise<void> }
    await buildMain({ outDir, quiet: true })

    fs.mkdirSync(path.join(appRoot, 'renderer', 'dist', 'assets'), { recursive: true })
    fs.writeFileSync(
      path.join(appRoot, 'renderer', 'dist', 'index.html'),
      '<!doctype html><p>spare-ui</p>',
    )
    fs.writeFileSync(path.join(appRoot, 'renderer', 'dist', 'assets', 'app.js'), 'console.log(1)')
    fs.writeFileSync(path.join(appRoot, 'package.json'), '{"secret":true}')

    testnet = await createTestnet(3, { host: '127.0.0.1' })
    process.env.SPARE_NETWORK = testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')
    delete process.env.SPARE_DATA_DIR
    process.env.XDG_CONFIG_HOME = configHome

    fake = fakeElectron({ userData, appData: tmp, home: tmp }, appRoot)
    const bundle = path.join(outDir, 'main.cjs')
    const requireFromBundle = createRequire(bundle)
    const electronId = requireFromBundle.resolve('electron')
    const stub = new Module(electronId)
    stub.exports = fake.electron
    stub.loaded = true
    requireFromBundle.cache[electronId] = stub
    requireFromBundle(bundle)
  }, 60_000)

  afterAll(async () => {
    // If a test failed before quitting, close the node now.
    if (fake && !fake.rec.quitted) {
      fake.electron.app.quit()
      await waitFor(() => fake.rec.quitted, 'quit').catch(() => {})
    }
    for (const [signal, before] of signalListeners) {
      for (const l of process.listeners(signal)) if (!before.has(l)) process.off(signal, l)
    }
    process.env = savedEnv
    await testnet?.destroy()
    fs.rmSync(tmp, { recursive: true, force: true })
    fs.rmSync(outRoot, { recursive: true, force: true })
  }, 30_000)

  it('sets up the sandbox and a privileged app:// scheme before ready', () => {
    expect(fake.rec.sandbox).toBe(true)
    expect(fake.rec.schemes).toEqual([
      expect.objectContaining({
        scheme: 'app',
        privileges: expect.objectContaining({ standard: true, secure: true }),
      }),
    ])
    expect(fake.rec.windows).toHaveLength(0)
  })

  it('opens a hardened window from app://spare once ready', async () => {
    fake.ready()
    await waitFor(() => fake.rec.windows.length > 0 && fake.rec.trays.length > 0, 'window and tray')
    expect(win().options.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      preload: path.join(appRoot, 'dist', 'main', 'app', 'preload.cjs'),
    })
    expect(win().loaded).toBe('app://spare/index.html')
    await waitFor(() => win().visible, 'window shown')
    const granted: boolean[] = []
    const request = (permission: string, requestingUrl: string): void => {
      const args = [{}, permission, (g: boolean) => granted.push(g), { requestingUrl }]
      fake.rec.permissionRequest?.(...(args as never[]))
    }
    request('notifications', 'app://spare/index.html')
    request('media', 'app://spare/index.html')
    request('clipboard-sanitized-write', 'app://spare/index.html')
    request('clipboard-sanitized-write', 'https://evil.example/')
    expect(granted).toEqual([false, false, true, false])
    expect(fake.rec.permissionCheck?.(...([{}, 'media', 'app://spare'] as never[]))).toBe(false)
  })

  it('hardens every web contents: no popups, no navigation, no webviews', () => {
    const contents = new FakeWebContents()
    fake.electron.app.emit('web-contents-created', new FakeEvent(), contents)
    expect(contents.windowOpenHandler?.({ url: 'https://example.com/docs' })).toEqual({
      action: 'deny',
    })
    expect(contents.windowOpenHandler?.({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' })
    expect(fake.rec.opened).toEqual(['https://example.com/docs'])
    const away = new FakeEvent()
    contents.emit('will-navigate', away, 'https://evil.example/')
    expect(away.defaultPrevented).toBe(true)
    const reload = new FakeEvent()
    contents.emit('will-navigate', reload, 'app://spare/index.html')
    expect(reload.defaultPrevented).toBe(false)
    const webview = new FakeEvent()
    contents.emit('will-attach-webview', webview, {}, {})
    expect(webview.defaultPrevented).toBe(true)
  })

  it('serves renderer/dist only, with a CSP', async () => {
    const handler = fake.rec.protocol.get('app')
    if (!handler) throw new Error('app:// is not handled')
    const get = (url: string, method = 'GET') => handler({ url, method })
    const index = await get('app://spare/')
    expect(index.status).toBe(200)
    expect(await index.text()).toContain('spare-ui')
    expect(index.headers.get('content-security-policy')).toMatch(/script-src 'self'/)
    expect((await get('app://spare/assets/app.js')).headers.get('content-type')).toMatch(
      /javascript/,
    )
    expect(await (await get('app://spare/folders/abc')).text()).toContain('spare-ui')
    expect((await get('app://spare/..%2fpackage.json')).status).toBe(403)
    expect((await get('app://spare/../package.json')).status).toBe(404)
    expect((await get('app://spare/assets/missing.js')).status).toBe(404)
    expect((await get('app://spare/', 'POST')).status).toBe(405)
  })

  it('runs the node and shows its state in the tray', async () => {
    await waitFor(
      () => /up to date/.test(tray().tooltip),
      `a running node (tray: ${tray().tooltip})`,
    )
    expect(tray().tooltip).toBe('Spare: no folders yet · 0 peers · up to date')
    expect(tray().image?.path).toBe(path.join(appRoot, 'dist', 'tray', 'tray-idle.png'))
    expect(tray().menu.map((i) => i.label ?? i.type)).toEqual([
      'no folders yet · 0 peers · up to date',
      'separator',
      'Open Spare',
      'Pause syncing',
      'separator',
      'Pause donating',
      'Snooze donating for 1 hour',
      'separator',
      'Start at login',
      'separator',
      'Quit Spare',
    ])
  })

  it('answers calls from our main frame only', async () => {
    const status = await call('node.status')
    expect(status.ok).toBe(true)
    const result = status.ok ? (status.result as { version: string; dataDir: string }) : null
    expect(result?.dataDir).toBe(path.join(userData, 'node'))
    // version.ts finds package.json through import.meta.url, rewritten by build-main.mjs.
    expect(result?.version).toBe(
      JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version,
    )

    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const frame = win().webContents.mainFrame
    const refused = [
      { sender: { id: 999 }, senderFrame: frame },
      {
        sender: { id: win().webContents.id },
        senderFrame: { ...frame, url: 'https://evil.example/' },
      },
      {
        sender: { id: win().webContents.id },
        senderFrame: { ...frame, routingId: 99, parent: frame },
      },
      { sender: { id: win().webContents.id }, senderFrame: null },
    ]
    for (const event of refused) {
      expect(await call('node.status', {}, event)).toEqual({
        ok: false,
        error: { code: 'UNAUTHORIZED', message: expect.any(String) },
      })
      expect(await invoke(IPC_CHANNELS.pickFolder, event)).toBeNull()
      expect(await invoke(IPC_CHANNELS.openExternal, event, 'https://example.com')).toBe(false)
      const notForYou = { supported: false, openAtLogin: false }
      expect(await invoke(IPC_CHANNELS.loginItem, event)).toEqual(notForYou)
      expect(await invoke(IPC_CHANNELS.setLoginItem, event, true)).toEqual(notForYou)
    }
    expect(warned).toHaveBeenCalledTimes(refused.length * 5)
    expect(tray().menu.find((i) => i.label === 'Start at login')?.checked).toBe(false)
    warned.mockRestore()
    expect(await call('no.such.method')).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } })
    expect(await call('folders.get', { id: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_INPUT' },
    })
    expect(await invoke(IPC_CHANNELS.call, trustedEvent(), 'node.status')).toMatchObject({
      ok: false,
      error: { code: 'BAD_INPUT' },
    })
  })

  it('loads the preload, which exposes only the bridge, wired to main', async () => {
    createRequire(path.join(outDir, 'main.cjs'))(path.join(outDir, 'preload.cjs'))
    expect(Object.keys(fake.rec.mainWorld)).toEqual(['spare'])
    const exposed = bridge()
    expect(exposed.kind).toBe('electron')
    expect(
      Object.entries(exposed)
        .filter(([, v]) => typeof v === 'function')
        .map(([k]) => k)
        .sort(),
    ).toEqual([
      'call',
      'getLoginItem',
      'onEvent',
      'onLoginItemChanged',
      'openExternal',
      'pickFolder',
      'setLoginItem',
    ])
    expect(await exposed.call('node.status', {})).toMatchObject({ ok: true })
    expect(await exposed.pickFolder()).toBe('/picked/folder')
  })

  it('shares a folder, forwards its events and updates the tray', async () => {
    const folder = path.join(tmp, 'Photos')
    fs.mkdirSync(folder)
    fs.writeFileSync(path.join(folder, 'a.txt'), 'hello')
    const shared = await call('folders.share', { path: folder })
    expect(shared).toMatchObject({ ok: true })
    await waitFor(
      () =>
        win().webContents.sent.some(
          ([ch, m]) =>
            ch === IPC_CHANNELS.event && (m as { event: string }).event === 'folder.updated',
        ),
      'a folder.updated event in the window',
    )
    await waitFor(() => tray().tooltip.startsWith('Spare: 1 folder · '), 'one folder in the tray')
  })

  it('pauses and resumes syncing from the tray, through the node', async () => {
    const sentEvents = () =>
      win()
        .webContents.sent.filter(([ch]) => ch === IPC_CHANNELS.event)
        .map(([, m]) => m as { event: string; data: { paused?: boolean; state?: string } })
    const before = sentEvents().length
    const menuItem = (label: string) => tray().menu.find((i) => i.label === label)
    expect(menuItem('Resume syncing')).toBeUndefined()
    menuItem('Pause syncing')?.click?.()
    await waitFor(() => tray().tooltip === 'Spare: Syncing paused', 'a paused tray')
    expect(tray().image?.path).toBe(path.join(appRoot, 'dist', 'tray', 'tray-paused.png'))
    expect(tray().menu[0]?.label).toBe('Syncing paused')
    expect(menuItem('Pause syncing')).toBeUndefined()
    expect(menuItem('Resume syncing')).toMatchObject({ enabled: true })
    // The window hears it too, like any client of the node.
    const fresh = sentEvents().slice(before)
    expect(fresh).toContainEqual(
      expect.objectContaining({
        event: 'node.updated',
        data: expect.objectContaining({ paused: true }),
      }),
    )
    expect(fresh).toContainEqual(
      expect.objectContaining({
        event: 'folder.updated',
        data: expect.objectContaining({ state: 'paused' }),
      }),
    )
    expect(await call('node.status')).toMatchObject({ ok: true, result: { paused: true } })

    menuItem('Resume syncing')?.click?.()
    await waitFor(() => tray().tooltip.startsWith('Spare: 1 folder · '), 'a resumed tray')
    expect(tray().image?.path).not.toBe(path.join(appRoot, 'dist', 'tray', 'tray-paused.png'))
    expect(menuItem('Pause syncing')).toMatchObject({ enabled: true })
    expect(await call('node.status')).toMatchObject({ ok: true, result: { paused: false } })
  })

  it('gives the node Electron’s idle time and power source, asked only once ready', async () => {
    fake.rec.power.idleSeconds = 420
    fake.rec.power.onBattery = true
    type Cpu = { probe: string; idleMs: number | null; onBattery: boolean | null }
    const cpu = async (): Promise<Cpu | null> => {
      const res = await call('donate.get')
      return res.ok ? (res.result as { cpu: Cpu }).cpu : null
    }
    const until = Date.now() + 20_000
    let seen = await cpu()
    while (!(seen?.onBattery === true && (seen.idleMs ?? 0) >= 420_000) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100))
      seen = await cpu()
    }
    expect(seen).toMatchObject({ probe: 'Electron powerMonitor', onBattery: true })
    expect(seen?.idleMs).toBeGreaterThanOrEqual(420_000)
    expect(fake.rec.power.calls).toBeGreaterThan(0)
    expect(fake.rec.power.beforeReady).toBe(0)
    fake.rec.power.onBattery = false
  })

  it('pauses, snoozes and resumes donating from the tray, through the node', async () => {
    const menuItem = (label: string | RegExp) =>
      tray().menu.find((i) =>
        typeof label === 'string' ? i.label === label : label.test(i.label ?? ''),
      )
    const pauseOf = async (): Promise<{ until: number | null } | null> => {
      const res = await call('donate.get')
      if (!res.ok) throw new Error(res.error.message)
      return (res.result as { pause: { until: number | null } | null }).pause
    }
    const sentBefore = win().webContents.sent.length

    menuItem('Pause donating')?.click?.()
    await waitFor(() => menuItem('Resume donating'), 'Resume donating in the tray')
    expect(menuItem('Pause donating')).toBeUndefined()
    expect(menuItem('Snooze donating for 1 hour')).toBeUndefined()
    expect(await pauseOf()).toEqual({ until: null })
    // Syncing goes on; the window hears of the pause like any client.
    expect(menuItem('Pause syncing')).toMatchObject({ enabled: true })
    await waitFor(
      () =>
        win()
          .webContents.sent.slice(sentBefore)
          .some(
            ([ch, m]) =>
              ch === IPC_CHANNELS.event && (m as { event: string }).event === 'donate.updated',
          ),
      'a donate.updated event in the window',
    )

    menuItem('Resume donating')?.click?.()
    await waitFor(() => menuItem('Pause donating'), 'Pause donating in the tray again')
    expect(await pauseOf()).toBeNull()

    menuItem('Snooze donating for 1 hour')?.click?.()
    const snoozed = await waitFor(
      () => menuItem(/^Resume donating \(paused until \d\d:\d\d\)$/),
      'a snoozed tray',
    )
    const pause = await pauseOf()
    const snoozeUntil = pause?.until ?? 0
    expect(snoozeUntil).toBeGreaterThan(Date.now() + 59 * 60_000)
    expect(snoozeUntil).toBeLessThanOrEqual(Date.now() + 60 * 60_000)
    const d = new Date(snoozeUntil)
    const hhmm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
    expect(snoozed.label).toBe(`Resume donating (paused until ${hhmm})`)

    // Resumed from the window (or the CLI): the tray follows the node's donate.updated.
    expect(await call('donate.resume')).toMatchObject({ ok: true })
    await waitFor(() => menuItem('Pause donating'), 'the tray to follow a resume from elsewhere')
    expect(await call('donate.pause', { minutes: 5 })).toMatchObject({ ok: true })
    await waitFor(() => menuItem(/^Resume donating \(paused until/), 'the tray to follow a snooze')
    expect(await call('donate.resume')).toMatchObject({ ok: true })
    await waitFor(() => menuItem('Pause donating'), 'a resumed tray')
    expect(fake.rec.notifications).toEqual([])
  })

  it('notifies of a new conflict once, and a click on it opens the window', async () => {
    const folder = path.join(tmp, 'Photos')
    const shownBefore = fake.rec.shown.length
    type Listed = Array<{ id: string; conflicts: number; kind: string }>
    const list = async (): Promise<Listed> => {
      const res = await call('folders.list')
      if (!res.ok) throw new Error(res.error.message)
      return res.result as Listed
    }
    const [photos] = await list()
    expect(photos).toMatchObject({ kind: 'sync', conflicts: 0 })
    win().close()
    expect(win().visible).toBe(false)

    // A conflict copy appears in the folder (as another device's concurrent edit makes one).
    fs.writeFileSync(path.join(folder, 'a.sync-conflict-20260101-120000-0123456789ab.txt'), 'B\n')
    const notification = await waitFor(
      () => fake.rec.shown[shownBefore],
      'a notification of the new conflict',
    )
    expect(notification.options).toEqual({
      title: 'Spare: new conflict in "Photos"',
      body: 'A file was changed on two devices at once; both versions are kept. Open Spare to compare them and keep one.',
    })
    notification.emit('click')
    expect(win().visible).toBe(true)

    // More changes to the folder, with the same conflicts, notify nothing more.
    const sentBefore = win().webContents.sent.length
    fs.writeFileSync(path.join(folder, 'b.txt'), 'another file')
    await waitFor(
      () =>
        win()
          .webContents.sent.slice(sentBefore)
          .some(([ch, m]) => {
            const msg = m as { event: string; data: { files?: number; conflicts?: number } }
            return (
              ch === IPC_CHANNELS.event &&
              msg.event === 'folder.updated' &&
              msg.data.files === 3 &&
              msg.data.conflicts === 1
            )
          }),
      'the new file counted, with the conflict still there',
    )
    expect(fake.rec.shown).toHaveLength(shownBefore + 1)
    // Resolved: the count goes down, silently.
    const resolved = await call('folders.resolveConflict', {
      id: photos?.id,
      path: 'a.sync-conflict-20260101-120000-0123456789ab.txt',
      keep: 'original',
    })
    expect(resolved).toMatchObject({ ok: true })
    await vi.waitFor(async () => expect((await list())[0]?.conflicts).toBe(0), {
      timeout: 20_000,
      interval: 100,
    })
    expect(fake.rec.shown).toHaveLength(shownBefore + 1)
  })

  it('picks folders and opens only http(s) links', async () => {
    expect(await invoke(IPC_CHANNELS.pickFolder, trustedEvent())).toBe('/picked/folder')
    expect(await invoke(IPC_CHANNELS.openExternal, trustedEvent(), 'https://github.com/')).toBe(
      true,
    )
    expect(await invoke(IPC_CHANNELS.openExternal, trustedEvent(), 'file:///etc/passwd')).toBe(
      false,
    )
    expect(await invoke(IPC_CHANNELS.openExternal, trustedEvent(), 'javascript:alert(1)')).toBe(
      false,
    )
    expect(fake.rec.opened.filter((u) => !u.startsWith('https://'))).toEqual([])
  })

  it('hides to the tray on close and comes back on a second launch', () => {
    win().close()
    expect(win().destroyed).toBe(false)
    expect(win().visible).toBe(false)
    fake.electron.app.emit('second-instance', new FakeEvent(), [], tmp)
    expect(win().visible).toBe(true)
  })

  describe.runIf(['linux', 'darwin', 'win32'].includes(process.platform))('start at login', () => {
    // Packaged: an XDG autostart entry on Linux, Electron's login item on macOS and Windows.
    const xdgFile = path.join(configHome, 'autostart', 'dev.spare.app.desktop')
    const linux = process.platform === 'linux'
    const trayItem = () => tray().menu.find((i) => i.label === 'Start at login')
    const inSystem = (): boolean =>
      linux ? fs.existsSync(xdgFile) : fake.rec.loginItem.openAtLogin
    /** A change made outside Spare (the system's settings, a removed autostart file). */
    const changeOutside = (on: boolean): void => {
      if (!linux) fake.rec.loginItem.openAtLogin = on
      else if (!on) fs.rmSync(xdgFile, { force: true })
      else {
        fs.mkdirSync(path.dirname(xdgFile), { recursive: true })
        fs.writeFileSync(xdgFile, '[Desktop Entry]\nType=Application\nExec=spare --hidden\n')
      }
    }
    const seen: LoginItemState[] = []
    let off: () => void = () => {}

    beforeAll(() => {
      off = bridge().onLoginItemChanged?.((state) => seen.push(state)) ?? off
    })
    afterAll(() => off())

    it('is off at first, and the same in Settings and the tray', async () => {
      expect(await bridge().getLoginItem?.()).toEqual({ supported: true, openAtLogin: false })
      expect(trayItem()).toMatchObject({ type: 'checkbox', checked: false, enabled: true })
      expect(inSystem()).toBe(false)
    })

    it('a change in Settings reaches the system and the tray', async () => {
      expect(await bridge().setLoginItem?.(true)).toEqual({ supported: true, openAtLogin: true })
      expect(inSystem()).toBe(true)
      if (linux) expect(fs.readFileSync(xdgFile, 'utf8')).toMatch(/^Exec=.* --hidden$/m)
      expect(trayItem()?.checked).toBe(true)
      expect(await bridge().getLoginItem?.()).toEqual({ supported: true, openAtLogin: true })
      // The window hears of it too (Settings' own answer already says so).
      expect(seen).toEqual([{ supported: true, openAtLogin: true }])
    })

    it('a change in the tray reaches the system and Settings', async () => {
      seen.length = 0
      trayItem()?.click?.()
      expect(inSystem()).toBe(false)
      expect(trayItem()?.checked).toBe(false)
      expect(seen).toEqual([{ supported: true, openAtLogin: false }])
      expect(await bridge().getLoginItem?.()).toEqual({ supported: true, openAtLogin: false })
      trayItem()?.click?.()
      expect(inSystem()).toBe(true)
      expect(seen).toEqual([
        { supported: true, openAtLogin: false },
        { supported: true, openAtLogin: true },
      ])
    })

    it('a change made outside Spare shows on the next read, in both', async () => {
      seen.length = 0
      changeOutside(false)
      expect(trayItem()?.checked).toBe(true) // nothing has read it yet
      expect(await bridge().getLoginItem?.()).toEqual({ supported: true, openAtLogin: false })
      expect(trayItem()?.checked).toBe(false)
      expect(seen).toEqual([{ supported: true, openAtLogin: false }])
    })

    it('the preload checks what goes out and what comes back', async () => {
      seen.length = 0
      const exposed = bridge()
      await expect(exposed.setLoginItem?.('yes' as never)).rejects.toThrow(TypeError)
      expect(inSystem()).toBe(false)
      // Main refuses a non-boolean by itself too, answering with the setting as it is.
      expect(await invoke(IPC_CHANNELS.setLoginItem, trustedEvent(), 'yes')).toEqual({
        supported: true,
        openAtLogin: false,
      })
      // A malformed change from main never reaches a listener.
      for (const bad of [null, { openAtLogin: true }, { supported: false, openAtLogin: true }]) {
        win().webContents.send(IPC_CHANNELS.loginItemChanged, bad)
      }
      expect(seen).toEqual([])
      // A malformed reply is an error, not a guess.
      const real = fake.rec.ipc.get(IPC_CHANNELS.loginItem)
      if (!real) throw new Error('no login item handler')
      fake.rec.ipc.set(IPC_CHANNELS.loginItem, () => ({ supported: true, openAtLogin: 'yes' }))
      await expect(exposed.getLoginItem?.()).rejects.toThrow(/malformed reply/)
      fake.rec.ipc.set(IPC_CHANNELS.loginItem, real)
      // Unsubscribed, a listener hears nothing more.
      off()
      trayItem()?.click?.()
      expect(inSystem()).toBe(true)
      expect(seen).toEqual([])
      trayItem()?.click?.()
      expect(inSystem()).toBe(false)
    })
  })

  it('quits from the tray only after the node has closed', async () => {
    const lock = path.join(userData, 'node', 'spare.lock')
    expect(fs.existsSync(lock)).toBe(true)
    tray()
      .menu.find((i) => i.label === 'Quit Spare')
      ?.click?.()
    expect(fake.rec.quitted).toBe(false) // the first quit waits for the node
    await waitFor(() => fake.rec.quitted, 'the app to quit')
    expect(fs.existsSync(lock)).toBe(false)
    expect(tray().destroyed).toBe(true)
    expect(fake.rec.quits).toBe(2)
    // Once quitting, closing the window really closes it.
    win().close()
    expect(win().destroyed).toBe(true)
  })
})
