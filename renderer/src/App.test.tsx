import { act, screen, waitFor, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { FolderSync, Settings } from 'lucide-react'
import { ApiError } from '../../shared/contract.ts'
import { App } from './App.tsx'
import type { NavItem } from './nav.tsx'
import {
  FakeConnection,
  FakeNode,
  deferred,
  folder,
  nodeStatus,
  renderWithSpare,
} from './test-utils/fake-node.tsx'

function fullNode() {
  return new FakeNode({
    'folders.list': () => [],
    'node.status': () => nodeStatus(),
    'peers.list': () => [],
  })
}

afterEach(() => {
  window.location.hash = ''
})

describe('App', () => {
  it('has a nav with Folders, Network, Donate, Ledger and Settings, Folders first', async () => {
    renderWithSpare(<App />, { node: fullNode() })
    const nav = screen.getByRole('navigation', { name: 'Main' })
    expect(
      within(nav)
        .getAllByRole('link')
        .map((a) => a.textContent),
    ).toEqual(['Folders', 'Network', 'Donate', 'Ledger', 'Settings'])
    expect(screen.getByRole('link', { name: 'Folders' })).toHaveAttribute('aria-current', 'page')
    expect(screen.getByRole('heading', { level: 1, name: 'Folders' })).toBeInTheDocument()
    await screen.findByText('No folders yet')
  })

  it('navigates between screens with links and focuses the new heading', async () => {
    const user = userEvent.setup()
    renderWithSpare(<App />, { node: fullNode() })
    await user.click(screen.getByRole('link', { name: 'Network' }))
    const heading = await screen.findByRole('heading', { level: 1, name: 'Network' })
    expect(heading).toHaveFocus()
    expect(screen.getByRole('link', { name: 'Network' })).toHaveAttribute('aria-current', 'page')
    expect(screen.getByRole('link', { name: 'Folders' })).not.toHaveAttribute('aria-current')
    expect(document.title).toBe('Network · Spare')

    await user.click(screen.getByRole('link', { name: 'Settings' }))
    expect(await screen.findByRole('heading', { level: 1, name: 'Settings' })).toBeInTheDocument()
  })

  it('opens the Donate and Ledger screens', async () => {
    const user = userEvent.setup()
    renderWithSpare(<App />, { node: fullNode() })
    await user.click(screen.getByRole('link', { name: 'Donate' }))
    expect(await screen.findByRole('heading', { level: 1, name: 'Donate' })).toHaveFocus()
    expect(document.title).toBe('Donate · Spare')
    expect(window.location.hash).toBe('#/donate')
    expect(await screen.findByText('Donating nothing until you set a disk limit.')).toBeVisible()

    await user.click(screen.getByRole('link', { name: 'Ledger' }))
    expect(await screen.findByRole('heading', { level: 1, name: 'Ledger' })).toHaveFocus()
    expect(screen.getByRole('link', { name: 'Ledger' })).toHaveAttribute('aria-current', 'page')
    expect(await screen.findByTestId('ledger-key')).toBeInTheDocument()
  })

  it('falls back to the first screen for an unknown route', () => {
    window.location.hash = '#/nowhere'
    renderWithSpare(<App />, { node: fullNode() })
    expect(screen.getByRole('heading', { level: 1, name: 'Folders' })).toBeInTheDocument()
  })

  it('builds the nav from its data', () => {
    const items: NavItem[] = [
      { id: 'a', label: 'Alpha', icon: FolderSync, Screen: () => <h1>Alpha screen</h1> },
      { id: 'b', label: 'Beta', icon: Settings, Screen: () => <h1>Beta screen</h1> },
    ]
    renderWithSpare(<App navItems={items} />)
    expect(screen.getAllByRole('link').map((a) => a.textContent)).toEqual([
      'Skip to content',
      'Alpha',
      'Beta',
    ])
    expect(screen.getByRole('heading', { name: 'Alpha screen' })).toBeInTheDocument()
  })

  it('keeps the app usable when a screen fails: says so there, and the nav still works', async () => {
    const user = userEvent.setup()
    let broken = true
    function Fragile() {
      if (broken) throw new Error('Cannot read properties of undefined')
      return <h1>Fragile screen</h1>
    }
    const items: NavItem[] = [
      { id: 'a', label: 'Alpha', icon: FolderSync, Screen: Fragile },
      { id: 'b', label: 'Beta', icon: Settings, Screen: () => <h1>Beta screen</h1> },
    ]
    // React reports the error to the console as well; keep the test's output readable.
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      renderWithSpare(<App navItems={items} />)
      const alert = screen.getByRole('alert')
      expect(alert).toHaveTextContent('This screen stopped working')
      expect(alert).toHaveTextContent('Cannot read properties of undefined')
      expect(screen.getByRole('navigation', { name: 'Main' })).toBeInTheDocument()

      await user.click(screen.getByRole('link', { name: 'Beta' }))
      expect(await screen.findByRole('heading', { name: 'Beta screen' })).toBeInTheDocument()

      // Back, and fixed meanwhile: Try again shows it.
      await user.click(screen.getByRole('link', { name: 'Alpha' }))
      expect(await screen.findByRole('alert')).toBeInTheDocument()
      broken = false
      await user.click(screen.getByRole('button', { name: 'Try again' }))
      expect(await screen.findByRole('heading', { name: 'Fragile screen' })).toBeInTheDocument()
    } finally {
      quiet.mockRestore()
    }
  })

  it('shows the not-connected banner while the daemon link is down', async () => {
    const user = userEvent.setup()
    const connection = new FakeConnection()
    renderWithSpare(<App />, { node: fullNode(), connection })
    expect(screen.queryByText(/Not connected to the Spare node/)).not.toBeInTheDocument()

    act(() => connection.set({ status: 'retrying', attempt: 2, retryAt: Date.now() + 4000 }))
    const banner = screen.getByRole('alert')
    expect(banner).toHaveTextContent('Not connected to the Spare node — retrying.')
    expect(banner).toHaveTextContent(/Next attempt in [34] s/)
    await user.click(within(banner).getByRole('button', { name: 'Retry now' }))
    expect(connection.retryNow).toHaveBeenCalledOnce()

    act(() => connection.set({ status: 'open', attempt: 0, retryAt: null, generation: 2 }))
    expect(screen.queryByText(/Not connected to the Spare node/)).not.toBeInTheDocument()
  })

  it('stays quiet during the very first connection attempt', () => {
    const connection = new FakeConnection()
    connection.set({ status: 'connecting', generation: 0, attempt: 0 })
    renderWithSpare(<App />, { node: fullNode(), connection })
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
    expect(screen.getByText('Waiting for the Spare node…')).toBeInTheDocument()
  })
})

describe('App: pause syncing', () => {
  // node.status, sync.pause and sync.resume are the fake node's built-ins unless a test sets them.
  function pausableNode(handlers: ConstructorParameters<typeof FakeNode>[0] = {}) {
    return new FakeNode({ 'folders.list': () => [], 'peers.list': () => [], ...handlers })
  }

  it('pauses with the keyboard, calling sync.pause, and then offers to resume', async () => {
    const user = userEvent.setup()
    const node = pausableNode()
    renderWithSpare(<App />, { node })
    const toggle = await screen.findByRole('button', { name: 'Pause syncing' })
    // Right after the skip link: the first control of the page.
    await user.tab()
    expect(screen.getByRole('link', { name: 'Skip to content' })).toHaveFocus()
    await user.tab()
    expect(toggle).toHaveFocus()
    await user.keyboard('{Enter}')

    expect(await screen.findByRole('button', { name: 'Resume syncing' })).toHaveFocus()
    expect(node.callsOf('sync.pause')).toEqual([{}])
    expect(node.callsOf('sync.resume')).toEqual([])
    expect(screen.queryByRole('button', { name: 'Pause syncing' })).not.toBeInTheDocument()
    expect(await screen.findByText('Syncing is paused')).toBeInTheDocument()
  })

  it('resumes with sync.resume when the node is paused', async () => {
    const user = userEvent.setup()
    const node = pausableNode()
    node.paused = true
    renderWithSpare(<App />, { node })
    expect(await screen.findByText('Syncing is paused')).toBeInTheDocument()
    await user.click(await screen.findByRole('button', { name: 'Resume syncing' }))
    expect(await screen.findByRole('button', { name: 'Pause syncing' })).toBeInTheDocument()
    expect(node.callsOf('sync.resume')).toEqual([{}])
    expect(node.callsOf('sync.pause')).toEqual([])
    expect(node.paused).toBe(false)
    expect(screen.queryByText('Syncing is paused')).not.toBeInTheDocument()
  })

  it('follows node.updated events from elsewhere (the tray, `spare pause`)', async () => {
    // node.status keeps answering "not paused": only the events can flip the label.
    const node = pausableNode({ 'node.status': () => nodeStatus({ paused: false }) })
    renderWithSpare(<App />, { node })
    await screen.findByRole('button', { name: 'Pause syncing' })

    act(() => node.emit('node.updated', nodeStatus({ paused: true })))
    expect(screen.getByRole('button', { name: 'Resume syncing' })).toBeInTheDocument()
    expect(screen.queryByRole('button', { name: 'Pause syncing' })).not.toBeInTheDocument()

    act(() => node.emit('node.updated', nodeStatus({ paused: false })))
    expect(screen.getByRole('button', { name: 'Pause syncing' })).toBeInTheDocument()
    expect(node.callsOf('sync.pause')).toEqual([])
    expect(node.callsOf('sync.resume')).toEqual([])
  })

  it('reloads the paused state after a reconnect', async () => {
    const node = pausableNode()
    const connection = new FakeConnection()
    renderWithSpare(<App />, { node, connection })
    await screen.findByRole('button', { name: 'Pause syncing' })
    act(() => connection.set({ status: 'retrying', attempt: 1, retryAt: Date.now() + 4000 }))
    expect(screen.getByRole('button', { name: 'Pause syncing' })).toBeDisabled()
    // Paused elsewhere while the link was down: the event was lost.
    node.paused = true
    act(() => connection.set({ status: 'open', attempt: 0, retryAt: null, generation: 2 }))
    expect(await screen.findByRole('button', { name: 'Resume syncing' })).toBeEnabled()
  })

  it('shows a failure inline and keeps the label and focus', async () => {
    const user = userEvent.setup()
    const node = pausableNode({
      'sync.pause': () => {
        throw new ApiError('UNAVAILABLE', 'the node is closing')
      },
    })
    renderWithSpare(<App />, { node })
    const toggle = await screen.findByRole('button', { name: 'Pause syncing' })
    await user.click(toggle)
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t pause syncing')
    expect(alert).toHaveTextContent('the node is closing')
    expect(toggle).toHaveAccessibleName('Pause syncing')
    expect(toggle).toHaveFocus()
    expect(screen.queryByText('Syncing is paused')).not.toBeInTheDocument()

    // The next attempt clears it.
    delete node.handlers['sync.pause']
    await user.click(toggle)
    expect(await screen.findByRole('button', { name: 'Resume syncing' })).toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('drops a failure once the node is in the state it asked for (the link dropped, the call went through)', async () => {
    const user = userEvent.setup()
    const node = pausableNode({
      'sync.pause': () => {
        // The node paused, but the answer was lost with the connection.
        node.paused = true
        throw new ApiError(
          'UNAVAILABLE',
          'The connection to the Spare node dropped before it answered.',
        )
      },
    })
    renderWithSpare(<App />, { node })
    await user.click(await screen.findByRole('button', { name: 'Pause syncing' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Couldn’t pause syncing')

    // Back in touch, the node says it is paused: "couldn’t pause" no longer describes anything.
    act(() => node.emit('node.updated', nodeStatus({ paused: true })))
    expect(screen.getByRole('button', { name: 'Resume syncing' })).toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('sends one call for a double click while the first is in flight', async () => {
    const user = userEvent.setup()
    const answer = deferred<ReturnType<typeof nodeStatus>>()
    const node = pausableNode({ 'sync.pause': () => answer.promise })
    renderWithSpare(<App />, { node })
    const toggle = await screen.findByRole('button', { name: 'Pause syncing' })
    await user.dblClick(toggle)
    expect(toggle).toHaveAttribute('aria-busy', 'true')
    expect(node.callsOf('sync.pause')).toEqual([{}])
    await act(async () => answer.resolve(nodeStatus({ paused: true })))
    expect(toggle).toHaveAccessibleName('Resume syncing')
    expect(toggle).not.toHaveAttribute('aria-busy')
    expect(node.calls.filter((c) => c.method.startsWith('sync.'))).toHaveLength(1)
  })

  it('marks folder cards "Paused" through the node’s folder.updated events', async () => {
    const user = userEvent.setup()
    const docs = folder({ name: 'Docs', state: 'idle' })
    const node = pausableNode({ 'folders.list': () => [docs] })
    renderWithSpare(<App />, { node })
    const card = await screen.findByRole('article', { name: 'Docs' })
    expect(within(card).getByText('Idle')).toBeInTheDocument()
    await user.click(await screen.findByRole('button', { name: 'Pause syncing' }))
    await waitFor(() => expect(within(card).getByText('Paused')).toBeInTheDocument())
    await user.click(screen.getByRole('button', { name: 'Resume syncing' }))
    await waitFor(() => expect(within(card).getByText('Idle')).toBeInTheDocument())
  })

  it('has a fake node that checks pause params with the contract', async () => {
    const node = pausableNode()
    await expect(
      node.client.call('sync.pause', { forever: true } as unknown as Record<string, never>),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' })
    expect(node.paused).toBe(false)
    await expect(node.client.call('sync.pause')).resolves.toMatchObject({ paused: true })
    await expect(node.client.call('node.status')).resolves.toMatchObject({ paused: true })
  })
})
