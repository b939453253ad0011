import { screen, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../../shared/contract.ts'
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
