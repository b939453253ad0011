import { act, screen, waitFor, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../../../shared/contract.ts'
import {
  FakeNode,
  deferred,
  folder,
  nodeStatus,
  renderWithSpare,
} from '../test-utils/fake-node.tsx'
import { FoldersScreen } from './FoldersScreen.tsx'

function setup(node: FakeNode, options: Parameters<typeof renderWithSpare>[1] = {}) {
  const user = userEvent.setup()
  const view = renderWithSpare(<FoldersScreen />, { node, ...options })
  return { user, ...view }
}

const INVITE = 'spare1:owmzdgf7rk3n1p9xq8c4ejyba5tw6hsu2i0lvz'

describe('FoldersScreen: the list', () => {
  it('shows every folder with its details', async () => {
    const photos = folder({
      name: 'Photos',
      path: '/home/ada/Photos',
      role: 'owner',
      state: 'syncing',
      files: 1234,
      bytes: 2_000_000_000,
      localBytes: 500_000_000,
      peers: 3,
      version: 57,
      lastSyncAt: new Date(Date.now() - 3 * 60_000).toISOString(),
    })
    const recipes = folder({
      name: 'Recipes',
      path: '/home/ada/Recipes',
      role: 'reader',
      state: 'error',
      error: 'The disk is full',
      localChanges: [
        { path: 'soup.md', kind: 'modified' },
        { path: 'cake.md', kind: 'added' },
      ],
      refused: [{ path: '../../etc/passwd', reason: 'path escapes the folder' }],
    })
    const node = new FakeNode({ 'folders.list': () => [photos, recipes] })
    setup(node)

    const card = await screen.findByRole('article', { name: 'Photos' })
    expect(within(card).getByRole('heading', { name: 'Photos' })).toBeInTheDocument()
    expect(within(card).getByText('/home/ada/Photos')).toBeInTheDocument()
    expect(within(card).getByText('Owner')).toBeInTheDocument()
    expect(within(card).getByText('Syncing')).toBeInTheDocument()
    const bar = within(card).getByRole('progressbar', { name: 'Sync progress of Photos' })
    expect(bar).toHaveAttribute('aria-valuenow', '25')
    expect(within(card).getByText('500 MB of 2 GB')).toBeInTheDocument()
    expect(within(card).getByText('1,234')).toBeInTheDocument()
    expect(within(card).getByText('2 GB')).toBeInTheDocument()
    expect(within(card).getByText('57')).toBeInTheDocument()
    expect(within(card).getByText('3 minutes ago')).toBeInTheDocument()
    expect(within(card).getByRole('button', { name: 'Invite' })).toBeInTheDocument()
    expect(within(card).getByRole('button', { name: 'Stop syncing' })).toBeInTheDocument()

    const reader = screen.getByRole('article', { name: 'Recipes' })
    expect(within(reader).getByText('Reader')).toBeInTheDocument()
    expect(within(reader).getByRole('alert')).toHaveTextContent('The disk is full')
    expect(within(reader).queryByRole('progressbar')).not.toBeInTheDocument()
    expect(within(reader).queryByRole('button', { name: 'Invite' })).not.toBeInTheDocument()
    expect(within(reader).getByText('Never')).toBeInTheDocument()

    const changes = within(reader).getByRole('list', { name: 'Local changes in Recipes' })
    const items = within(changes).getAllByRole('listitem')
    expect(items.map((li) => li.textContent)).toEqual(['soup.mdmodified', 'cake.mdadded'])
    expect(within(reader).getByText('2 local changes')).toBeInTheDocument()

    const refused = within(reader).getByRole('list', { name: 'Refused entries in Recipes' })
    expect(within(refused).getByText('../../etc/passwd')).toBeInTheDocument()
    expect(within(refused).getByText('path escapes the folder')).toBeInTheDocument()
    expect(within(reader).getByText('1 entry refused')).toBeInTheDocument()
  })

  it('tells a new user what to do when there are no folders', async () => {
    setup(new FakeNode({ 'folders.list': () => [] }))
    expect(await screen.findByRole('heading', { name: 'No folders yet' })).toBeInTheDocument()
    expect(screen.getByText(/paste it/)).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Share a folder' })).toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Join a folder' })).toBeInTheDocument()
    expect(screen.queryByRole('article')).not.toBeInTheDocument()
  })

  it('shows a load failure and tries again on request', async () => {
    let fail = true
    const node = new FakeNode({
      'folders.list': () => {
        if (fail) throw new ApiError('UNAVAILABLE', 'the node is starting')
        return [folder({ name: 'Docs' })]
      },
    })
    const { user } = setup(node)
    expect(await screen.findByRole('alert')).toHaveTextContent('the node is starting')
    fail = false
    await user.click(screen.getByRole('button', { name: 'Try again' }))
    expect(await screen.findByRole('article', { name: 'Docs' })).toBeInTheDocument()
    expect(node.callsOf('folders.list')).toHaveLength(2)
  })
})

describe('FoldersScreen: scanning', () => {
  it("shows a full scan's progress as it comes, and the plain note without one", async () => {
    const big = folder({ name: 'Big', state: 'scanning', files: 0, bytes: 0, localBytes: 0 })
    const node = new FakeNode({ 'folders.list': () => [big] })
    setup(node)
    const card = await screen.findByRole('article', { name: 'Big' })
    expect(within(card).getByText('Looking through the folder for changes…')).toBeInTheDocument()
    expect(within(card).queryByText(/paths$/)).not.toBeInTheDocument()

    act(() => node.emit('folder.updated', { ...big, scan: { done: 45_000, total: 100_000 } }))
    expect(within(card).getByText('45,000 of 100,000 paths')).toBeInTheDocument()
    act(() => node.emit('folder.updated', { ...big, scan: { done: 99_999, total: 100_000 } }))
    expect(within(card).getByText('99,999 of 100,000 paths')).toBeInTheDocument()

    act(() => node.emit('folder.updated', { ...big, state: 'idle', files: 100_000, scan: null }))
    expect(within(card).queryByText(/Looking through the folder/)).not.toBeInTheDocument()
    expect(within(card).getByText('100,000')).toBeInTheDocument()
  })
})

describe('FoldersScreen: live updates', () => {
  it('re-renders on folder.updated and folder.removed', async () => {
    const docs = folder({ name: 'Docs', state: 'idle' })
    const node = new FakeNode({ 'folders.list': () => [docs] })
    setup(node)
    const card = await screen.findByRole('article', { name: 'Docs' })
    expect(within(card).getByText('Idle')).toBeInTheDocument()

    act(() =>
      node.emit('folder.updated', { ...docs, state: 'syncing', bytes: 100, localBytes: 40 }),
    )
    expect(within(card).getByText('Syncing')).toBeInTheDocument()
    expect(within(card).getByRole('progressbar')).toHaveAttribute('aria-valuenow', '40')

    const music = folder({ name: 'Music' })
    act(() => node.emit('folder.updated', music))
    expect(screen.getByRole('article', { name: 'Music' })).toBeInTheDocument()
    expect(screen.getAllByRole('article')).toHaveLength(2)

    act(() => node.emit('folder.removed', { id: docs.id }))
    expect(screen.queryByRole('article', { name: 'Docs' })).not.toBeInTheDocument()
    expect(screen.getByRole('article', { name: 'Music' })).toBeInTheDocument()
  })

  it('keeps events that arrive while the list is loading', async () => {
    const list = deferred<ReturnType<typeof folder>[]>()
    const docs = folder({ name: 'Docs', version: 1 })
    const node = new FakeNode({ 'folders.list': () => list.promise })
    setup(node)
    await waitFor(() => expect(node.callsOf('folders.list')).toHaveLength(1))
    act(() => node.emit('folder.updated', { ...docs, version: 2 }))
    await act(async () => list.resolve([docs]))
    const card = await screen.findByRole('article', { name: 'Docs' })
    expect(within(card).getByText('2')).toBeInTheDocument()
  })

  it('reloads the list after a reconnect, and unsubscribes on unmount', async () => {
    const node = new FakeNode({ 'folders.list': () => [] })
    const { connection, unmount } = setup(node)
    await screen.findByRole('heading', { name: 'No folders yet' })
    // folder.updated and folder.removed for the list, node.updated for the paused notice.
    expect(node.listenerCount).toBe(3)

    act(() => connection.set({ status: 'retrying', attempt: 1 }))
    node.handlers['folders.list'] = () => [folder({ name: 'Back' })]
    act(() => connection.set({ status: 'open', attempt: 0, generation: 2 }))
    expect(await screen.findByRole('article', { name: 'Back' })).toBeInTheDocument()
    expect(node.callsOf('folders.list')).toHaveLength(2)

    unmount()
    expect(node.listenerCount).toBe(0)
  })
})

describe('FoldersScreen: paused syncing', () => {
  it('labels paused folders "Paused" and says that syncing is paused', async () => {
    const docs = folder({ name: 'Docs', state: 'paused', bytes: 100, localBytes: 40 })
    const broken = folder({ name: 'Broken', state: 'error', error: 'The disk is full' })
    const node = new FakeNode({ 'folders.list': () => [docs, broken] })
    node.paused = true
    setup(node)
    const card = await screen.findByRole('article', { name: 'Docs' })
    expect(card).toHaveAttribute('data-state', 'paused')
    expect(within(card).getByText('Paused')).toBeInTheDocument()
    expect(within(card).queryByText('Idle')).not.toBeInTheDocument()
    expect(within(card).queryByRole('progressbar')).not.toBeInTheDocument()
    expect(within(card).queryByRole('alert')).not.toBeInTheDocument()
    // A folder in error keeps reporting its error while paused.
    const brokenCard = screen.getByRole('article', { name: 'Broken' })
    expect(within(brokenCard).getByText('Error')).toBeInTheDocument()
    expect(within(brokenCard).queryByText('Paused')).not.toBeInTheDocument()

    const notice = await screen.findByText('Syncing is paused')
    expect(notice.closest('[role="status"]')).not.toBeNull()
  })

  it('shows and hides the notice on node.updated, and cards follow folder.updated', async () => {
    const docs = folder({ name: 'Docs', state: 'idle' })
    const node = new FakeNode({
      'folders.list': () => [docs],
      'node.status': () => nodeStatus({ paused: false }),
    })
    setup(node)
    const card = await screen.findByRole('article', { name: 'Docs' })
    await waitFor(() => expect(node.callsOf('node.status')).toHaveLength(1))
    expect(screen.queryByText('Syncing is paused')).not.toBeInTheDocument()

    act(() => {
      node.emit('folder.updated', { ...docs, state: 'paused' })
      node.emit('node.updated', nodeStatus({ paused: true }))
    })
    expect(screen.getByText('Syncing is paused')).toBeInTheDocument()
    expect(within(card).getByText('Paused')).toBeInTheDocument()

    act(() => {
      node.emit('folder.updated', { ...docs, state: 'idle' })
      node.emit('node.updated', nodeStatus({ paused: false }))
    })
    expect(screen.queryByText('Syncing is paused')).not.toBeInTheDocument()
    expect(within(card).getByText('Idle')).toBeInTheDocument()
  })
})

describe('FoldersScreen: share', () => {
  it('shares a typed path in the browser and shows the invite', async () => {
    const shared = folder({ name: 'Photos', path: '/home/ada/Photos' })
    const node = new FakeNode({
      'folders.list': () => [],
      'folders.share': () => ({ folder: shared, invite: INVITE }),
    })
    const { user } = setup(node)
    await screen.findByRole('heading', { name: 'No folders yet' })

    await user.click(screen.getByRole('button', { name: 'Share a folder' }))
    const dialog = screen.getByRole('dialog', { name: 'Share a folder' })
    expect(within(dialog).getByLabelText('Folder path')).toHaveFocus()

    // Nothing is sent without a path.
    await user.click(within(dialog).getByRole('button', { name: 'Share' }))
    expect(within(dialog).getByText('A folder path is required.')).toBeInTheDocument()
    expect(node.callsOf('folders.share')).toEqual([])

    await user.type(within(dialog).getByLabelText('Folder path'), '  /home/ada/Photos ')
    await user.type(within(dialog).getByLabelText('Name (optional)'), 'Holiday photos')
    await user.click(within(dialog).getByRole('button', { name: 'Share' }))

    expect(node.callsOf('folders.share')).toEqual([
      { path: '/home/ada/Photos', name: 'Holiday photos', mode: 'sync' },
    ])
    const result = await screen.findByRole('dialog', { name: '“Photos” is shared' })
    expect(within(result).getByTestId('invite-text')).toHaveTextContent(INVITE)
    const qr = await within(result).findByRole('img', { name: /QR code of the invite/ })
    expect(qr.getAttribute('src')).toMatch(/^data:image\/svg\+xml/)

    await user.click(within(result).getByRole('button', { name: 'Copy invite' }))
    await expect(navigator.clipboard.readText()).resolves.toBe(INVITE)
    expect(within(result).getByRole('button', { name: 'Copied' })).toBeInTheDocument()

    // The new folder is in the list behind the dialog, without waiting for its event.
    expect(screen.getByRole('article', { name: 'Photos' })).toBeInTheDocument()
    await user.click(within(result).getByRole('button', { name: 'Done' }))
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
  })

  it('moves the focus to the invite once shared, and back to the opener when closed', async () => {
    const node = new FakeNode({
      'folders.list': () => [],
      'folders.share': () => ({ folder: folder({ name: 'Photos' }), invite: INVITE }),
    })
    const { user } = setup(node)
    const opener = await screen.findByRole('button', { name: 'Share a folder' })
    await user.click(opener)
    await user.keyboard('/home/ada/Photos{Enter}')

    // The form's focused button is gone with the form: the invite's Copy button takes the focus,
    // so Tab stays inside the dialog instead of wandering into the page behind it.
    const result = await screen.findByRole('dialog', { name: '“Photos” is shared' })
    expect(within(result).getByRole('button', { name: 'Copy invite' })).toHaveFocus()
    await user.tab()
    expect(result).toContainElement(document.activeElement as HTMLElement)

    await user.keyboard('{Escape}')
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    expect(screen.getByRole('button', { name: 'Share a folder' })).toHaveFocus()
  })

  it('stays open while the node shares, then shows the invite', async () => {
    const answer = deferred<{ folder: ReturnType<typeof folder>; invite: string }>()
    const node = new FakeNode({
      'folders.list': () => [],
      'folders.share': () => answer.promise,
    })
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Share a folder' }))
    await user.keyboard('/home/ada/Photos{Enter}')
    const dialog = screen.getByRole('dialog', { name: 'Share a folder' })
    expect(within(dialog).getByRole('status')).toHaveTextContent('Sharing /home/ada/Photos…')

    await user.keyboard('{Escape}')
    expect(dialog).toBeInTheDocument()
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toBeDisabled()

    await act(async () => answer.resolve({ folder: folder({ name: 'Photos' }), invite: INVITE }))
    const result = await screen.findByRole('dialog', { name: '“Photos” is shared' })
    expect(within(result).getByTestId('invite-text')).toHaveTextContent(INVITE)
    await user.keyboard('{Escape}')
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
  })

  it('omits an empty name', async () => {
    const node = new FakeNode({
      'folders.list': () => [],
      'folders.share': () => ({ folder: folder(), invite: INVITE }),
    })
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Share a folder' }))
    await user.type(screen.getByLabelText('Folder path'), '/srv/data{Enter}')
    await screen.findByTestId('invite-text')
    expect(node.callsOf('folders.share')).toEqual([{ path: '/srv/data', mode: 'sync' }])
  })

  it('shows the node’s error inside the dialog and keeps the form', async () => {
    const node = new FakeNode({
      'folders.list': () => [],
      'folders.share': () => {
        throw new ApiError('CONFLICT', 'this folder is already shared')
      },
    })
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Share a folder' }))
    const dialog = screen.getByRole('dialog', { name: 'Share a folder' })
    await user.type(within(dialog).getByLabelText('Folder path'), '/home/ada/Photos')
    await user.click(within(dialog).getByRole('button', { name: 'Share' }))
    expect(await within(dialog).findByRole('alert')).toHaveTextContent(
      'this folder is already shared',
    )
    expect(within(dialog).getByLabelText('Folder path')).toHaveValue('/home/ada/Photos')
    expect(within(dialog).getByRole('button', { name: 'Share' })).toBeEnabled()
  })

  it('uses the native picker in the app, then asks two-way or publish and shares', async () => {
    const shared = folder({ name: 'Music', path: '/home/ada/Music' })
    const pickFolder = vi.fn(async () => '/home/ada/Music')
    const node = new FakeNode({
      'folders.list': () => [],
      'folders.share': () => ({ folder: shared, invite: INVITE }),
    })
    const { user } = setup(node, { pickFolder, shell: 'app' })
    await user.click(await screen.findByRole('button', { name: 'Share a folder' }))
    expect(pickFolder).toHaveBeenCalledOnce()
    const dialog = await screen.findByRole('dialog', { name: 'Share a folder' })
    expect(within(dialog).getByLabelText('Folder path')).toHaveValue('/home/ada/Music')
    expect(node.callsOf('folders.share')).toEqual([])
    await user.click(within(dialog).getByRole('radio', { name: 'Publish' }))
    await user.click(within(dialog).getByRole('button', { name: 'Share' }))
    expect(await screen.findByTestId('invite-text')).toHaveTextContent(INVITE)
    expect(node.callsOf('folders.share')).toEqual([{ path: '/home/ada/Music', mode: 'publish' }])
  })

  it('does nothing when the native picker is cancelled', async () => {
    const pickFolder = vi.fn(async () => null)
    const node = new FakeNode({ 'folders.list': () => [] })
    const { user } = setup(node, { pickFolder, shell: 'app' })
    await user.click(await screen.findByRole('button', { name: 'Share a folder' }))
    expect(pickFolder).toHaveBeenCalledOnce()
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    expect(node.callsOf('folders.share')).toEqual([])
  })
})

describe('FoldersScreen: invite', () => {
  it('fetches an invite for an owner folder and shows it with a QR code', async () => {
    const photos = folder({ name: 'Photos' })
    const node = new FakeNode({
      'folders.list': () => [photos],
      'folders.invite': () => ({ invite: INVITE }),
    })
    const { user } = setup(node)
    const card = await screen.findByRole('article', { name: 'Photos' })
    await user.click(within(card).getByRole('button', { name: 'Invite' }))
    expect(node.callsOf('folders.invite')).toEqual([{ id: photos.id }])
    const dialog = await screen.findByRole('dialog', { name: 'Invite to “Photos”' })
    expect(within(dialog).getByTestId('invite-text')).toHaveTextContent(INVITE)
    expect(await within(dialog).findByRole('img', { name: /QR code/ })).toBeInTheDocument()
  })

  it('explains when copying is not allowed', async () => {
    const node = new FakeNode({
      'folders.list': () => [folder({ name: 'Photos' })],
      'folders.invite': () => ({ invite: INVITE }),
    })
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Invite' }))
    const dialog = await screen.findByRole('dialog')
    vi.spyOn(navigator.clipboard, 'writeText').mockRejectedValue(new Error('denied'))
    await user.click(within(dialog).getByRole('button', { name: 'Copy invite' }))
    expect(await within(dialog).findByText(/Couldn’t copy automatically/)).toBeInTheDocument()
  })

  it('shows an invite failure on the card', async () => {
    const node = new FakeNode({
      'folders.list': () => [folder({ name: 'Photos' })],
      'folders.invite': () => {
        throw new ApiError('NOT_FOUND', 'no such folder')
      },
    })
    const { user } = setup(node)
    const card = await screen.findByRole('article', { name: 'Photos' })
    await user.click(within(card).getByRole('button', { name: 'Invite' }))
    expect(await within(card).findByRole('alert')).toHaveTextContent('no such folder')
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
  })
})

describe('FoldersScreen: join', () => {
  it('joins with the pasted invite and destination path', async () => {
    const joined = folder({ name: 'Shared', path: '/home/ada/Shared', role: 'reader', peers: 0 })
    const node = new FakeNode({
      'folders.list': () => [],
      'folders.join': () => ({ folder: joined }),
    })
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Join a folder' }))
    const dialog = screen.getByRole('dialog', { name: 'Join a folder' })
    expect(within(dialog).getByLabelText('Invite')).toHaveFocus()

    await user.click(within(dialog).getByRole('button', { name: 'Join' }))
    expect(within(dialog).getByText('An invite is required.')).toBeInTheDocument()
    expect(within(dialog).getByText('A folder path is required.')).toBeInTheDocument()
    expect(node.callsOf('folders.join')).toEqual([])
    // The keyboard goes to the first field in error, not left on the Join button.
    expect(within(dialog).getByLabelText('Invite')).toHaveFocus()

    await user.type(within(dialog).getByLabelText('Invite'), `${INVITE}\n`)
    await user.click(within(dialog).getByRole('button', { name: 'Join' }))
    expect(within(dialog).getByLabelText('Destination path')).toHaveFocus()
    await user.type(within(dialog).getByLabelText('Destination path'), '/home/ada/Shared')
    await user.click(within(dialog).getByRole('button', { name: 'Join' }))

    expect(node.callsOf('folders.join')).toEqual([{ invite: INVITE, path: '/home/ada/Shared' }])
    const card = await screen.findByRole('article', { name: 'Shared' })
    expect(within(card).getByText('Reader')).toBeInTheDocument()
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    expect(screen.getByText(/Joined “Shared”/)).toBeInTheDocument()
  })

  it('stays open while the node joins: closing would not stop the join', async () => {
    const answer = deferred<{ folder: ReturnType<typeof folder> }>()
    const node = new FakeNode({
      'folders.list': () => [],
      'folders.join': () => answer.promise,
    })
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Join a folder' }))
    const dialog = screen.getByRole('dialog', { name: 'Join a folder' })
    await user.type(within(dialog).getByLabelText('Invite'), INVITE)
    await user.type(within(dialog).getByLabelText('Destination path'), '/home/ada/Shared')
    await user.click(within(dialog).getByRole('button', { name: 'Join' }))
    expect(within(dialog).getByRole('status')).toHaveTextContent('Joining…')

    // Neither Escape, nor the backdrop, nor Cancel or × pretend to call it off.
    await user.keyboard('{Escape}')
    expect(dialog).toBeInTheDocument()
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toBeDisabled()
    expect(within(dialog).getByRole('button', { name: 'Close' })).toBeDisabled()
    await user.click(dialog.parentElement as HTMLElement)
    expect(dialog).toBeInTheDocument()

    await act(async () => answer.resolve({ folder: folder({ name: 'Shared' }) }))
    expect(await screen.findByRole('article', { name: 'Shared' })).toBeInTheDocument()
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
  })

  it('joins with an invite a mail or chat app broke across lines', async () => {
    const node = new FakeNode({
      'folders.list': () => [],
      'folders.join': () => ({ folder: folder({ name: 'Shared' }) }),
    })
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Join a folder' }))
    const dialog = screen.getByRole('dialog', { name: 'Join a folder' })
    // An invite has no spaces: the ones a wrapped message put in are not part of it.
    const wrapped = `  ${INVITE.slice(0, 16)}\n${INVITE.slice(16, 30)} \r\n ${INVITE.slice(30)}\n`
    await user.click(within(dialog).getByLabelText('Invite'))
    await user.paste(wrapped)
    await user.type(within(dialog).getByLabelText('Destination path'), '/home/ada/Shared')
    await user.click(within(dialog).getByRole('button', { name: 'Join' }))
    expect(node.callsOf('folders.join')).toEqual([{ invite: INVITE, path: '/home/ada/Shared' }])
  })

  it('shows a join failure in the dialog', async () => {
    const node = new FakeNode({
      'folders.list': () => [],
      'folders.join': () => {
        throw new ApiError('BAD_INPUT', 'this is not a Spare invite')
      },
    })
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Join a folder' }))
    const dialog = screen.getByRole('dialog', { name: 'Join a folder' })
    await user.type(within(dialog).getByLabelText('Invite'), 'garbage')
    await user.type(within(dialog).getByLabelText('Destination path'), '/tmp/x')
    await user.click(within(dialog).getByRole('button', { name: 'Join' }))
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('this is not a Spare invite')
    expect(screen.queryByRole('article')).not.toBeInTheDocument()
  })

  it('offers the native picker for the destination in the app', async () => {
    const pickFolder = vi.fn(async () => '/home/ada/Inbox')
    const { user } = setup(new FakeNode({ 'folders.list': () => [] }), {
      pickFolder,
      shell: 'app',
    })
    await user.click(await screen.findByRole('button', { name: 'Join a folder' }))
    await user.click(screen.getByRole('button', { name: 'Choose destination folder' }))
    expect(screen.getByLabelText('Destination path')).toHaveValue('/home/ada/Inbox')
  })
})

describe('FoldersScreen: stop syncing', () => {
  it('asks first, says files stay, then unshares', async () => {
    const photos = folder({ name: 'Photos', path: '/home/ada/Photos' })
    const node = new FakeNode({
      'folders.list': () => [photos],
      'folders.unshare': ({ id }) => ({ id }),
    })
    const { user } = setup(node)
    const card = await screen.findByRole('article', { name: 'Photos' })

    await user.click(within(card).getByRole('button', { name: 'Stop syncing' }))
    let dialog = screen.getByRole('dialog', { name: 'Stop syncing “Photos”?' })
    expect(dialog).toHaveTextContent('The files on disk stay where they are')
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveFocus()
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }))
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    expect(node.callsOf('folders.unshare')).toEqual([])

    await user.click(within(card).getByRole('button', { name: 'Stop syncing' }))
    dialog = screen.getByRole('dialog', { name: 'Stop syncing “Photos”?' })
    await user.click(within(dialog).getByRole('button', { name: 'Stop syncing' }))
    expect(node.callsOf('folders.unshare')).toEqual([{ id: photos.id }])
    await waitFor(() => expect(screen.queryByRole('article', { name: 'Photos' })).toBeNull())
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    // The card and its button are gone: the keyboard lands on what happened, not on the page.
    expect(screen.getByText(/Its files are still in \/home\/ada\/Photos/)).toHaveFocus()
  })

  it('shows an unshare failure in the dialog and keeps the folder', async () => {
    const node = new FakeNode({
      'folders.list': () => [folder({ name: 'Photos' })],
      'folders.unshare': () => {
        throw new ApiError('UNAVAILABLE', 'the node is closing')
      },
    })
    const { user } = setup(node)
    const card = await screen.findByRole('article', { name: 'Photos' })
    await user.click(within(card).getByRole('button', { name: 'Stop syncing' }))
    const dialog = screen.getByRole('dialog')
    await user.click(within(dialog).getByRole('button', { name: 'Stop syncing' }))
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('the node is closing')
    expect(screen.getByRole('article', { name: 'Photos' })).toBeInTheDocument()
  })

  it('closes the dialog with Escape', async () => {
    const { user } = setup(new FakeNode({ 'folders.list': () => [folder({ name: 'Photos' })] }))
    await user.click(await screen.findByRole('button', { name: 'Stop syncing' }))
    expect(screen.getByRole('dialog')).toBeInTheDocument()
    await user.keyboard('{Escape}')
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
  })
})
