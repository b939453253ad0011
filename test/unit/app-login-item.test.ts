// "Start at login" on the main side: LoginItem (login-item.ts), the one place the tray and the
// window's Settings read and change it, and its two IPC handlers (ipc.ts) under a fake `electron`.
// The whole path, preload included, runs in app-main-harness.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { IPC_CHANNELS, type LoginItemState } from '../../shared/ipc.ts'
import { LoginItem, type LoginItemAccess } from '../../main/app/login-item.ts'

type Handler = (event: unknown, ...args: unknown[]) => unknown
const handlers = vi.hoisted(() => new Map<string, Handler>())

vi.mock('electron', () => ({
  ipcMain: {
    handle: (channel: string, fn: Handler) => handlers.set(channel, fn),
    removeHandler: (channel: string) => handlers.delete(channel),
  },
  dialog: {},
  shell: {},
  nativeTheme: {},
  BrowserWindow: class {},
}))

const { forwardLoginItem, registerIpc } = await import('../../main/app/ipc.ts')

/** The system's login item: a flag, and a write that can be made to fail or be ignored. */
function fakeSystem(initial = false, supported = true) {
  const system = {
    openAtLogin: initial,
    writes: [] as boolean[],
    fail: false,
    ignore: false,
  }
  const access: LoginItemAccess = {
    supported,
    read: () => system.openAtLogin,
    write: (on) => {
      system.writes.push(on)
      if (system.fail)
        throw new Error('EACCES: permission denied, open /home/ada/.config/autostart')
      if (!system.ignore) system.openAtLogin = on
    },
  }
  return { system, access }
}

describe('LoginItem', () => {
  it('reads from the system, and tells of changes only', () => {
    const { system, access } = fakeSystem(false)
    const changes: LoginItemState[] = []
    const item = new LoginItem(access, (s) => changes.push(s))
    expect(item.read()).toEqual({ supported: true, openAtLogin: false })
    expect(item.read()).toEqual({ supported: true, openAtLogin: false })
    expect(changes).toEqual([])
    // Changed outside Spare (the system's own settings): noticed on the next read.
    system.openAtLogin = true
    expect(item.read()).toEqual({ supported: true, openAtLogin: true })
    expect(changes).toEqual([{ supported: true, openAtLogin: true }])
  })

  it('sets, then answers with the value read back', () => {
    const { system, access } = fakeSystem(false)
    const changes: LoginItemState[] = []
    const item = new LoginItem(access, (s) => changes.push(s))
    // A set before any read still notices the change.
    expect(item.set(true)).toEqual({ supported: true, openAtLogin: true })
    expect(item.read()).toEqual({ supported: true, openAtLogin: true })
    expect(item.set(true)).toEqual({ supported: true, openAtLogin: true })
    expect(item.set(false)).toEqual({ supported: true, openAtLogin: false })
    expect(system.writes).toEqual([true, true, false])
    expect(changes.map((s) => s.openAtLogin)).toEqual([true, false])
  })

  it('answers with the old value when the write fails or is ignored, and logs why', () => {
    const { system, access } = fakeSystem(false)
    const onChange = vi.fn()
    const item = new LoginItem(access, onChange)
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    system.fail = true
    expect(item.set(true)).toEqual({ supported: true, openAtLogin: false })
    expect(logged).toHaveBeenCalledWith('spare: could not change the login item', expect.any(Error))
    logged.mockRestore()
    system.fail = false
    system.ignore = true
    expect(item.set(true)).toEqual({ supported: true, openAtLogin: false })
    expect(onChange).not.toHaveBeenCalled()
  })

  it('never writes where it is unsupported, and reads it as off', () => {
    const { system, access } = fakeSystem(true, false)
    const onChange = vi.fn()
    const item = new LoginItem(access, onChange)
    expect(item.read()).toEqual({ supported: false, openAtLogin: false })
    expect(item.set(true)).toEqual({ supported: false, openAtLogin: false })
    expect(system.writes).toEqual([])
    expect(onChange).not.toHaveBeenCalled()
  })
})

describe('the login item IPC handlers', () => {
  const contents = { id: 3, mainFrame: { processId: 7, routingId: 3 }, sent: [] as unknown[] }
  const win = {
    webContents: {
      ...contents,
      isDestroyed: () => false,
      send: (channel: string, payload: unknown) => contents.sent.push([channel, payload]),
    },
    isDestroyed: () => false,
  }
  const frame = { ...contents.mainFrame, url: 'app://spare/index.html', parent: null }
  const trusted = { sender: { id: 3 }, senderFrame: frame }
  const untrusted = [
    { sender: { id: 4 }, senderFrame: frame },
    { sender: { id: 3 }, senderFrame: { ...frame, url: 'https://evil.example/' } },
    { sender: { id: 3 }, senderFrame: { ...frame, routingId: 9, parent: frame } },
    { sender: { id: 3 }, senderFrame: null },
  ]
  const invoke = async (channel: string, event: unknown, ...args: unknown[]) => {
    const handler = handlers.get(channel)
    if (!handler) throw new Error(`no handler for ${channel}`)
    return handler(event, ...args)
  }
  let unregister: () => void
  let system: ReturnType<typeof fakeSystem>['system']
  let changes: LoginItemState[]

  function setUp(supported = true) {
    unregister?.()
    const fake = fakeSystem(false, supported)
    system = fake.system
    changes = []
    const loginItem = new LoginItem(fake.access, (s) => changes.push(s))
    unregister = registerIpc({
      window: () => win as never,
      service: async () => null,
      loginItem,
    })
  }

  beforeEach(() => setUp())
  afterEach(() => {
    unregister()
    contents.sent.length = 0
  })

  it('reads and sets for our window, and a set is what the next read sees', async () => {
    expect(await invoke(IPC_CHANNELS.loginItem, trusted)).toEqual({
      supported: true,
      openAtLogin: false,
    })
    expect(await invoke(IPC_CHANNELS.setLoginItem, trusted, true)).toEqual({
      supported: true,
      openAtLogin: true,
    })
    expect(system.openAtLogin).toBe(true)
    expect(await invoke(IPC_CHANNELS.loginItem, trusted)).toEqual({
      supported: true,
      openAtLogin: true,
    })
    // The tray hears it through LoginItem's onChange (main.ts renders it and tells the window).
    expect(changes).toEqual([{ supported: true, openAtLogin: true }])
  })

  it('changes nothing for anything but a boolean', async () => {
    for (const bad of ['true', 1, null, undefined, { openAtLogin: true }]) {
      expect(await invoke(IPC_CHANNELS.setLoginItem, trusted, bad)).toEqual({
        supported: true,
        openAtLogin: false,
      })
    }
    expect(system.writes).toEqual([])
  })

  it('refuses other frames: nothing read, nothing written', async () => {
    system.openAtLogin = true
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {})
    for (const event of untrusted) {
      const refused = { supported: false, openAtLogin: false }
      expect(await invoke(IPC_CHANNELS.loginItem, event)).toEqual(refused)
      expect(await invoke(IPC_CHANNELS.setLoginItem, event, false)).toEqual(refused)
    }
    expect(warned).toHaveBeenCalledTimes(untrusted.length * 2)
    warned.mockRestore()
    expect(system.writes).toEqual([])
    expect(system.openAtLogin).toBe(true)
  })

  it('says unsupported where the system can’t start Spare at login', async () => {
    setUp(false)
    const unsupported = { supported: false, openAtLogin: false }
    expect(await invoke(IPC_CHANNELS.loginItem, trusted)).toEqual(unsupported)
    expect(await invoke(IPC_CHANNELS.setLoginItem, trusted, true)).toEqual(unsupported)
    expect(system.writes).toEqual([])
  })

  it('are removed with the others', () => {
    unregister()
    expect(handlers.has(IPC_CHANNELS.loginItem)).toBe(false)
    expect(handlers.has(IPC_CHANNELS.setLoginItem)).toBe(false)
    unregister = () => {}
  })

  it('forwards a change to the window, only while it is there', () => {
    const state = { supported: true, openAtLogin: true }
    forwardLoginItem(win as never, Object.assign({ extra: 'dropped' }, state))
    expect(contents.sent).toEqual([[IPC_CHANNELS.loginItemChanged, state]])
    forwardLoginItem(null, state)
    forwardLoginItem({ ...win, isDestroyed: () => true } as never, state)
    expect(contents.sent).toHaveLength(1)
  })
})
