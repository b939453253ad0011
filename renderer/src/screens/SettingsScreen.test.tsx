import { act, fireEvent, screen, waitFor, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from '../../../shared/contract.ts'
import type { LoginItemState, SpareBridge } from '../../../shared/ipc.ts'
import { THEME_STORAGE_KEY } from '../lib/theme.ts'
import { FakeNode, deferred, nodeStatus, renderWithSpare } from '../test-utils/fake-node.tsx'
import { SettingsScreen } from './SettingsScreen.tsx'

const node = () =>
  new FakeNode({
    'node.status': () =>
      nodeStatus({ dataDir: '/var/lib/spare', network: { mode: 'local', bootstrap: [] } }),
  })

describe('SettingsScreen', () => {
  it('shows the data folder and preselects the network mode', async () => {
    renderWithSpare(<SettingsScreen />, { node: node() })
    expect(await screen.findByTestId('data-dir')).toHaveTextContent('/var/lib/spare')
    const group = screen.getByRole('group', { name: 'Network' })
    expect(within(group).getByRole('radio', { name: 'Local' })).toBeChecked()
    expect(within(group).getByRole('radio', { name: 'Public' })).not.toBeChecked()
    expect(within(group).getByRole('radio', { name: 'Custom bootstrap' })).not.toBeChecked()
    expect(screen.queryByRole('textbox', { name: 'Bootstrap nodes' })).not.toBeInTheDocument()
    expect(screen.queryByText(/spare daemon --network/)).not.toBeInTheDocument()
  })

  it('preselects a custom network with its bootstrap list', async () => {
    const custom = new FakeNode({
      'node.status': () =>
        nodeStatus({ network: { mode: 'custom', bootstrap: ['10.0.0.1:4000', 'boot.lan:4001'] } }),
    })
    renderWithSpare(<SettingsScreen />, { node: custom })
    expect(await screen.findByRole('radio', { name: 'Custom bootstrap' })).toBeChecked()
    expect(screen.getByRole('textbox', { name: 'Bootstrap nodes' })).toHaveValue(
      '10.0.0.1:4000,boot.lan:4001',
    )
  })

  it('keeps Apply network disabled until the choice differs from the node', async () => {
    const user = userEvent.setup()
    renderWithSpare(<SettingsScreen />, { node: node() })
    const apply = await screen.findByRole('button', { name: 'Apply network' })
    expect(apply).toBeDisabled()
    await user.click(screen.getByRole('radio', { name: 'Public' }))
    expect(apply).toBeEnabled()
    await user.click(screen.getByRole('radio', { name: 'Local' }))
    expect(apply).toBeDisabled()
    // Custom with nothing typed has nothing to apply either.
    await user.click(screen.getByRole('radio', { name: 'Custom bootstrap' }))
    expect(apply).toBeDisabled()
  })

  it('applies the local network and follows the new status', async () => {
    const user = userEvent.setup()
    const fake = new FakeNode()
    fake.network = { mode: 'public', bootstrap: [] }
    renderWithSpare(<SettingsScreen />, { node: fake })
    expect(await screen.findByRole('radio', { name: 'Public' })).toBeChecked()

    await user.click(screen.getByRole('radio', { name: 'Local' }))
    await user.click(screen.getByRole('button', { name: 'Apply network' }))
    expect(await screen.findByText('Network changed')).toBeInTheDocument()
    expect(fake.callsOf('node.setNetwork')).toEqual([{ network: 'local' }])
    expect(screen.getByRole('radio', { name: 'Local' })).toBeChecked()
    // Now the node is on the chosen network: nothing left to apply.
    expect(screen.getByRole('button', { name: 'Apply network' })).toBeDisabled()
  })

  it('sends the typed bootstrap list and disables the button while busy', async () => {
    const user = userEvent.setup()
    const pending = deferred<ReturnType<typeof nodeStatus>>()
    const fake = node()
    fake.handlers['node.setNetwork'] = () => pending.promise
    renderWithSpare(<SettingsScreen />, { node: fake })

    await user.click(await screen.findByRole('radio', { name: 'Custom bootstrap' }))
    await user.type(
      screen.getByRole('textbox', { name: 'Bootstrap nodes' }),
      '10.0.0.1:4000, boot.lan:4001',
    )
    const apply = screen.getByRole('button', { name: 'Apply network' })
    await user.click(apply)
    expect(fake.callsOf('node.setNetwork')).toEqual([{ network: '10.0.0.1:4000,boot.lan:4001' }])
    expect(apply).toBeDisabled()

    pending.resolve(
      nodeStatus({ network: { mode: 'custom', bootstrap: ['10.0.0.1:4000', 'boot.lan:4001'] } }),
    )
    expect(await screen.findByText('Network changed')).toBeInTheDocument()
    expect(screen.getByRole('radio', { name: 'Custom bootstrap' })).toBeChecked()
  })

  it('shows the engine’s error inline when the bootstrap list is malformed', async () => {
    const user = userEvent.setup()
    const fake = node()
    renderWithSpare(<SettingsScreen />, { node: fake })

    await user.click(await screen.findByRole('radio', { name: 'Custom bootstrap' }))
    await user.type(screen.getByRole('textbox', { name: 'Bootstrap nodes' }), 'nope')
    await user.click(screen.getByRole('button', { name: 'Apply network' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('"nope" is not HOST:PORT')
    expect(fake.callsOf('node.setNetwork')).toEqual([{ network: 'nope' }])
    expect(screen.queryByText('Network changed')).not.toBeInTheDocument()
    // The user's choice stays, to be fixed.
    expect(screen.getByRole('radio', { name: 'Custom bootstrap' })).toBeChecked()
    expect(screen.getByRole('textbox', { name: 'Bootstrap nodes' })).toHaveValue('nope')
  })

  it('follows the system theme by default and stores a chosen one', async () => {
    const user = userEvent.setup()
    renderWithSpare(<SettingsScreen />, { node: node() })
    const system = screen.getByRole('radio', { name: 'Follow system' })
    expect(system).toBeChecked()
    expect(document.documentElement).not.toHaveAttribute('data-theme')

    await user.click(screen.getByRole('radio', { name: 'Dark' }))
    expect(screen.getByRole('radio', { name: 'Dark' })).toBeChecked()
    expect(document.documentElement).toHaveAttribute('data-theme', 'dark')
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('dark')

    await user.click(system)
    expect(document.documentElement).not.toHaveAttribute('data-theme')
    expect(localStorage.getItem(THEME_STORAGE_KEY)).toBe('system')
  })

  it('starts from the stored theme', () => {
    localStorage.setItem(THEME_STORAGE_KEY, 'light')
    renderWithSpare(<SettingsScreen />, { node: node() })
    expect(screen.getByRole('radio', { name: 'Light' })).toBeChecked()
  })

  it('shows why the node settings are missing', async () => {
    const failing = new FakeNode({
      'node.status': () => {
        throw new ApiError('UNAVAILABLE', 'the node is closing')
      },
    })
    renderWithSpare(<SettingsScreen />, { node: failing })
    expect(await screen.findByRole('alert')).toHaveTextContent('the node is closing')
    // The theme still works without the node.
    expect(screen.getByRole('radio', { name: 'Follow system' })).toBeInTheDocument()
  })
})

/**
 * A fake of the preload's bridge on `window.spare`, with a login item kept like the system keeps
 * it: `refuse` makes the system keep its value (as a failed write does), `fail` makes the IPC
 * call itself reject.
 */
function installBridge(initial: LoginItemState = { supported: true, openAtLogin: false }) {
  const listeners = new Set<(state: LoginItemState) => void>()
  const fake = {
    system: { ...initial },
    refuse: false,
    fail: null as Error | null,
    failRead: null as Error | null,
    emit(state: LoginItemState) {
      fake.system = { ...state }
      act(() => listeners.forEach((l) => l({ ...state })))
    },
    listeners,
  }
  const bridge: SpareBridge = {
    kind: 'electron',
    call: vi.fn(async () => ({ ok: true as const, result: null })),
    onEvent: vi.fn(() => () => {}),
    pickFolder: vi.fn(async () => null),
    openExternal: vi.fn(async () => true),
    getLoginItem: vi.fn(async () => {
      if (fake.failRead) throw fake.failRead
      return { ...fake.system }
    }),
    setLoginItem: vi.fn(async (openAtLogin: boolean) => {
      if (fake.fail) throw fake.fail
      if (fake.system.supported && !fake.refuse) fake.system.openAtLogin = openAtLogin
      return { ...fake.system }
    }),
    onLoginItemChanged: vi.fn((listener: (state: LoginItemState) => void) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    }),
  }
  Object.assign(window, { spare: bridge })
  return { bridge, fake }
}

const SWITCH = { name: 'Start Spare when you log in' }

describe('SettingsScreen: start at login', () => {
  afterEach(() => {
    delete (window as { spare?: unknown }).spare
  })

  it('is not offered in the browser, which can’t set it', async () => {
    renderWithSpare(<SettingsScreen />, { node: node() })
    expect(await screen.findByTestId('data-dir')).toBeInTheDocument()
    expect(screen.queryByRole('switch')).not.toBeInTheDocument()
    expect(screen.queryByRole('region', { name: 'App' })).not.toBeInTheDocument()
  })

  it('is not offered where the system can’t do it, nor by a bridge without it', async () => {
    const { bridge } = installBridge({ supported: false, openAtLogin: false })
    const first = renderWithSpare(<SettingsScreen />, { node: node(), shell: 'app' })
    expect(await screen.findByTestId('data-dir')).toBeInTheDocument()
    await waitFor(() => expect(bridge.getLoginItem).toHaveBeenCalled())
    await act(async () => {}) // its answer has landed
    expect(screen.queryByRole('switch')).not.toBeInTheDocument()
    expect(screen.queryByRole('region', { name: 'App' })).not.toBeInTheDocument()
    first.unmount()

    // An older preload: the node's calls, but no login item.
    const { getLoginItem: _get, setLoginItem: _set, ...older } = bridge
    vi.mocked(bridge.onLoginItemChanged!).mockClear()
    Object.assign(window, { spare: older })
    renderWithSpare(<SettingsScreen />, { node: node(), shell: 'app' })
    expect(await screen.findByTestId('data-dir')).toBeInTheDocument()
    expect(screen.queryByRole('switch')).not.toBeInTheDocument()
    expect(bridge.onLoginItemChanged).not.toHaveBeenCalled()
  })

  it('shows the setting as read from the app, and turns it on and off', async () => {
    const user = userEvent.setup()
    const { bridge, fake } = installBridge({ supported: true, openAtLogin: true })
    renderWithSpare(<SettingsScreen />, { node: node(), shell: 'app' })
    const toggle = await screen.findByRole('switch', SWITCH)
    expect(toggle).toBeChecked()
    expect(within(screen.getByRole('region', { name: 'App' })).getByRole('switch')).toBe(toggle)
    expect(toggle).toHaveAccessibleDescription(/tray menu/)

    await user.click(toggle)
    expect(bridge.setLoginItem).toHaveBeenLastCalledWith(false)
    await waitFor(() => expect(toggle).not.toBeChecked())
    expect(fake.system.openAtLogin).toBe(false)

    await user.click(toggle)
    expect(bridge.setLoginItem).toHaveBeenLastCalledWith(true)
    await waitFor(() => expect(toggle).toBeChecked())
    expect(fake.system.openAtLogin).toBe(true)
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('keeps showing the real value while a change is in flight, and sends it once', async () => {
    const user = userEvent.setup()
    const { bridge } = installBridge()
    const pending = deferred<LoginItemState>()
    vi.mocked(bridge.setLoginItem!).mockImplementation(() => pending.promise)
    renderWithSpare(<SettingsScreen />, { node: node(), shell: 'app' })
    const toggle = await screen.findByRole('switch', SWITCH)

    await user.click(toggle)
    expect(toggle).not.toBeChecked()
    expect(toggle).toHaveAttribute('aria-busy', 'true')
    expect(screen.getByText('Turning on…')).toBeInTheDocument()
    await user.click(toggle)
    expect(bridge.setLoginItem).toHaveBeenCalledTimes(1)

    await act(async () => pending.resolve({ supported: true, openAtLogin: true }))
    expect(toggle).toBeChecked()
    expect(toggle).not.toHaveAttribute('aria-busy')
    expect(screen.queryByText('Turning on…')).not.toBeInTheDocument()
  })

  it('says so inline when the system kept the old value', async () => {
    const user = userEvent.setup()
    const { fake } = installBridge()
    fake.refuse = true
    renderWithSpare(<SettingsScreen />, { node: node(), shell: 'app' })
    const toggle = await screen.findByRole('switch', SWITCH)

    await user.click(toggle)
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t turn on start at login')
    expect(alert).toHaveTextContent('The system kept the previous setting')
    expect(toggle).not.toBeChecked()

    // The next attempt clears it.
    fake.refuse = false
    await user.click(toggle)
    await waitFor(() => expect(toggle).toBeChecked())
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('shows a failed change inline, then the value read again', async () => {
    const user = userEvent.setup()
    const { bridge, fake } = installBridge({ supported: true, openAtLogin: true })
    fake.fail = new Error('The Spare app sent a malformed reply')
    renderWithSpare(<SettingsScreen />, { node: node(), shell: 'app' })
    const toggle = await screen.findByRole('switch', SWITCH)
    expect(bridge.getLoginItem).toHaveBeenCalledTimes(1)

    // The app did turn it off before its reply got lost: the switch follows the system.
    vi.mocked(bridge.setLoginItem!).mockImplementationOnce(async () => {
      fake.system.openAtLogin = false
      throw new Error('The Spare app sent a malformed reply')
    })
    await user.click(toggle)
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t turn off start at login')
    expect(alert).toHaveTextContent('The Spare app sent a malformed reply')
    await waitFor(() => expect(bridge.getLoginItem).toHaveBeenCalledTimes(2))
    await waitFor(() => expect(toggle).not.toBeChecked())
  })

  it('follows a change made in the tray', async () => {
    const { bridge, fake } = installBridge()
    const { unmount } = renderWithSpare(<SettingsScreen />, { node: node(), shell: 'app' })
    const toggle = await screen.findByRole('switch', SWITCH)
    expect(toggle).not.toBeChecked()

    fake.emit({ supported: true, openAtLogin: true })
    expect(toggle).toBeChecked()
    fake.emit({ supported: true, openAtLogin: false })
    expect(toggle).not.toBeChecked()

    expect(bridge.onLoginItemChanged).toHaveBeenCalledTimes(1)
    unmount()
    expect(fake.listeners.size).toBe(0)
  })

  it('reads it again when the window comes back (changed in the system’s settings)', async () => {
    const { bridge, fake } = installBridge()
    renderWithSpare(<SettingsScreen />, { node: node(), shell: 'app' })
    const toggle = await screen.findByRole('switch', SWITCH)

    fake.system.openAtLogin = true
    fireEvent.focus(window)
    await waitFor(() => expect(toggle).toBeChecked())

    fake.system.openAtLogin = false
    fireEvent(document, new Event('visibilitychange'))
    await waitFor(() => expect(toggle).not.toBeChecked())
    expect(bridge.getLoginItem).toHaveBeenCalledTimes(3)
  })

  it('shows why it couldn’t be read, and recovers on the next read', async () => {
    const { fake } = installBridge()
    fake.failRead = new Error('The Spare app sent a malformed reply')
    renderWithSpare(<SettingsScreen />, { node: node(), shell: 'app' })
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t read whether Spare starts at login')
    expect(alert).toHaveTextContent('malformed reply')
    expect(screen.queryByRole('switch')).not.toBeInTheDocument()

    fake.failRead = null
    fireEvent.focus(window)
    expect(await screen.findByRole('switch', SWITCH)).not.toBeChecked()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })
})
