// Two-way folders in the Folders screen: the share choice, writer and read-only invites, the
// card's problems and waiting state, and the details (members, conflicts, versions, retention).
// Most tests run against the fake node's own in-memory folders; error paths override one method.
import { act, screen, waitFor, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import {
  ApiError,
  type FolderSummary,
  type MethodResult,
  type Version,
} from '../../../shared/contract.ts'
import { formatBytes } from '../lib/format.ts'
import {
  FakeNode,
  deferred,
  folder,
  member,
  renderWithSpare,
  version,
  type Handlers,
} from '../test-utils/fake-node.tsx'
import { FoldersScreen } from './FoldersScreen.tsx'

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE
const CONFLICT_COPY = '/notes.sync-conflict-20260101-120000-b0b0b0.txt'

function setup(node: FakeNode) {
  const user = userEvent.setup()
  const view = renderWithSpare(<FoldersScreen />, { node })
  return { user, ...view }
}

/** A two-way folder "Notes" this device writes to, with two other writers (one removed). */
function notesNode(handlers: Handlers = {}, overrides: Partial<FolderSummary> = {}) {
  const node = new FakeNode(handlers)
  const me = member({ label: 'ada-laptop', you: true })
  const bob = member({ label: 'bob-desktop', addedBy: me.device })
  const phone = member({ label: 'old-phone', removed: true, addedBy: me.device })
  const now = Date.now()
  const versions: Record<string, Version[]> = {
    '/notes.txt': [
      version({
        id: `${bob.device}.9`,
        at: now - 2 * MINUTE,
        size: 1_500,
        device: bob.device,
        current: true,
      }),
      version({ id: `${me.device}.7`, at: now - 60 * MINUTE, size: 1_200, device: me.device }),
      version({
        id: `${me.device}.5`,
        at: now - 10 * DAY,
        kind: 'deleted',
        size: 0,
        device: me.device,
      }),
      version({ id: `${me.device}.2`, at: now - 20 * DAY, size: 900, device: me.device }),
    ],
    [CONFLICT_COPY]: [version({ id: `${bob.device}.8`, current: true, device: bob.device })],
  }
  const notes = node.addFolder(
    folder({ name: 'Notes', path: '/home/ada/Notes', kind: 'sync', role: 'writer', ...overrides }),
    { members: [me, bob, phone], versions },
  )
  return { node, notes, me, bob, phone, versions }
}

async function openDetails(user: ReturnType<typeof userEvent.setup>, name = 'Notes') {
  const card = await screen.findByRole('article', { name })
  const toggle = within(card).getByRole('button', { name: 'Details' })
  expect(toggle).toHaveAttribute('aria-expanded', 'false')
  await user.click(toggle)
  expect(toggle).toHaveAttribute('aria-expanded', 'true')
  return card
}

function section(card: HTMLElement, name: string): HTMLElement {
  return within(card).getByRole('region', { name })
}

const at = (ms: number) => new Date(ms).toLocaleString()

describe('Two-way folders: share', () => {
  it('shares two-way by default and says the invite is a single-use writer invite', async () => {
    const node = new FakeNode()
    const { user } = setup(node)
    await screen.findByRole('heading', { name: 'No folders yet' })
    await user.click(screen.getByRole('button', { name: 'Share a folder' }))
    const dialog = screen.getByRole('dialog', { name: 'Share a folder' })
    const twoWay = within(dialog).getByRole('radio', { name: 'Two-way' })
    const publish = within(dialog).getByRole('radio', { name: 'Publish' })
    expect(twoWay).toBeChecked()
    expect(twoWay).toHaveAccessibleDescription(/Every invited writer can change it/)
    expect(publish).not.toBeChecked()
    expect(publish).toHaveAccessibleDescription(/Only this device writes/)

    await user.type(within(dialog).getByLabelText('Folder path'), '/home/ada/Notes')
    await user.click(within(dialog).getByRole('button', { name: 'Share' }))
    expect(node.callsOf('folders.share')).toEqual([{ path: '/home/ada/Notes', mode: 'sync' }])

    const result = await screen.findByRole('dialog', { name: '“Notes” is shared' })
    expect(result).toHaveTextContent(/single use/)
    expect(result).toHaveTextContent(/expires in 7 days/)
    expect(within(result).getByTestId('invite-text')).toHaveTextContent(/^spare1w/)
    expect(await within(result).findByRole('img', { name: /QR code/ })).toBeInTheDocument()
    await user.click(within(result).getByRole('button', { name: 'Done' }))

    const card = screen.getByRole('article', { name: 'Notes' })
    expect(within(card).getByText('Writer')).toBeInTheDocument()
    expect(within(card).getByText('Two-way')).toBeInTheDocument()
    expect(within(card).getByRole('button', { name: 'Invite' })).toBeInTheDocument()
  })

  it('publishes from this device when asked', async () => {
    const node = new FakeNode()
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Share a folder' }))
    const dialog = screen.getByRole('dialog', { name: 'Share a folder' })
    await user.type(within(dialog).getByLabelText('Folder path'), '/srv/site')
    await user.click(within(dialog).getByRole('radio', { name: 'Publish' }))
    await user.click(within(dialog).getByRole('button', { name: 'Share' }))
    expect(node.callsOf('folders.share')).toEqual([{ path: '/srv/site', mode: 'publish' }])
    const result = await screen.findByRole('dialog', { name: '“site” is shared' })
    expect(result).not.toHaveTextContent(/single use/)
    await user.click(within(result).getByRole('button', { name: 'Done' }))
    const card = screen.getByRole('article', { name: 'site' })
    expect(within(card).getByText('Owner')).toBeInTheDocument()
    expect(within(card).getByText('One-way')).toBeInTheDocument()
    expect(within(card).queryByRole('button', { name: 'Details' })).not.toBeInTheDocument()
  })

  it('keeps the path and the choice when the node refuses', async () => {
    const node = new FakeNode()
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Share a folder' }))
    const dialog = screen.getByRole('dialog', { name: 'Share a folder' })
    await user.type(within(dialog).getByLabelText('Folder path'), 'relative/dir')
    await user.click(within(dialog).getByRole('radio', { name: 'Publish' }))
    await user.click(within(dialog).getByRole('button', { name: 'Share' }))
    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'the folder path must be absolute: relative/dir',
    )
    expect(within(dialog).getByLabelText('Folder path')).toHaveValue('relative/dir')
    expect(within(dialog).getByRole('radio', { name: 'Publish' })).toBeChecked()
    expect(screen.queryByRole('article')).not.toBeInTheDocument()
  })
})

describe('Two-way folders: invite', () => {
  it('creates a writer invite only on request, then a read-only one', async () => {
    const { node, notes } = notesNode()
    const { user } = setup(node)
    const card = await screen.findByRole('article', { name: 'Notes' })
    await user.click(within(card).getByRole('button', { name: 'Invite' }))
    const dialog = screen.getByRole('dialog', { name: 'Invite to “Notes”' })
    // Nothing is created before the choice: a writer invite works once.
    expect(node.callsOf('folders.invite')).toEqual([])
    const writer = within(dialog).getByRole('radio', { name: 'Writer' })
    expect(writer).toBeChecked()
    expect(writer).toHaveAccessibleDescription(/Single use, expires in 7 days/)

    await user.click(within(dialog).getByRole('button', { name: 'Create invite' }))
    expect(node.callsOf('folders.invite')).toEqual([{ id: notes.id, readOnly: false }])
    const first = await within(dialog).findByTestId('invite-text')
    const firstInvite = first.textContent
    // The Create button went away with the form: the focus moves to the invite, not the page.
    expect(within(dialog).getByRole('button', { name: 'Copy invite' })).toHaveFocus()
    expect(firstInvite).toMatch(/^spare1w/)
    expect(dialog).toHaveTextContent(/single use: it adds one device as a writer/)
    expect(await within(dialog).findByRole('img', { name: /QR code/ })).toBeInTheDocument()
    await user.click(within(dialog).getByRole('button', { name: 'Copy invite' }))
    await expect(navigator.clipboard.readText()).resolves.toBe(firstInvite)

    await user.click(within(dialog).getByRole('button', { name: 'Another invite' }))
    expect(dialog).toContainElement(document.activeElement as HTMLElement)
    await user.click(within(dialog).getByRole('radio', { name: 'Read-only' }))
    await user.click(within(dialog).getByRole('button', { name: 'Create invite' }))
    expect(node.callsOf('folders.invite')).toEqual([
      { id: notes.id, readOnly: false },
      { id: notes.id, readOnly: true },
    ])
    const second = await within(dialog).findByTestId('invite-text')
    expect(second.textContent).toMatch(/^spare1r/)
    expect(dialog).not.toHaveTextContent(/single use/)
    await user.click(within(dialog).getByRole('button', { name: 'Done' }))
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
  })

  it('offers only read-only invites on a read-only member or before it is accepted', async () => {
    const node = new FakeNode()
    node.addFolder(folder({ name: 'Reader', kind: 'sync', role: 'reader' }))
    node.addFolder(
      folder({ name: 'Waiting', kind: 'sync', role: 'writer', waitingForAccept: true }),
    )
    const { user } = setup(node)

    await user.click(
      within(await screen.findByRole('article', { name: 'Reader' })).getByRole('button', {
        name: 'Invite',
      }),
    )
    let dialog = screen.getByRole('dialog', { name: 'Invite to “Reader”' })
    expect(within(dialog).getByRole('radio', { name: 'Writer' })).toBeDisabled()
    expect(within(dialog).getByRole('radio', { name: 'Writer' })).toHaveAccessibleDescription(
      /only writers can/,
    )
    expect(within(dialog).getByRole('radio', { name: 'Read-only' })).toBeChecked()
    await user.click(within(dialog).getByRole('button', { name: 'Create invite' }))
    expect(await within(dialog).findByTestId('invite-text')).toHaveTextContent(/^spare1r/)
    await user.click(within(dialog).getByRole('button', { name: 'Done' }))

    await user.click(
      within(screen.getByRole('article', { name: 'Waiting' })).getByRole('button', {
        name: 'Invite',
      }),
    )
    dialog = screen.getByRole('dialog', { name: 'Invite to “Waiting”' })
    expect(within(dialog).getByRole('radio', { name: 'Writer' })).toBeDisabled()
    expect(within(dialog).getByRole('radio', { name: 'Writer' })).toHaveAccessibleDescription(
      /once a writer of the folder has accepted it/,
    )
  })

  it('shows an invite failure in the dialog and keeps the choice', async () => {
    const { node } = notesNode({
      'folders.invite': () => {
        throw new ApiError('CONFLICT', 'this device is not a writer of the folder (yet)')
      },
    })
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Invite' }))
    const dialog = screen.getByRole('dialog', { name: 'Invite to “Notes”' })
    await user.click(within(dialog).getByRole('button', { name: 'Create invite' }))
    const alert = await within(dialog).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t create an invite')
    expect(alert).toHaveTextContent('this device is not a writer of the folder (yet)')
    expect(within(dialog).getByRole('radio', { name: 'Writer' })).toBeChecked()
    expect(within(dialog).getByRole('button', { name: 'Create invite' })).toBeEnabled()
    expect(within(dialog).queryByTestId('invite-text')).not.toBeInTheDocument()
  })
})

describe('Two-way folders: the card', () => {
  it('shows writers, conflicts, name problems and a device waiting to be accepted', async () => {
    const node = new FakeNode()
    node.addFolder(
      folder({
        name: 'Shared',
        kind: 'sync',
        role: 'writer',
        waitingForAccept: true,
        problems: [
          { path: '/CON.txt', reason: 'a reserved name on Windows' },
          { path: '/Readme.md', reason: 'differs only in case from /README.md' },
        ],
      }),
      {
        members: [member(), member()],
        versions: { [CONFLICT_COPY]: [version({ current: true })] },
      },
    )
    node.addFolder(folder({ name: 'Plain', kind: 'publish', role: 'owner' }))
    setup(node)

    const card = await screen.findByRole('article', { name: 'Shared' })
    expect(within(card).getByText('1 conflict')).toBeInTheDocument()
    const writers = within(card).getByText('Writers').closest('div')
    expect(writers).toHaveTextContent('Writers2')
    expect(within(card).getByRole('status')).toHaveTextContent(
      'Waiting for a writer to come online and accept this device.',
    )
    expect(within(card).getByText('2 name problems')).toBeInTheDocument()
    const problems = within(card).getByRole('list', { name: 'Problems in Shared' })
    expect(within(problems).getByText('/CON.txt')).toBeInTheDocument()
    expect(within(problems).getByText('a reserved name on Windows')).toBeInTheDocument()
    expect(within(problems).getByText('differs only in case from /README.md')).toBeInTheDocument()

    const plain = screen.getByRole('article', { name: 'Plain' })
    expect(within(plain).queryByText(/conflict/)).not.toBeInTheDocument()
    expect(within(plain).queryByText('Writers')).not.toBeInTheDocument()
    expect(within(plain).queryByText(/Waiting for a writer/)).not.toBeInTheDocument()
    expect(within(plain).queryByText(/problem/)).not.toBeInTheDocument()
  })

  it('follows folder.updated: the waiting notice goes once the device is accepted', async () => {
    const node = new FakeNode()
    const shared = node.addFolder(
      folder({ name: 'Shared', kind: 'sync', role: 'writer', waitingForAccept: true }),
    )
    setup(node)
    const card = await screen.findByRole('article', { name: 'Shared' })
    expect(within(card).getByText(/Waiting for a writer/)).toBeInTheDocument()
    act(() => node.emit('folder.updated', { ...shared, waitingForAccept: false, members: 2 }))
    expect(within(card).queryByText(/Waiting for a writer/)).not.toBeInTheDocument()
  })
})

describe('Two-way folders: members', () => {
  it('lists the members and removes one after a confirmation', async () => {
    const { node, notes, me, bob } = notesNode()
    const { user } = setup(node)
    const card = await openDetails(user)
    const members = section(card, 'Members')
    const list = await within(members).findByRole('list', { name: 'Members of Notes' })

    const mine = within(list).getByRole('listitem', { name: 'ada-laptop' })
    expect(mine).toHaveTextContent('This device')
    expect(mine).toHaveTextContent(me.device)
    expect(mine).toHaveTextContent('created the folder')
    expect(within(mine).queryByRole('button', { name: 'Remove' })).not.toBeInTheDocument()
    const gone = within(list).getByRole('listitem', { name: 'old-phone' })
    expect(gone).toHaveTextContent('Removed')
    expect(within(gone).queryByRole('button', { name: 'Remove' })).not.toBeInTheDocument()
    const other = within(list).getByRole('listitem', { name: 'bob-desktop' })
    expect(other).toHaveTextContent(`added by ${me.device}`)
    expect(other).not.toHaveTextContent('Removed')

    // Cancel sends nothing.
    await user.click(within(other).getByRole('button', { name: 'Remove' }))
    const title = `Remove bob-desktop (${bob.device}) from “Notes”?`
    let dialog = screen.getByRole('dialog', { name: title })
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveFocus()
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }))
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    expect(node.callsOf('folders.removeMember')).toEqual([])

    await user.click(within(other).getByRole('button', { name: 'Remove' }))
    dialog = screen.getByRole('dialog', { name: title })
    await user.click(within(dialog).getByRole('button', { name: 'Remove' }))
    expect(node.callsOf('folders.removeMember')).toEqual([{ id: notes.id, member: bob.device }])
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument())
    const removed = within(section(card, 'Members')).getByRole('listitem', { name: 'bob-desktop' })
    expect(removed).toHaveTextContent('Removed')
    expect(within(removed).queryByRole('button', { name: 'Remove' })).not.toBeInTheDocument()
    // Its Remove button is gone: the keyboard lands on what happened, not on the page.
    expect(
      within(card).getByText(`Removed bob-desktop (${bob.device}). Its later changes are refused.`),
    ).toHaveFocus()
    // The node's folder.updated carries the new writer count to the card.
    expect(within(card).getByText('Writers').closest('div')).toHaveTextContent('Writers1')
  })

  it('shows a removal failure in the dialog and keeps the member', async () => {
    const { node, bob } = notesNode({
      'folders.removeMember': () => {
        throw new ApiError('NOT_FOUND', 'no member 0002000200020 (see `spare members`)')
      },
    })
    const { user } = setup(node)
    const card = await openDetails(user)
    const list = await within(card).findByRole('list', { name: 'Members of Notes' })
    const other = within(list).getByRole('listitem', { name: 'bob-desktop' })
    await user.click(within(other).getByRole('button', { name: 'Remove' }))
    const dialog = screen.getByRole('dialog', {
      name: `Remove bob-desktop (${bob.device}) from “Notes”?`,
    })
    await user.click(within(dialog).getByRole('button', { name: 'Remove' }))
    const alert = await within(dialog).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t remove this member')
    expect(alert).toHaveTextContent('no member 0002000200020')
    expect(within(dialog).getByRole('button', { name: 'Remove' })).toBeEnabled()
    expect(other).not.toHaveTextContent('Removed')
  })

  it('disables Remove on a read-only member, saying why', async () => {
    const node = new FakeNode()
    node.addFolder(folder({ name: 'Notes', kind: 'sync', role: 'reader' }), {
      members: [member({ label: 'ada-laptop' }), member({ label: 'bob-desktop' })],
    })
    const { user } = setup(node)
    const card = await openDetails(user)
    const list = await within(card).findByRole('list', { name: 'Members of Notes' })
    const buttons = within(list).getAllByRole('button', { name: 'Remove' })
    expect(buttons).toHaveLength(2)
    for (const b of buttons) {
      expect(b).toBeDisabled()
      expect(b).toHaveAccessibleDescription(/read-only member of the folder/)
    }
    expect(within(list).queryByText('This device')).not.toBeInTheDocument()
  })

  it('shows a load failure and tries again', async () => {
    let fail = true
    const { node, me } = notesNode({
      'folders.members': () => {
        if (fail) throw new ApiError('UNAVAILABLE', 'the node is starting')
        return [me]
      },
    })
    const { user } = setup(node)
    const card = await openDetails(user)
    const members = section(card, 'Members')
    expect(await within(members).findByRole('alert')).toHaveTextContent('the node is starting')
    fail = false
    await user.click(within(members).getByRole('button', { name: 'Try again' }))
    expect(await within(members).findByRole('listitem', { name: 'ada-laptop' })).toBeInTheDocument()
    expect(within(members).queryByRole('alert')).not.toBeInTheDocument()
  })
})

describe('Two-way folders: conflicts', () => {
  it('lists conflict copies with their original and opens the original’s versions', async () => {
    const { node, notes } = notesNode()
    const { user } = setup(node)
    const card = await openDetails(user)
    const conflicts = section(card, 'Conflicts')
    const list = await within(conflicts).findByRole('list', { name: 'Conflicts in Notes' })
    const item = within(list).getByRole('listitem')
    expect(item).toHaveTextContent(CONFLICT_COPY)
    expect(item).toHaveTextContent('copy of /notes.txt')

    await user.click(within(item).getByRole('button', { name: 'Versions of /notes.txt' }))
    const versions = section(card, 'Versions')
    expect(within(versions).getByLabelText('File in the folder')).toHaveValue('/notes.txt')
    expect(
      await within(versions).findByRole('list', { name: 'Versions of /notes.txt' }),
    ).toBeInTheDocument()
    expect(node.callsOf('folders.versions')).toEqual([{ id: notes.id, path: '/notes.txt' }])
  })

  it('says when there are none', async () => {
    const node = new FakeNode()
    node.addFolder(folder({ name: 'Notes', kind: 'sync', role: 'writer' }))
    const { user } = setup(node)
    const card = await openDetails(user)
    expect(
      await within(section(card, 'Conflicts')).findByText('No conflicts in this folder.'),
    ).toBeInTheDocument()
  })
})

describe('Two-way folders: details while the folder keeps changing', () => {
  it('shows an answer that a newer change overtook, and asks again once, not per change', async () => {
    // A folder that syncs: its version moves on faster than the node lists its conflicts.
    const answers: Array<ReturnType<typeof deferred<MethodResult<'folders.conflicts'>>>> = []
    const node = new FakeNode({
      'folders.conflicts': () => {
        const answer = deferred<MethodResult<'folders.conflicts'>>()
        answers.push(answer)
        return answer.promise
      },
    })
    const notes = node.addFolder(folder({ name: 'Notes', kind: 'sync', role: 'writer' }))
    const { user } = setup(node)
    const card = await openDetails(user)
    const conflicts = section(card, 'Conflicts')
    await waitFor(() => expect(answers.length).toBe(1))
    for (const version of [notes.version + 1, notes.version + 2, notes.version + 3]) {
      act(() => node.emit('folder.updated', { ...notes, version }))
    }
    await act(async () => answers[0]?.resolve([]))
    // The answer is shown although the folder changed meanwhile (it is the newest there is)…
    expect(within(conflicts).getByText('No conflicts in this folder.')).toBeInTheDocument()
    // …and the changes meanwhile cost one more call, made once this one was answered.
    expect(answers.length).toBe(2)
    await act(async () => answers[1]?.resolve([]))
    expect(answers.length).toBe(2)
  })
})

describe('Two-way folders: versions', () => {
  it('lists a version whose time is past what a date can hold (a peer’s bad clock)', async () => {
    const node = new FakeNode()
    const far = version({ id: 'f00d.1', at: 1e17, size: 10, device: 'f00d', current: true })
    node.addFolder(folder({ name: 'Notes', kind: 'sync', role: 'writer' }), {
      versions: { '/odd.txt': [far] },
    })
    const { user } = setup(node)
    const card = await openDetails(user)
    const panel = section(card, 'Versions')
    await user.type(within(panel).getByLabelText('File in the folder'), 'odd.txt{Enter}')
    const list = await within(panel).findByRole('list', { name: 'Versions of odd.txt' })
    const row = within(list).getByRole('listitem', { name: 'Version f00d.1' })
    expect(within(row).getByText('—')).toBeInTheDocument()
    // The rest of the screen is still there.
    expect(screen.getByRole('heading', { level: 1, name: 'Folders' })).toBeInTheDocument()
  })

  it('lists a file’s versions newest first with time, size, device and badges', async () => {
    const { node, notes, versions } = notesNode()
    const { user } = setup(node)
    const card = await openDetails(user)
    const panel = section(card, 'Versions')

    // Nothing is asked without a path.
    await user.click(within(panel).getByRole('button', { name: 'Show versions' }))
    expect(within(panel).getByText('A path inside the folder is required.')).toBeInTheDocument()
    expect(node.callsOf('folders.versions')).toEqual([])

    await user.type(within(panel).getByLabelText('File in the folder'), 'notes.txt{Enter}')
    expect(node.callsOf('folders.versions')).toEqual([{ id: notes.id, path: 'notes.txt' }])
    const list = await within(panel).findByRole('list', { name: 'Versions of notes.txt' })
    const rows = within(list).getAllByRole('listitem')
    const kept = versions['/notes.txt'] as Version[]
    expect(rows.map((r) => r.getAttribute('aria-label'))).toEqual(
      kept.map((v) => `Version ${v.id}`),
    )
    const [current, older, deleted, oldest] = rows as [
      HTMLElement,
      HTMLElement,
      HTMLElement,
      HTMLElement,
    ]
    const v0 = kept[0] as Version
    expect(current).toHaveTextContent(at(v0.at))
    expect(current).toHaveTextContent('Current')
    expect(current).toHaveTextContent(formatBytes(1_500))
    expect(current).toHaveTextContent(`by ${v0.device}`)
    expect(older).not.toHaveTextContent('Current')
    expect(older).toHaveTextContent('1.2 KB')
    expect(deleted).toHaveTextContent('Deleted')
    expect(deleted).toHaveTextContent('deleted')
    expect(within(deleted).queryByRole('button', { name: 'Restore…' })).not.toBeInTheDocument()
    expect(within(oldest).getByRole('button', { name: 'Restore…' })).toBeInTheDocument()
  })

  it('says when a path has no kept versions, and shows a refused path', async () => {
    const { node } = notesNode()
    const { user } = setup(node)
    const card = await openDetails(user)
    const panel = section(card, 'Versions')
    const input = within(panel).getByLabelText('File in the folder')
    await user.type(input, 'nope.txt{Enter}')
    expect(await within(panel).findByText(/No kept versions of/)).toHaveTextContent('nope.txt')

    await user.clear(input)
    await user.type(input, '../outside{Enter}')
    const alert = await within(panel).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t load the versions of ../outside')
    expect(alert).toHaveTextContent('not a path inside the folder: ../outside')
    expect(input).toHaveValue('../outside')
  })

  it('restores a version into the folder after a confirmation', async () => {
    const { node, notes, versions, me } = notesNode()
    const { user } = setup(node)
    const card = await openDetails(user)
    const panel = section(card, 'Versions')
    await user.type(within(panel).getByLabelText('File in the folder'), '/notes.txt{Enter}')
    const older = versions['/notes.txt']?.[1] as Version
    const row = await within(panel).findByRole('listitem', { name: `Version ${older.id}` })

    await user.click(within(row).getByRole('button', { name: 'Restore…' }))
    let dialog = screen.getByRole('dialog', { name: 'Restore a version of /notes.txt?' })
    expect(dialog).toHaveTextContent(at(older.at))
    expect(within(dialog).getByRole('radio', { name: 'Into the folder' })).toBeChecked()
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }))
    expect(node.callsOf('folders.restore')).toEqual([])

    await user.click(within(row).getByRole('button', { name: 'Restore…' }))
    dialog = screen.getByRole('dialog', { name: 'Restore a version of /notes.txt?' })
    await user.click(within(dialog).getByRole('button', { name: 'Restore' }))
    expect(node.callsOf('folders.restore')).toEqual([
      { id: notes.id, path: '/notes.txt', version: older.id },
    ])
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument())
    expect(within(panel).getByRole('status')).toHaveTextContent(
      `Restored version ${older.id} into the folder as /home/ada/Notes/notes.txt`,
    )
    // The restored content is the folder's new current version, by this device.
    await waitFor(() => {
      const first = within(panel).getAllByRole('listitem')[0] as HTMLElement
      expect(first).toHaveTextContent('Current')
      expect(first).toHaveTextContent(`by ${me.device}`)
    })
    expect(within(panel).getAllByText('Current')).toHaveLength(1)
  })

  it('restores a copy to another path, checking the path first', async () => {
    const { node, notes, versions } = notesNode()
    const { user } = setup(node)
    const card = await openDetails(user)
    const panel = section(card, 'Versions')
    await user.type(within(panel).getByLabelText('File in the folder'), 'notes.txt{Enter}')
    const oldest = versions['/notes.txt']?.[3] as Version
    const row = await within(panel).findByRole('listitem', { name: `Version ${oldest.id}` })
    await user.click(within(row).getByRole('button', { name: 'Restore…' }))
    const dialog = screen.getByRole('dialog', { name: 'Restore a version of notes.txt?' })
    await user.click(within(dialog).getByRole('radio', { name: 'To another path' }))
    const dest = within(dialog).getByLabelText('Destination file')
    const restore = within(dialog).getByRole('button', { name: 'Restore' })

    await user.click(restore)
    expect(within(dialog).getByText(/Enter the full path of the file to write/)).toBeInTheDocument()
    await user.type(dest, 'restored.txt')
    await user.click(restore)
    expect(within(dialog).getByText(/Use a full \(absolute\) path/)).toBeInTheDocument()
    expect(dest).toHaveAttribute('aria-invalid', 'true')
    await user.clear(dest)
    await user.type(dest, '/home/ada/Notes/old.txt')
    await user.click(restore)
    expect(within(dialog).getByText(/That path is inside the folder/)).toBeInTheDocument()
    expect(node.callsOf('folders.restore')).toEqual([])

    await user.clear(dest)
    await user.type(dest, '/home/ada/old-notes.txt')
    await user.click(restore)
    expect(node.callsOf('folders.restore')).toEqual([
      { id: notes.id, path: 'notes.txt', version: oldest.id, to: '/home/ada/old-notes.txt' },
    ])
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument())
    expect(within(panel).getByRole('status')).toHaveTextContent(
      `Restored version ${oldest.id} to /home/ada/old-notes.txt.`,
    )
  })

  it('shows NOT_FOUND from the node in the dialog and keeps the choice and the path', async () => {
    const { node, notes, versions } = notesNode()
    const { user } = setup(node)
    const card = await openDetails(user)
    const panel = section(card, 'Versions')
    await user.type(within(panel).getByLabelText('File in the folder'), 'notes.txt{Enter}')
    const oldest = versions['/notes.txt']?.[3] as Version
    const row = await within(panel).findByRole('listitem', { name: `Version ${oldest.id}` })
    await user.click(within(row).getByRole('button', { name: 'Restore…' }))
    const dialog = screen.getByRole('dialog', { name: 'Restore a version of notes.txt?' })
    await user.click(within(dialog).getByRole('radio', { name: 'To another path' }))
    await user.type(within(dialog).getByLabelText('Destination file'), '/tmp/old.txt')

    // Meanwhile the version ages out: another client keeps versions for one day only.
    const state = node.folders.get(notes.id)?.sync
    if (!state) throw new Error('no sync state')
    state.versionsDays = 1

    await user.click(within(dialog).getByRole('button', { name: 'Restore' }))
    const alert = await within(dialog).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t restore this version')
    expect(alert).toHaveTextContent(`no kept version ${oldest.id} of /notes.txt`)
    expect(within(dialog).getByRole('radio', { name: 'To another path' })).toBeChecked()
    expect(within(dialog).getByLabelText('Destination file')).toHaveValue('/tmp/old.txt')
    expect(within(dialog).getByRole('button', { name: 'Restore' })).toBeEnabled()
  })

  it('shows a failed restore into the folder in the dialog', async () => {
    const { node } = notesNode({
      'folders.restore': () => {
        throw new ApiError('UNAVAILABLE', 'that version is not on this device and no peer has it')
      },
    })
    const { user } = setup(node)
    const card = await openDetails(user)
    const panel = section(card, 'Versions')
    await user.type(within(panel).getByLabelText('File in the folder'), 'notes.txt{Enter}')
    const [, older] = await within(panel).findAllByRole('button', { name: 'Restore…' })
    await user.click(older as HTMLElement)
    const dialog = screen.getByRole('dialog', { name: 'Restore a version of notes.txt?' })
    await user.click(within(dialog).getByRole('button', { name: 'Restore' }))
    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'that version is not on this device and no peer has it',
    )
    expect(within(panel).queryByRole('status')).toBeEmptyDOMElement()
  })
})

describe('Two-way folders: keep versions', () => {
  it('refuses bad days next to the field, keeping what was typed', async () => {
    const { node } = notesNode()
    const { user } = setup(node)
    const card = await openDetails(user)
    const form = section(card, 'Keep versions')
    const input = within(form).getByLabelText('Keep versions for (days)')
    const save = within(form).getByRole('button', { name: 'Save' })

    // The field starts at the folder's current setting.
    expect(input).toHaveValue('30')
    await user.clear(input)
    await user.click(save)
    expect(within(form).getByText(/Enter a number of days/)).toBeInTheDocument()
    for (const [typed, message] of [
      ['ten', 'Days must be a number, like 30.'],
      ['-1', 'Days must be 0 or more.'],
      ['40000', 'Days must be at most 36500.'],
    ] as const) {
      await user.clear(input)
      await user.type(input, typed)
      await user.click(save)
      expect(within(form).getByText(message)).toBeInTheDocument()
      expect(input).toHaveAttribute('aria-invalid', 'true')
      expect(input).toHaveValue(typed)
    }
    expect(node.callsOf('folders.configure')).toEqual([])
  })

  it('saves the days and lists the versions that are still kept', async () => {
    const { node, notes, versions } = notesNode()
    const { user } = setup(node)
    const card = await openDetails(user)
    const panel = section(card, 'Versions')
    await user.type(within(panel).getByLabelText('File in the folder'), 'notes.txt{Enter}')
    const list = await within(panel).findByRole('list', { name: 'Versions of notes.txt' })
    expect(within(list).getAllByRole('listitem')).toHaveLength(4)

    const form = section(card, 'Keep versions')
    await user.clear(within(form).getByLabelText('Keep versions for (days)'))
    await user.type(within(form).getByLabelText('Keep versions for (days)'), '7')
    await user.click(within(form).getByRole('button', { name: 'Save' }))
    expect(node.callsOf('folders.configure')).toEqual([{ id: notes.id, versionsDays: 7 }])
    expect(await within(form).findByRole('status')).toHaveTextContent(
      'Saved: versions are kept for 7 days.',
    )
    // The oldest version was replaced ten days ago: past seven days, it is no longer kept.
    const oldest = versions['/notes.txt']?.[3] as Version
    await waitFor(() =>
      expect(
        within(list).queryByRole('listitem', { name: `Version ${oldest.id}` }),
      ).not.toBeInTheDocument(),
    )
    expect(within(list).getAllByRole('listitem')).toHaveLength(3)
  })

  it('follows a change made elsewhere, but never over what is being typed', async () => {
    const { node, notes } = notesNode({}, { versionsDays: 30 })
    const { user } = setup(node)
    const card = await openDetails(user)
    const form = section(card, 'Keep versions')
    const input = within(form).getByLabelText('Keep versions for (days)')
    expect(input).toHaveValue('30')
    // `spare` on the command line (or another window) sets 7 days.
    act(() => node.emit('folder.updated', { ...notes, versionsDays: 7 }))
    expect(form).toHaveTextContent('now: 7 days')
    expect(input).toHaveValue('7')
    await user.clear(input)
    await user.type(input, '12')
    act(() => node.emit('folder.updated', { ...notes, versionsDays: 9 }))
    expect(input).toHaveValue('12')
  })

  it('shows the node’s refusal near the form and keeps the value', async () => {
    const { node } = notesNode({
      'folders.configure': () => {
        throw new ApiError('UNAVAILABLE', 'the node is closing')
      },
    })
    const { user } = setup(node)
    const card = await openDetails(user)
    const form = section(card, 'Keep versions')
    await user.clear(within(form).getByLabelText('Keep versions for (days)'))
    await user.type(within(form).getByLabelText('Keep versions for (days)'), '90')
    await user.click(within(form).getByRole('button', { name: 'Save' }))
    const alert = await within(form).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t change how long versions are kept')
    expect(alert).toHaveTextContent('the node is closing')
    expect(within(form).getByLabelText('Keep versions for (days)')).toHaveValue('90')
    expect(within(form).getByRole('status')).toBeEmptyDOMElement()
  })
})
