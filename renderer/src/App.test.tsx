import { act, screen, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { afterEach, describe, expect, it } from 'vitest'
import { FolderSync, Settings } from 'lucide-react'
import { App } from './App.tsx'
import type { NavItem } from './nav.tsx'
import { FakeConnection, FakeNode, nodeStatus, renderWithSpare } from './test-utils/fake-node.tsx'

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
  it('has a nav with Folders, Network and Settings, Folders first', async () => {
    renderWithSpare(<App />, { node: fullNode() })
    const nav = screen.getByRole('navigation', { name: 'Main' })
    expect(
      within(nav)
        .getAllByRole('link')
        .map((a) => a.textContent),
    ).toEqual(['Folders', 'Network', 'Settings'])
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
