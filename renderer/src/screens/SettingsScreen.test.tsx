import { screen } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../../shared/contract.ts'
import { THEME_STORAGE_KEY } from '../lib/theme.ts'
import { FakeNode, nodeStatus, renderWithSpare } from '../test-utils/fake-node.tsx'
import { SettingsScreen } from './SettingsScreen.tsx'

const node = () =>
  new FakeNode({
    'node.status': () =>
      nodeStatus({ dataDir: '/var/lib/spare', network: { mode: 'local', bootstrap: [] } }),
  })

describe('SettingsScreen', () => {
  it('shows the data folder and the network mode, read-only', async () => {
    renderWithSpare(<SettingsScreen />, { node: node() })
    expect(await screen.findByTestId('data-dir')).toHaveTextContent('/var/lib/spare')
    expect(screen.getByText('Local')).toBeInTheDocument()
    expect(screen.getByText(/spare daemon --network/)).toBeInTheDocument()
    expect(screen.queryByRole('combobox')).not.toBeInTheDocument()
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
