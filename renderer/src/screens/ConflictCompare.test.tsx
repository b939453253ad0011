// Comparing the two versions of a conflict side by side in a two-way folder's details, and keeping
// one of them: against the fake node's own folders, whose conflicts, previews and resolving behave
// as the engine's (the files on this device are the fake's `contents`).
import { screen, waitFor, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ApiError, type Version } from '../../../shared/contract.ts'
import { formatBytes } from '../lib/format.ts'
import {
  FakeNode,
  PREVIEW_BYTES,
  folder,
  member,
  renderWithSpare,
  version,
  type Handlers,
} from '../test-utils/fake-node.tsx'
import { FoldersScreen } from './FoldersScreen.tsx'

const MINUTE = 60_000
const COPY = '/notes.sync-conflict-20260101-120000-b0b0b0b0b0b0.txt'
const KEPT_TEXT = 'Shopping\nmilk\nbread\neggs\n'
const COPY_TEXT = 'Shopping\nmilk\nrye bread\neggs\nbutter\n'

interface Setup {
  handlers?: Handlers
  /** What is on this device's disk; defaults to both sides as text. */
  contents?: Record<string, string | null>
  /** The original was deleted since the conflict. */
  keptDeleted?: boolean
  /** The copy was made by this device. */
  copyFromMe?: boolean
  copySize?: number
}

/** A two-way folder "Notes" with one conflict: notes.txt (by bob, newer) and a copy of it. */
function conflictNode(opts: Setup = {}) {
  const node = new FakeNode(opts.handlers)
  const me = member({ label: 'ada-laptop', you: true })
  const bob = member({ label: 'bob-desktop', addedBy: me.device })
  const now = Date.now()
  const keptVersion = version({
    id: `${bob.device}.9`,
    at: now - 2 * MINUTE,
    mtime: now - 2 * MINUTE,
    size: new TextEncoder().encode(KEPT_TEXT).length,
    device: bob.device,
    current: true,
  })
  const copyDevice = opts.copyFromMe ? me.device : bob.device
  const copyVersion = version({
    id: `${copyDevice}.8`,
    at: now - 5 * MINUTE,
    mtime: now - 5 * MINUTE,
    size: opts.copySize ?? new TextEncoder().encode(COPY_TEXT).length,
    device: copyDevice,
    current: true,
  })
  const versions: Record<string, Version[]> = {
    '/notes.txt': opts.keptDeleted
      ? [
          version({ id: `${me.device}.10`, kind: 'deleted', size: 0, current: true }),
          { ...keptVersion, current: false },
        ]
      : [keptVersion],
    [COPY]: [copyVersion],
  }
  const contents = opts.contents ?? {
    ...(opts.keptDeleted ? {} : { '/notes.txt': KEPT_TEXT }),
    [COPY]: COPY_TEXT,
  }
  const notes = node.addFolder(
    folder({ name: 'Notes', path: '/home/ada/Notes', kind: 'sync', role: 'writer' }),
    { members: [me, bob], versions, contents },
  )
  return { node, notes, me, bob, keptVersion, copyVersion }
}

async function openCompare(node: FakeNode) {
  const user = userEvent.setup()
  renderWithSpare(<FoldersScreen />, { node })
  const card = await screen.findByRole('article', { name: 'Notes' })
  await user.click(within(card).getByRole('button', { name: 'Details' }))
  const conflicts = within(card).getByRole('region', { name: 'Conflicts' })
  await user.click(
    await within(conflicts).findByRole('button', { name: `Compare ${COPY} with /notes.txt` }),
  )
  const dialog = screen.getByRole('dialog', { name: 'Compare the versions of notes.txt' })
  const kept = within(dialog).getByRole('region', { name: /^Kept — notes\.txt/ })
  const copy = within(dialog).getByRole('region', { name: /^Conflict copy — from device / })
  return { user, card, conflicts, dialog, kept, copy }
}

/** The preview's lines that are highlighted as differing. */
function highlighted(column: HTMLElement): string[] {
  return [...column.querySelectorAll('[data-changed="true"]')].map((el) =>
    (el.textContent ?? '').replace(/^~/, ''),
  )
}

describe('Conflicts: compare the two versions', () => {
  it('shows both sides with size, time, device and the differing lines highlighted', async () => {
    const { node, notes, bob, keptVersion, copyVersion } = conflictNode({ copyFromMe: true })
    const { dialog, kept, copy } = await openCompare(node)

    expect(dialog).toHaveAccessibleDescription(/Two devices changed notes\.txt at once/)
    expect(within(kept).getByRole('heading')).toHaveTextContent('Kept — notes.txt')
    expect(within(kept).getByText('Newer')).toBeInTheDocument()
    expect(kept).toHaveTextContent(`Size${formatBytes(keptVersion.size)}`)
    expect(kept).toHaveTextContent(`Modified${new Date(keptVersion.mtime).toLocaleString()}`)
    expect(kept).toHaveTextContent(`Device${bob.device} · bob-desktop`)
    // The copy is this device's: its heading says so once the members are in.
    await waitFor(() =>
      expect(within(copy).getByRole('heading')).toHaveTextContent(
        `Conflict copy — from device ${copyVersion.device} (this device)`,
      ),
    )
    expect(copy).toHaveTextContent(`Device${copyVersion.device} · this device`)
    expect(copy).toHaveTextContent(`Size${formatBytes(copyVersion.size)}`)

    const keptPreview = await within(kept).findByRole('region', {
      name: 'Content: Kept — notes.txt',
    })
    expect(keptPreview).toHaveTextContent('Shopping')
    const copyPreview = within(copy).getByRole('region', { name: /^Content: Conflict copy/ })
    // Scrollable previews are reachable with the keyboard.
    expect(keptPreview).toHaveAttribute('tabindex', '0')
    expect(copyPreview).toHaveAttribute('tabindex', '0')
    expect(highlighted(kept)).toEqual(['bread'])
    expect(highlighted(copy)).toEqual(['rye bread', 'butter'])
    expect(kept).toHaveTextContent('1 line differs from the conflict copy (highlighted).')
    expect(copy).toHaveTextContent('2 lines differ from notes.txt (highlighted).')
    expect(dialog).not.toHaveTextContent(/16 KiB/)
    expect(node.callsOf('folders.preview')).toEqual(
      expect.arrayContaining([
        { id: notes.id, path: '/notes.txt' },
        { id: notes.id, path: COPY },
      ]),
    )
    // Looking changes nothing.
    expect(node.callsOf('folders.resolveConflict')).toEqual([])
  })

  it('says when a side is binary, and highlights nothing then', async () => {
    const { node } = conflictNode({
      contents: { '/notes.txt': KEPT_TEXT, [COPY]: null },
      copySize: 52_000,
    })
    const { kept, copy } = await openCompare(node)
    expect(await within(copy).findByText('Binary file: no preview.')).toBeInTheDocument()
    await within(kept).findByRole('region', { name: 'Content: Kept — notes.txt' })
    expect(highlighted(kept)).toEqual([])
    expect(kept).not.toHaveTextContent(/differ/)
    expect(copy).toHaveTextContent(`Size${formatBytes(52_000)}`)
  })

  it('says the preview shows the first 16 KiB of a longer file', async () => {
    const long = 'the same line\n'.repeat(1500) // 21 000 bytes
    const { node } = conflictNode({
      contents: { '/notes.txt': long, [COPY]: long + 'one more\n' },
    })
    const { kept, copy } = await openCompare(node)
    await within(kept).findByRole('region', { name: /^Content: Kept/ })
    expect(kept).toHaveTextContent(`The preview shows the first 16 KiB of ${formatBytes(21_000)}.`)
    expect(copy).toHaveTextContent(`The preview shows the first 16 KiB of ${formatBytes(21_009)}.`)
    // Only the first 16 KiB are compared: there they are the same.
    expect(highlighted(kept)).toEqual([])
    expect(highlighted(copy)).toEqual([])
    expect(kept).toHaveTextContent('No lines differ from the conflict copy.')
    const lines = kept.querySelectorAll('pre > span')
    expect(lines.length).toBe(Math.ceil(PREVIEW_BYTES / 'the same line\n'.length))
  })

  it('shows where a side can’t be read, and loads it on Try again', async () => {
    const { node, notes } = conflictNode({ contents: { '/notes.txt': KEPT_TEXT } })
    const { user, kept, copy } = await openCompare(node)
    const alert = await within(copy).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t show this version')
    expect(alert).toHaveTextContent(`${COPY} is not in the folder on this device`)
    // The other side still shows, without highlights.
    await within(kept).findByRole('region', { name: /^Content: Kept/ })
    expect(highlighted(kept)).toEqual([])

    const sync = node.folders.get(notes.id)?.sync
    if (sync) sync.contents[COPY] = COPY_TEXT
    await user.click(within(copy).getByRole('button', { name: 'Try again' }))
    await within(copy).findByRole('region', { name: /^Content: Conflict copy/ })
    expect(within(copy).queryByRole('alert')).not.toBeInTheDocument()
    expect(highlighted(copy)).toEqual(['rye bread', 'butter'])
  })

  it('keeps the original after a confirmation: the copy is deleted', async () => {
    const { node, notes } = conflictNode()
    const { user, card, conflicts, dialog, kept } = await openCompare(node)
    const keep = within(kept).getByRole('button', { name: 'Keep this version' })
    expect(keep).toHaveAccessibleDescription(/^Kept — notes\.txt/)
    await user.click(keep)
    const confirm = within(dialog).getByRole('group', { name: 'Keep notes.txt as it is?' })
    expect(confirm).toHaveTextContent('The conflict copy will be deleted.')
    const yes = within(confirm).getByRole('button', { name: 'Delete the copy' })
    expect(yes).toHaveFocus()
    expect(yes).toHaveAccessibleDescription('The conflict copy will be deleted.')
    // Cancel changes nothing and goes back to the button.
    await user.click(within(confirm).getByRole('button', { name: 'Cancel' }))
    expect(within(dialog).queryByRole('group')).not.toBeInTheDocument()
    expect(keep).toHaveFocus()
    expect(node.callsOf('folders.resolveConflict')).toEqual([])

    // Escape backs out of the question, not out of the whole comparison.
    await user.click(keep)
    await user.keyboard('{Escape}')
    expect(screen.getByRole('dialog')).toBe(dialog)
    expect(within(dialog).queryByRole('group')).not.toBeInTheDocument()
    expect(keep).toHaveFocus()

    await user.click(keep)
    await user.click(within(dialog).getByRole('button', { name: 'Delete the copy' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument())
    expect(node.callsOf('folders.resolveConflict')).toEqual([
      { id: notes.id, path: COPY, keep: 'original' },
    ])
    expect(await within(conflicts).findByText('No conflicts in this folder.')).toBeInTheDocument()
    expect(within(conflicts).getByRole('status')).toHaveTextContent(
      'Kept notes.txt and deleted the conflict copy.',
    )
    // Its row is gone: focus is on what happened, not lost.
    expect(within(conflicts).getByRole('status')).toHaveFocus()
    expect(within(card).queryByText('1 conflict')).not.toBeInTheDocument()
    const sync = node.folders.get(notes.id)?.sync
    expect(sync?.contents).toEqual({ '/notes.txt': KEPT_TEXT })
  })

  it('keeps the copy after a confirmation: it replaces the original, which stays a version', async () => {
    const { node, notes, me, copyVersion } = conflictNode()
    const { user, card, conflicts, dialog, copy } = await openCompare(node)
    await user.click(within(copy).getByRole('button', { name: 'Keep this version' }))
    const confirm = within(dialog).getByRole('group', { name: 'Keep the conflict copy?' })
    expect(confirm).toHaveTextContent(
      'The copy replaces notes.txt; the current notes.txt stays restorable under Versions.',
    )
    await user.click(within(confirm).getByRole('button', { name: 'Replace notes.txt' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument())
    expect(node.callsOf('folders.resolveConflict')).toEqual([
      { id: notes.id, path: COPY, keep: 'copy' },
    ])
    expect(await within(conflicts).findByText('No conflicts in this folder.')).toBeInTheDocument()
    expect(within(conflicts).getByRole('status')).toHaveTextContent(
      'Kept the conflict copy as notes.txt; the version it replaced is under Versions.',
    )
    const sync = node.folders.get(notes.id)?.sync
    expect(sync?.contents).toEqual({ '/notes.txt': COPY_TEXT })
    const [now, replaced] = sync?.versions['/notes.txt'] ?? []
    expect(now).toMatchObject({ current: true, size: copyVersion.size, device: me.device })
    expect(replaced).toMatchObject({ current: false, size: KEPT_TEXT.length })

    // The replaced version is listed under Versions.
    const versions = within(card).getByRole('region', { name: 'Versions' })
    await user.type(within(versions).getByLabelText('File in the folder'), 'notes.txt{Enter}')
    const list = await within(versions).findByRole('list', { name: 'Versions of notes.txt' })
    expect(within(list).getAllByRole('listitem')).toHaveLength(2)
  })

  it('shows a refused resolve in the dialog and keeps it open', async () => {
    const { node, notes } = conflictNode({
      handlers: {
        'folders.resolveConflict': ({ path }) => {
          throw new ApiError('NOT_FOUND', `${path} is not on this device (yet)`)
        },
      },
    })
    const { user, conflicts, dialog, copy } = await openCompare(node)
    await user.click(within(copy).getByRole('button', { name: 'Keep this version' }))
    await user.click(within(dialog).getByRole('button', { name: 'Replace notes.txt' }))
    const alert = await within(dialog).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t keep this version')
    expect(alert).toHaveTextContent(`${COPY} is not on this device (yet)`)
    expect(screen.getByRole('dialog')).toBe(dialog)
    expect(within(dialog).getByRole('button', { name: 'Replace notes.txt' })).toBeEnabled()
    expect(within(conflicts).getByRole('list', { name: 'Conflicts in Notes' })).toBeInTheDocument()
    expect(node.folders.get(notes.id)?.sync?.contents[COPY]).toBe(COPY_TEXT)

    // Escape backs out of the question, then closes the dialog; nothing changed.
    await user.keyboard('{Escape}')
    expect(within(dialog).queryByRole('group')).not.toBeInTheDocument()
    expect(screen.getByRole('dialog')).toBe(dialog)
    await user.keyboard('{Escape}')
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
    expect(within(conflicts).getByRole('button', { name: /^Compare / })).toHaveFocus()
  })

  it('says when the original was deleted since, and keeping the copy restores it', async () => {
    const { node, notes } = conflictNode({ keptDeleted: true })
    const { user, conflicts, dialog, kept, copy } = await openCompare(node)
    expect(
      within(within(conflicts).getByRole('listitem')).getByText('original deleted'),
    ).toBeInTheDocument()
    expect(kept).toHaveTextContent(
      'The original was deleted since; keeping the copy restores it under its name.',
    )
    expect(within(kept).queryByRole('region')).not.toBeInTheDocument()
    expect(within(kept).queryByText('Size')).not.toBeInTheDocument()
    // Only the copy is read; it has nothing to be compared with.
    await within(copy).findByRole('region', { name: /^Content: Conflict copy/ })
    expect(highlighted(copy)).toEqual([])
    expect(node.callsOf('folders.preview')).toEqual([{ id: notes.id, path: COPY }])

    await user.click(within(kept).getByRole('button', { name: 'Keep it deleted' }))
    expect(
      within(dialog).getByRole('group', { name: 'Keep notes.txt deleted?' }),
    ).toHaveTextContent('The conflict copy will be deleted; notes.txt stays deleted.')
    await user.click(within(dialog).getByRole('button', { name: 'Cancel' }))

    await user.click(within(copy).getByRole('button', { name: 'Keep this version' }))
    const confirm = within(dialog).getByRole('group', { name: 'Keep the conflict copy?' })
    expect(confirm).toHaveTextContent('The copy is restored as notes.txt.')
    await user.click(within(confirm).getByRole('button', { name: 'Restore notes.txt' }))
    await waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument())
    expect(within(conflicts).getByRole('status')).toHaveTextContent(
      'Restored the conflict copy as notes.txt.',
    )
    expect(node.folders.get(notes.id)?.sync?.contents).toEqual({ '/notes.txt': COPY_TEXT })
  })
})
