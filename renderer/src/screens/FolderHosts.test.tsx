// The Hosts section of a two-way folder's details: the donor hosts keeping it and how many it
// wants (folders.configure hostsWanted), against the fake node's own folders.
import { act, screen, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ApiError, type FolderSummary } from '../../../shared/contract.ts'
import {
  FakeNode,
  folder,
  folderHost,
  renderWithSpare,
  type Handlers,
} from '../test-utils/fake-node.tsx'
import { FoldersScreen } from './FoldersScreen.tsx'

const MINUTE = 60_000
const ONLINE = '1a'.repeat(32)
const OFFLINE = '2b'.repeat(32)
const NEW = '3c'.repeat(32)

function setup(node: FakeNode) {
  const user = userEvent.setup()
  const view = renderWithSpare(<FoldersScreen />, { node })
  return { user, ...view }
}

/** A two-way folder "Notes" this device writes to, wanting 3 hosts and kept by three. */
function hostsNode(handlers: Handlers = {}, overrides: Partial<FolderSummary> = {}) {
  const node = new FakeNode(handlers)
  const now = Date.now()
  const hosts = [
    folderHost({
      host: ONLINE,
      bytes: 1.2e9,
      agreedBytes: 2e9,
      connected: true,
      auditsPassed: 14,
      lastAudit: { at: now - 5 * MINUTE, ok: true, reason: null },
    }),
    folderHost({
      host: OFFLINE,
      bytes: 3e8,
      agreedBytes: 2e9,
      connected: false,
      auditsPassed: 1,
      lastAudit: { at: now - 2 * 60 * MINUTE, ok: false, reason: 'wrong block hash' },
    }),
    folderHost({ host: NEW, bytes: 0, agreedBytes: 2e9, auditsPassed: 0, lastAudit: null }),
  ]
  const notes = node.addFolder(
    folder({
      name: 'Notes',
      kind: 'sync',
      role: 'writer',
      hosts,
      hostsWanted: 3,
      ...overrides,
    }),
  )
  return { node, notes, hosts }
}

async function hostsSection(user: ReturnType<typeof userEvent.setup>, name = 'Notes') {
  const card = await screen.findByRole('article', { name })
  await user.click(within(card).getByRole('button', { name: 'Details' }))
  return within(card).getByRole('region', { name: 'Hosts' })
}

describe('Two-way folders: hosts', () => {
  it('lists the hosts with their bytes, state and audits', async () => {
    const { node } = hostsNode()
    const { user } = setup(node)
    const section = await hostsSection(user)
    expect(within(section).getByTestId('hosts-count')).toHaveTextContent('3 of 3 hosts')
    const list = within(section).getByRole('list', { name: 'Hosts of Notes' })

    const online = within(list).getByRole('listitem', { name: `Host ${ONLINE.slice(0, 12)}…` })
    expect(within(online).getByTitle(ONLINE)).toHaveTextContent(`${ONLINE.slice(0, 12)}…`)
    expect(online).toHaveTextContent('Online')
    expect(online).toHaveTextContent('1.2 GB of 2 GB agreed')
    expect(online).toHaveTextContent('14 audits passed')
    expect(online).toHaveTextContent('Last audit passed 5 minutes ago')
    expect(online).not.toHaveTextContent('Audit failed')

    const offline = within(list).getByRole('listitem', { name: `Host ${OFFLINE.slice(0, 12)}…` })
    expect(offline).toHaveTextContent('Offline')
    expect(offline).toHaveTextContent('300 MB of 2 GB agreed')
    expect(offline).toHaveTextContent('1 audit passed')
    expect(offline).toHaveTextContent('Audit failed')
    expect(offline).toHaveTextContent('Last audit failed 2 hours ago: wrong block hash')

    const fresh = within(list).getByRole('listitem', { name: `Host ${NEW.slice(0, 12)}…` })
    expect(fresh).toHaveTextContent('0 B of 2 GB agreed')
    expect(fresh).toHaveTextContent('Not audited yet')
    expect(within(section).getByRole('textbox', { name: 'Hosts wanted' })).toHaveValue('3')
  })

  it('says when no host keeps the folder, and when it asks for none', async () => {
    const node = new FakeNode()
    node.addFolder(folder({ name: 'Wanting', kind: 'sync', role: 'writer', hostsWanted: 2 }))
    node.addFolder(folder({ name: 'Alone', kind: 'sync', role: 'writer', hostsWanted: 0 }))
    node.addFolder(folder({ name: 'Reading', kind: 'sync', role: 'reader', hostsWanted: 2 }))
    const { user } = setup(node)
    const wanting = await hostsSection(user, 'Wanting')
    expect(within(wanting).getByTestId('hosts-count')).toHaveTextContent('0 of 2 hosts')
    expect(wanting).toHaveTextContent('No host keeps this folder yet.')
    expect(within(wanting).queryByRole('list')).not.toBeInTheDocument()
    expect(wanting).not.toHaveTextContent(/read-only member/)

    const alone = await hostsSection(user, 'Alone')
    expect(within(alone).getByTestId('hosts-count')).toHaveTextContent('0 of 0 hosts')
    expect(alone).toHaveTextContent('This folder asks for no hosts: only its own devices keep it.')

    const reading = await hostsSection(user, 'Reading')
    expect(reading).toHaveTextContent(
      'This device is a read-only member: hosts are found by the folder’s writer devices.',
    )
  })

  it('sets how many hosts the folder wants', async () => {
    const { node, notes } = hostsNode()
    const { user } = setup(node)
    const section = await hostsSection(user)
    const input = within(section).getByRole('textbox', { name: 'Hosts wanted' })
    await user.clear(input)
    await user.type(input, '5')
    await user.click(within(section).getByRole('button', { name: 'Save' }))
    expect(node.callsOf('folders.configure')).toEqual([{ id: notes.id, hostsWanted: 5 }])
    expect(await within(section).findByRole('status')).toHaveTextContent(
      'Saved: this folder asks for 5 hosts.',
    )
    // The node's folder.updated carries the new count to the section.
    expect(within(section).getByTestId('hosts-count')).toHaveTextContent('3 of 5 hosts')
    expect(input).toHaveValue('5')
    expect(node.summaryOf(notes.id).hostsWanted).toBe(5)

    await user.clear(input)
    await user.type(input, '0{Enter}')
    expect(node.callsOf('folders.configure')).toEqual([
      { id: notes.id, hostsWanted: 5 },
      { id: notes.id, hostsWanted: 0 },
    ])
    expect(await within(section).findByText('Saved: this folder asks for no hosts.')).toBeVisible()
  })

  it('refuses what is not 0 to 16 next to the field, keeping what was typed', async () => {
    const { node } = hostsNode()
    const { user } = setup(node)
    const section = await hostsSection(user)
    const input = within(section).getByRole('textbox', { name: 'Hosts wanted' })
    const save = within(section).getByRole('button', { name: 'Save' })
    for (const [typed, message] of [
      ['', 'Enter how many hosts, from 0 to 16 (0 asks for none).'],
      ['two', 'Hosts must be a whole number, like 2.'],
      ['2.5', 'Hosts must be a whole number.'],
      ['-1', 'Hosts must be 0 or more.'],
      ['17', 'Hosts must be at most 16.'],
    ] as const) {
      await user.clear(input)
      if (typed) await user.type(input, typed)
      await user.click(save)
      expect(within(section).getByText(message)).toBeInTheDocument()
      expect(input).toHaveAttribute('aria-invalid', 'true')
      // The keyboard goes to the field in error, whose error a screen reader then reads.
      expect(input).toHaveFocus()
      expect(input).toHaveValue(typed)
    }
    expect(node.callsOf('folders.configure')).toEqual([])
    await user.type(input, '1')
    expect(input).not.toHaveAttribute('aria-invalid')
  })

  it('shows the node’s refusal near the form and keeps the value', async () => {
    const { node } = hostsNode({
      'folders.configure': () => {
        throw new ApiError('UNAVAILABLE', 'the node is closing')
      },
    })
    const { user } = setup(node)
    const section = await hostsSection(user)
    const input = within(section).getByRole('textbox', { name: 'Hosts wanted' })
    await user.clear(input)
    await user.type(input, '4')
    await user.click(within(section).getByRole('button', { name: 'Save' }))
    const alert = await within(section).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t change how many hosts this folder wants')
    expect(alert).toHaveTextContent('the node is closing')
    expect(input).toHaveValue('4')
    expect(within(section).getByRole('status')).toBeEmptyDOMElement()
    expect(within(section).getByTestId('hosts-count')).toHaveTextContent('3 of 3 hosts')
  })

  it('follows folder.updated: hosts come and go, and the wanted count changed elsewhere', async () => {
    const { node, notes, hosts } = hostsNode()
    const { user } = setup(node)
    const section = await hostsSection(user)
    const [online] = hosts
    act(() =>
      node.emit('folder.updated', {
        ...notes,
        hostsWanted: 1,
        hosts: [{ ...(online as (typeof hosts)[number]), connected: false }],
      }),
    )
    expect(within(section).getByTestId('hosts-count')).toHaveTextContent('1 of 1 host')
    const list = within(section).getByRole('list', { name: 'Hosts of Notes' })
    expect(within(list).getAllByRole('listitem')).toHaveLength(1)
    expect(within(list).getByRole('listitem')).toHaveTextContent('Offline')
    expect(within(section).getByRole('textbox', { name: 'Hosts wanted' })).toHaveValue('1')
  })

  it('has a fake node that refuses hosts on a published folder, as the engine does', async () => {
    const node = new FakeNode()
    const site = node.addFolder(folder({ kind: 'publish' }))
    await expect(
      node.client.call('folders.configure', { id: site.id, hostsWanted: 2 }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' })
    await expect(
      node.client.call('folders.configure', { id: site.id, hostsWanted: 17 }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/at most 16/) })
  })
})
