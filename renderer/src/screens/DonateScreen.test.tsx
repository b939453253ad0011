// The Donate screen against the fake node's own donate.get / donate.set (limits, the engine's disk
// budget and eviction); error paths override one method.
import { act, screen, waitFor, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../../shared/contract.ts'
import {
  FakeNode,
  defaultLimits,
  folder,
  hosted,
  nodeStatus,
  renderWithSpare,
} from '../test-utils/fake-node.tsx'
import { DonateScreen } from './DonateScreen.tsx'

const HOUR = 3_600_000

function setup(node: FakeNode, refreshMs = 0) {
  const user = userEvent.setup()
  const view = renderWithSpare(<DonateScreen refreshMs={refreshMs} />, { node })
  return { user, ...view }
}

/** A node donating with all three disk limits on, keeping two folders for others. */
function donatingNode(handlers: ConstructorParameters<typeof FakeNode>[0] = {}) {
  const node = new FakeNode(handlers)
  const photos = hosted({
    folder: '00aa00aa00aa00aa',
    owner: 'ab'.repeat(32),
    bytes: 4e9,
    agreedBytes: 10e9,
    cores: 3,
    lastNeededAt: Date.now() - 2 * HOUR,
  })
  const backups = hosted({
    folder: '00bb00bb00bb00bb',
    owner: 'cd'.repeat(32),
    bytes: 6e9,
    agreedBytes: 5e9,
    cores: 1,
    lastNeededAt: Date.now() - 30 * 24 * HOUR,
  })
  node.donate = {
    ...node.donate,
    limits: {
      ...defaultLimits(),
      diskBytes: 50e9,
      diskPercent: 20,
      leaveFreeBytes: 10e9,
      upBytesPerSec: 2e6,
      downBytesPerSec: null,
    },
    fs: { total: 500e9, free: 200e9 },
    hosting: [photos, backups],
  }
  return { node, photos, backups }
}

const region = (name: string) => screen.getByRole('region', { name })
const input = (name: string) => screen.getByRole('textbox', { name })
const toggle = (name: string) => screen.getByRole('switch', { name })
const save = () => screen.getByRole('button', { name: 'Save limits' })

describe('DonateScreen: usage', () => {
  it('says nothing is donated until a disk limit is set, with every limit off', async () => {
    const node = new FakeNode()
    setup(node)
    expect(await screen.findByTestId('donate-summary')).toHaveTextContent(
      'Donating nothing until you set a disk limit.',
    )
    const rules = within(region('Donated disk')).getByRole('list', { name: 'Disk limits' })
    for (const name of ['Size limit', 'Share of the disk', 'Leave free']) {
      const row = within(rules).getByRole('listitem', { name })
      expect(row).toHaveTextContent('Off')
      expect(within(row).queryByRole('meter')).not.toBeInTheDocument()
      expect(within(row).queryByText('Binding')).not.toBeInTheDocument()
    }
    expect(screen.getByRole('meter', { name: 'Disk space used' })).toHaveAttribute(
      'aria-valuetext',
      '300 GB used, 200 GB free of 500 GB (60 %)',
    )
    expect(region('Donated disk')).toHaveTextContent('Donating up toNothing')

    for (const name of ['Size limit', 'Share of the disk', 'Leave free', 'Upload limit']) {
      expect(toggle(name)).not.toBeChecked()
      expect(input(name)).toBeDisabled()
    }
    expect(save()).toBeDisabled()
    expect(region('Kept for others')).toHaveTextContent(/keeps no folders for others\. Set a disk/)
    expect(region('Kept for others')).toHaveTextContent('0 folders · 0 B')
  })

  it('shows usage against each rule, the binding one, and the folders kept for others', async () => {
    const { node } = donatingNode()
    setup(node)
    const summary = await screen.findByTestId('donate-summary')
    expect(summary).toHaveTextContent(
      'Donating up to 50 GB, set by the size limit, the smallest of the limits that are on. 10 GB used (20 %).',
    )
    expect(screen.getByRole('meter', { name: 'Donated disk used' })).toHaveAttribute(
      'aria-valuenow',
      '20',
    )
    const rules = screen.getByRole('list', { name: 'Disk limits' })
    const size = within(rules).getByRole('listitem', { name: 'Size limit' })
    expect(size).toHaveTextContent('Binding')
    expect(size).toHaveTextContent('at most 50 GB')
    expect(within(size).getByRole('meter')).toHaveAttribute(
      'aria-valuetext',
      '10 GB of 50 GB (20 %)',
    )
    const share = within(rules).getByRole('listitem', { name: 'Share of the disk' })
    expect(share).not.toHaveTextContent('Binding')
    expect(share).toHaveTextContent('at most 20 % of the disk')
    expect(within(share).getByRole('meter')).toHaveAttribute(
      'aria-valuetext',
      '10 GB of 100 GB (10 %)',
    )
    // Leave free: hosted data may grow while 10 GB stay free: 10 GB used + 190 GB.
    const free = within(rules).getByRole('listitem', { name: 'Leave free' })
    expect(free).toHaveTextContent('keep 10 GB free')
    expect(within(free).getByRole('meter')).toHaveAttribute(
      'aria-valuetext',
      '10 GB of 200 GB (5 %)',
    )

    const kept = within(region('Kept for others')).getByRole('list', {
      name: 'Folders kept for others',
    })
    const photos = within(kept).getByRole('listitem', { name: 'Folder 00aa00aa00aa00aa' })
    expect(photos).toHaveTextContent(`For ${'ab'.repeat(6)}…`)
    expect(within(photos).getByTitle('ab'.repeat(32))).toBeInTheDocument()
    expect(photos).toHaveTextContent('4 GB of 10 GB agreed')
    expect(photos).toHaveTextContent('3 cores')
    expect(photos).toHaveTextContent('Last needed 2 hours ago')
    expect(photos).not.toHaveTextContent('Over agreed')
    const backups = within(kept).getByRole('listitem', { name: 'Folder 00bb00bb00bb00bb' })
    expect(backups).toHaveTextContent('6 GB of 5 GB agreed')
    expect(backups).toHaveTextContent('Over agreed')
    expect(backups).toHaveTextContent('1 core ')
    expect(backups).toHaveTextContent('Last needed 30 days ago')
    expect(region('Kept for others')).toHaveTextContent('2 folders · 10 GB')

    // The fields start at the node's limits, as text that parses back to them.
    expect(input('Size limit')).toHaveValue('50 GB')
    expect(input('Share of the disk')).toHaveValue('20%')
    expect(input('Leave free')).toHaveValue('10 GB')
    expect(input('Upload limit')).toHaveValue('2 MB/s')
    expect(toggle('Download limit')).not.toBeChecked()
    expect(input('Download limit')).toHaveValue('')
    expect(save()).toBeDisabled()
  })

  it('marks a rule whose cap is below the usage', async () => {
    const { node } = donatingNode()
    node.donate.limits = { ...node.donate.limits, diskBytes: null, diskPercent: 1 }
    setup(node)
    const rules = await screen.findByRole('list', { name: 'Disk limits' })
    const share = within(rules).getByRole('listitem', { name: 'Share of the disk' })
    expect(share).toHaveTextContent('Binding')
    expect(share).toHaveTextContent('Over by 5 GB')
    expect(within(rules).getByRole('listitem', { name: 'Size limit' })).toHaveTextContent('Off')
  })
})

describe('DonateScreen: limits', () => {
  it('sends only the limits that changed and shows the node’s answer', async () => {
    const { node } = donatingNode()
    const { user } = setup(node)
    await user.clear(await screen.findByRole('textbox', { name: 'Size limit' }))
    await user.type(input('Size limit'), '1.5 TiB')
    await user.click(toggle('Download limit'))
    expect(input('Download limit')).toBeEnabled()
    await user.type(input('Download limit'), '500 KiB/s')
    // Retyped as it was: not a change.
    await user.clear(input('Share of the disk'))
    await user.type(input('Share of the disk'), '20')
    expect(save()).toBeEnabled()
    await user.click(save())

    expect(node.callsOf('donate.set')).toEqual([
      { diskBytes: 1.5 * 2 ** 40, downBytesPerSec: 512_000 },
    ])
    expect(await screen.findByText('Limits saved.')).toBeInTheDocument()
    // Now the share of the disk (100 GB) is the smallest.
    expect(screen.getByTestId('donate-summary')).toHaveTextContent(
      'Donating up to 100 GB, set by the share of the disk',
    )
    expect(input('Size limit')).toHaveValue('1.5 TiB')
    // What the node answered, in words that parse back to it.
    expect(input('Download limit')).toHaveValue('512 kB/s')
    expect(input('Share of the disk')).toHaveValue('20%')
    expect(save()).toBeDisabled()
    expect(node.donate.limits.downBytesPerSec).toBe(512_000)
  })

  it('turns limits off with the switch or by typing off', async () => {
    const { node } = donatingNode()
    const { user } = setup(node)
    await user.click(await screen.findByRole('switch', { name: 'Leave free' }))
    expect(toggle('Leave free')).not.toBeChecked()
    expect(input('Leave free')).toBeDisabled()
    await user.clear(input('Upload limit'))
    await user.type(input('Upload limit'), 'off')
    await user.click(save())
    expect(node.callsOf('donate.set')).toEqual([{ leaveFreeBytes: null, upBytesPerSec: null }])
    await screen.findByText('Limits saved.')
    expect(toggle('Upload limit')).not.toBeChecked()
    expect(toggle('Leave free')).not.toBeChecked()
    const rules = screen.getByRole('list', { name: 'Disk limits' })
    expect(within(rules).getByRole('listitem', { name: 'Leave free' })).toHaveTextContent('Off')

    // Switched on again, the field starts empty rather than with "off".
    await user.click(toggle('Upload limit'))
    expect(input('Upload limit')).toHaveValue('')
    await user.click(save())
    expect(screen.getByText('Enter a rate, like 2MB/s or 500 KiB/s, or off.')).toBeInTheDocument()
    expect(node.callsOf('donate.set')).toHaveLength(1)
  })

  it('refuses what it can’t read next to each field, sending nothing', async () => {
    const { node } = donatingNode()
    const { user } = setup(node)
    const cases = [
      ['Size limit', '50G', /Unknown unit “G”: use kB, MB, GB, TB \(decimal\)/],
      ['Leave free', '-5GB', /A size can’t be negative\.$/],
      ['Share of the disk', '150%', /A percentage must be at most 100\.$/],
      ['Upload limit', '0', /A rate must be more than 0: use off for no limit\.$/],
    ] as const
    await screen.findByTestId('donate-summary')
    for (const [name, typed] of cases) {
      await user.clear(input(name))
      await user.type(input(name), typed)
    }
    await user.click(toggle('Download limit'))
    await user.type(input('Download limit'), 'fast')
    await user.click(save())

    for (const [name, typed, message] of cases) {
      const field = input(name)
      expect(field).toHaveAttribute('aria-invalid', 'true')
      expect(field).toHaveAccessibleDescription(message)
      expect(field).toHaveValue(typed)
    }
    expect(input('Download limit')).toHaveAccessibleDescription(
      /Enter a number with a unit, like 2MB\/s or 500 KiB\/s\./,
    )
    // Focus goes to the first field to fix.
    expect(input('Size limit')).toHaveFocus()
    expect(node.callsOf('donate.set')).toEqual([])

    // Fixing one field clears its error only.
    await user.clear(input('Size limit'))
    await user.type(input('Size limit'), '50GB')
    expect(input('Size limit')).not.toHaveAttribute('aria-invalid')
    expect(input('Leave free')).toHaveAttribute('aria-invalid', 'true')
  })

  it('warns before a save that drops folders kept for others, and drops them', async () => {
    const { node } = donatingNode()
    const { user } = setup(node)
    await user.clear(await screen.findByRole('textbox', { name: 'Size limit' }))
    await user.type(input('Size limit'), '5GB')
    expect(screen.getByText(/this node can keep 5 GB, less than the 10 GB/)).toBeInTheDocument()
    await user.click(save())
    expect(node.callsOf('donate.set')).toEqual([{ diskBytes: 5e9 }])
    await screen.findByText('Limits saved.')
    // The least recently needed folder goes first; the other one fits.
    const kept = screen.getByRole('list', { name: 'Folders kept for others' })
    expect(within(kept).getAllByRole('listitem')).toHaveLength(1)
    expect(within(kept).getByRole('listitem', { name: 'Folder 00aa00aa00aa00aa' })).toBeVisible()
    expect(screen.queryByText(/less than the/)).not.toBeInTheDocument()

    // Every disk limit off: nothing is donated, and the warning says so.
    for (const name of ['Size limit', 'Share of the disk', 'Leave free']) {
      await user.click(toggle(name))
    }
    expect(
      screen.getByText(
        'With no disk limit this node donates nothing: the 1 folder it keeps for others will be dropped.',
      ),
    ).toBeInTheDocument()
  })

  it('warns only about an edit that drops folders, not about usage already over the limits', async () => {
    const { node } = donatingNode()
    // 10 GB kept against an 8 GB limit: already over, with nothing edited.
    node.donate = { ...node.donate, limits: { ...node.donate.limits, diskBytes: 8e9 } }
    const { user } = setup(node)
    const size = await screen.findByRole('textbox', { name: 'Size limit' })
    expect(size).toHaveValue('8 GB')
    expect(screen.queryByText(/less than the/)).not.toBeInTheDocument()
    // Raising the limit drops nothing more.
    await user.clear(size)
    await user.type(size, '9GB')
    expect(screen.queryByText(/less than the/)).not.toBeInTheDocument()
    // Lowering it does.
    await user.clear(size)
    await user.type(size, '6GB')
    expect(screen.getByText(/this node can keep 6 GB, less than the 10 GB/)).toBeInTheDocument()
  })

  it('shows the node’s refusal near the form and keeps what was typed', async () => {
    const { node } = donatingNode({
      'donate.set': () => {
        throw new ApiError('UNAVAILABLE', 'the node is closing')
      },
    })
    const { user } = setup(node)
    await user.clear(await screen.findByRole('textbox', { name: 'Upload limit' }))
    await user.type(input('Upload limit'), '4MB/s')
    await user.click(save())
    const alert = await within(region('Disk and bandwidth limits')).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t save the limits')
    expect(alert).toHaveTextContent('the node is closing')
    expect(input('Upload limit')).toHaveValue('4MB/s')
    expect(save()).toBeEnabled()
    expect(screen.queryByText('Limits saved.')).not.toBeInTheDocument()

    // Discard goes back to the node's values.
    await user.click(screen.getByRole('button', { name: 'Discard changes' }))
    expect(input('Upload limit')).toHaveValue('2 MB/s')
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('follows limits changed elsewhere in untouched fields only', async () => {
    const { node } = donatingNode()
    const { user } = setup(node)
    await user.clear(await screen.findByRole('textbox', { name: 'Upload limit' }))
    await user.type(input('Upload limit'), '3MB/s')
    // `spare donate set --disk 80GB --down 1MB/s` meanwhile; a folder event triggers a refresh.
    node.donate.limits = { ...node.donate.limits, diskBytes: 80e9, downBytesPerSec: 1e6 }
    act(() => node.emit('folder.updated', folder()))
    await waitFor(() => expect(input('Size limit')).toHaveValue('80 GB'))
    expect(input('Download limit')).toHaveValue('1 MB/s')
    expect(input('Upload limit')).toHaveValue('3MB/s')
  })
})

describe('DonateScreen: loading', () => {
  it('refreshes on node.updated and folder.updated', async () => {
    const { node } = donatingNode()
    setup(node)
    await screen.findByRole('listitem', { name: 'Folder 00aa00aa00aa00aa' })
    node.donate.hosting = [...node.donate.hosting, hosted({ folder: '00cc00cc00cc00cc' })]
    act(() => node.emit('node.updated', nodeStatus()))
    expect(
      await screen.findByRole('listitem', { name: 'Folder 00cc00cc00cc00cc' }),
    ).toBeInTheDocument()
    node.donate.hosting = []
    act(() => node.emit('folder.updated', folder()))
    expect(await screen.findByText(/keeps no folders for others yet/)).toBeInTheDocument()
  })

  it('polls like the Network screen', async () => {
    const node = new FakeNode()
    setup(node, 30)
    await waitFor(() => expect(node.callsOf('donate.get').length).toBeGreaterThanOrEqual(3))
  })

  it('shows a load failure and recovers with Try again', async () => {
    let fail = true
    const node = new FakeNode()
    node.handlers['donate.get'] = () => {
      if (fail) throw new ApiError('UNAVAILABLE', 'the node is not open')
      return node.donateStatus()
    }
    const { user } = setup(node)
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t load the donation status')
    expect(alert).toHaveTextContent('the node is not open')
    expect(
      screen.queryByRole('region', { name: 'Disk and bandwidth limits' }),
    ).not.toBeInTheDocument()
    fail = false
    await user.click(screen.getByRole('button', { name: 'Try again' }))
    expect(await screen.findByTestId('donate-summary')).toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('keeps the last status when a refresh fails', async () => {
    const { node } = donatingNode()
    setup(node)
    await screen.findByTestId('donate-summary')
    node.handlers['donate.get'] = () => {
      throw new ApiError('INTERNAL', 'statfs failed')
    }
    act(() => node.emit('node.updated', nodeStatus()))
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t refresh the donation status')
    expect(screen.getByTestId('donate-summary')).toHaveTextContent('Donating up to 50 GB')
  })
})

describe('DonateScreen: the fake node', () => {
  it('checks donate params with the contract and refuses a rate of 0 as the engine does', async () => {
    const node = new FakeNode()
    await expect(node.client.call('donate.set', { diskPercent: 0 })).rejects.toMatchObject({
      code: 'BAD_INPUT',
    })
    await expect(
      node.client.call('donate.set', { diskBytes: 1.5 } as { diskBytes: number }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT' })
    await expect(node.client.call('donate.set', { upBytesPerSec: 0 })).rejects.toMatchObject({
      code: 'INTERNAL',
    })
    expect(node.donate.limits.upBytesPerSec).toBeNull()
    await expect(node.client.call('donate.set', { diskPercent: 10 })).resolves.toMatchObject({
      disk: { budget: 50e9, binding: 'percent' },
    })
  })
})
