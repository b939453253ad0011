// The Donate screen's CPU side against the fake node: the live state of donated CPU (donate.get's
// `cpu`, and donate.updated), the CPU limits form, pausing and snoozing donating, and the jobs
// from compute.jobs. Error paths override one method.
import { act, screen, waitFor, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../../shared/contract.ts'
import { formatClock } from '../lib/format.ts'
import {
  FakeNode,
  cpuReadings,
  job,
  renderWithSpare,
  run,
  type FakeCpuReadings,
} from '../test-utils/fake-node.tsx'
import { DonateScreen } from './DonateScreen.tsx'

const MINUTE = 60_000

function setup(node: FakeNode, refreshMs = 0) {
  const user = userEvent.setup()
  const view = renderWithSpare(<DonateScreen refreshMs={refreshMs} />, { node })
  return { user, ...view }
}

/** A node donating 25 % of CPU time on 2 of its 8 cores. */
function donatingNode(cpu: Partial<FakeCpuReadings> = {}) {
  const node = new FakeNode()
  node.donate.limits = { ...node.donate.limits, cpuPercent: 25, cpuCores: 2 }
  node.donate.cpu = cpuReadings(cpu)
  return node
}

const region = (name: string) => screen.getByRole('region', { name })
const input = (name: string) => screen.getByRole('textbox', { name })
const toggle = (name: string) => screen.getByRole('switch', { name })
const save = () => screen.getByRole('button', { name: 'Save CPU limits' })
const summary = () => screen.getByTestId('cpu-summary')
const meter = (name: string) => screen.getByRole('meter', { name })
const stat = (name: string) =>
  within(region('Donated CPU')).getByText(name, { selector: 'dt' }).nextElementSibling

describe('DonateScreen: donated CPU', () => {
  it('donates no CPU at first, and says what to do', async () => {
    const node = new FakeNode()
    setup(node)
    expect(await screen.findByTestId('cpu-summary')).toHaveTextContent(
      'Not donatingNo CPU is donated: set a share of CPU time to donate.',
    )
    expect(summary()).toHaveAttribute('data-state', 'off')
    expect(meter('CPU time used by jobs')).toHaveAttribute('aria-valuetext', 'No CPU donated (0 %)')
    expect(meter('CPU used by other programs')).toHaveAttribute(
      'aria-valuetext',
      '4 % of the computer; jobs wait above 25 % (16 %)',
    )
    expect(stat('Cores for jobs')).toHaveTextContent('1 of 8')
    expect(stat('Idle for')).toHaveTextContent('5 min 0 s')
    expect(stat('Power')).toHaveTextContent('Mains power')
    expect(screen.getByTestId('cpu-probe')).toHaveTextContent(
      'Idle time and power source as reported by Electron powerMonitor.',
    )

    // The fields start at the engine's defaults.
    expect(input('Use at most this much CPU time')).toHaveValue('')
    expect(input('Cores to use')).toHaveValue('1')
    expect(input('Cores to use')).toHaveAccessibleDescription(
      'How many jobs run at once, one core each: 1 to 8 (this computer has 8 cores).',
    )
    expect(toggle('Only when the computer has been idle for')).not.toBeChecked()
    expect(input('Only when the computer has been idle for')).toBeDisabled()
    expect(toggle('Suspend while other programs use more than')).toBeChecked()
    expect(input('Suspend while other programs use more than')).toHaveValue('25%')
    expect(screen.getByRole('checkbox', { name: 'Also on battery power' })).not.toBeChecked()
    expect(input('Daily schedule')).toHaveValue('')
    expect(input('Daily schedule')).toHaveAccessibleDescription(
      /like 09:00-17:00, or mon-fri 18:00-08:00; sat,sun 00:00-24:00\. Empty: at any time\./,
    )
    // Tucked away until asked for.
    expect(screen.queryByRole('textbox', { name: 'Memory per job' })).not.toBeVisible()
    expect(save()).toBeDisabled()

    // Nothing run, nothing submitted: each list says what to do.
    const runs = region('Jobs run for others')
    expect(await within(runs).findByText(/This node runs no jobs for others\./)).toBeVisible()
    expect(runs).toHaveTextContent('0 jobs')
    const submitted = region('Jobs this node submitted')
    expect(within(submitted).getByTestId('submit-command')).toHaveTextContent(
      'spare compute submit MODULE.wasm --input FILE',
    )
    expect(within(submitted).getByRole('button', { name: 'Copy the command' })).toBeVisible()
  })

  it('shows what jobs use against the limits, live', async () => {
    const node = donatingNode({ usedPercent: 12.5, otherPercent: 10, running: 2, queued: 3 })
    setup(node)
    await waitFor(() => expect(summary()).toHaveAttribute('data-state', 'running'))
    expect(summary()).toHaveTextContent('RunningJobs may use 25 % of CPU time on 2 cores.')
    expect(meter('CPU time used by jobs')).toHaveAttribute(
      'aria-valuetext',
      '12.5 % of the 25 % allowed (50 %)',
    )
    expect(region('Donated CPU')).toHaveTextContent('12.5 % of the 25 % allowed')
    expect(stat('Running jobs')).toHaveTextContent('2')
    expect(stat('Waiting jobs')).toHaveTextContent('3')
    expect(stat('Cores for jobs')).toHaveTextContent('2 of 8')

    // The node says what changed: shown at once, without asking again.
    const gets = node.callsOf('donate.get').length
    node.donate.cpu = cpuReadings({ otherPercent: 40, onBattery: true, idleMs: 3_000 })
    node.donate.limits = { ...node.donate.limits, allowOnBattery: true }
    act(() => node.emit('donate.updated', node.donateStatus()))
    expect(summary()).toHaveAttribute('data-state', 'busy')
    expect(summary()).toHaveTextContent(
      'Other programs busyOther programs use 40 % of the CPU, more than 25 %.',
    )
    expect(meter('CPU used by other programs')).toHaveAttribute(
      'aria-valuetext',
      '40 % of the computer; jobs wait above 25 % (100 %)',
    )
    expect(stat('Idle for')).toHaveTextContent('In use now')
    expect(stat('Power')).toHaveTextContent('Battery')
    expect(node.callsOf('donate.get')).toHaveLength(gets)

    // On battery without leave to run there; readings a platform can't give.
    node.donate.limits = { ...node.donate.limits, allowOnBattery: false }
    node.donate.cpu = cpuReadings({
      onBattery: true,
      idleMs: null,
      otherPercent: null,
      probe: '/sys/class/power_supply',
    })
    act(() => node.emit('donate.updated', node.donateStatus()))
    expect(summary()).toHaveAttribute('data-state', 'battery')
    expect(summary()).toHaveTextContent('On battery')
    expect(stat('Idle for')).toHaveTextContent('Unknown')
    expect(meter('CPU used by other programs')).toHaveAttribute(
      'aria-valuetext',
      'No reading yet (0 %)',
    )
    expect(screen.getByTestId('cpu-probe')).toHaveTextContent(
      'as reported by /sys/class/power_supply.',
    )
  })

  it('names each reason jobs wait', async () => {
    const node = donatingNode()
    setup(node)
    await waitFor(() => expect(summary()).toHaveAttribute('data-state', 'running'))
    const cases = [
      [{ onlyIdleMs: 10 * MINUTE }, {}, 'in-use', 'Computer in use'],
      [{ schedule: '22:00-06:00' }, { inSchedule: false }, 'schedule', 'Outside the schedule'],
      [{ suspendAboveOtherPercent: null }, { otherPercent: 90 }, 'running', 'Running'],
    ] as const
    for (const [limits, readings, state, badge] of cases) {
      node.donate.limits = { ...node.donate.limits, ...limits }
      node.donate.cpu = cpuReadings(readings)
      act(() => node.emit('donate.updated', node.donateStatus()))
      expect(summary()).toHaveAttribute('data-state', state)
      expect(within(summary()).getByText(badge)).toBeVisible()
      node.donate.limits = { ...node.donate.limits, onlyIdleMs: null, schedule: null }
    }
    expect(meter('CPU used by other programs')).toHaveAttribute(
      'aria-valuetext',
      '90 % of the computer; jobs never wait for it (90 %)',
    )
  })
})

describe('DonateScreen: CPU limits', () => {
  it('sends only the CPU limits that changed', async () => {
    const node = new FakeNode()
    const { user } = setup(node)
    await user.type(
      await screen.findByRole('textbox', { name: 'Use at most this much CPU time' }),
      '25%',
    )
    await user.clear(input('Cores to use'))
    await user.type(input('Cores to use'), '2')
    await user.click(toggle('Only when the computer has been idle for'))
    await user.type(input('Only when the computer has been idle for'), '3')
    await user.click(toggle('Suspend while other programs use more than'))
    await user.click(screen.getByRole('checkbox', { name: 'Also on battery power' }))
    await user.type(input('Daily schedule'), 'mon-fri 18:00-08:00; sat,sun 00:00-24:00')
    // Retyped as it was: not a change.
    await user.click(screen.getByText('Limits per job'))
    await user.clear(input('Time per job'))
    await user.type(input('Time per job'), '10 min')
    await user.click(save())

    expect(node.callsOf('donate.set')).toEqual([
      {
        cpuPercent: 25,
        cpuCores: 2,
        onlyIdleMs: 180_000,
        suspendAboveOtherPercent: null,
        allowOnBattery: true,
        schedule: 'mon-fri 18:00-08:00; sat,sun 00:00-24:00',
      },
    ])
    expect(await screen.findByText('CPU limits saved.')).toBeInTheDocument()
    expect(input('Use at most this much CPU time')).toHaveValue('25%')
    expect(input('Only when the computer has been idle for')).toHaveValue('3')
    expect(toggle('Suspend while other programs use more than')).not.toBeChecked()
    expect(save()).toBeDisabled()
    expect(summary()).toHaveAttribute('data-state', 'running')

    // Emptied: no CPU donated.
    await user.clear(input('Use at most this much CPU time'))
    await user.click(save())
    expect(node.callsOf('donate.set')).toHaveLength(2)
    expect(node.callsOf('donate.set')[1]).toEqual({ cpuPercent: null })
    await waitFor(() => expect(summary()).toHaveAttribute('data-state', 'off'))
    // The disk form is a form of its own: nothing of it was sent.
    expect(screen.getByRole('button', { name: 'Save limits' })).toBeDisabled()
  })

  it('sets the limits per job, kept under their own heading', async () => {
    const node = new FakeNode()
    const { user } = setup(node)
    const summaryEl = await screen.findByText('Limits per job')
    expect(input('Time per job')).not.toBeVisible()
    await user.click(summaryEl)
    expect(input('Memory per job')).toBeVisible()
    expect(input('Memory per job')).toHaveValue('256 MiB')
    expect(input('Time per job')).toHaveValue('10 min')
    await user.clear(input('Memory per job'))
    await user.type(input('Memory per job'), '1 GiB')
    await user.clear(input('Time per job'))
    await user.type(input('Time per job'), '1 h 30 min')
    await user.click(save())
    expect(node.callsOf('donate.set')).toEqual([{ jobMemoryBytes: 2 ** 30, jobWallMs: 5_400_000 }])
    await screen.findByText('CPU limits saved.')
    expect(input('Time per job')).toHaveValue('1 h 30 min')
  })

  it('refuses what is out of range next to each field, sending nothing', async () => {
    const node = new FakeNode()
    const { user } = setup(node)
    const cases = [
      ['Use at most this much CPU time', '150%', /A share of CPU time must be at most 100 %\.$/],
      ['Cores to use', '9', /This computer has 8 cores: use at most 8\.$/],
      ['Suspend while other programs use more than', 'lots', /Enter a number, optionally/],
    ] as const
    await screen.findByTestId('cpu-summary')
    for (const [name, typed] of cases) {
      await user.clear(input(name))
      await user.type(input(name), typed)
    }
    await user.click(toggle('Only when the computer has been idle for'))
    await user.type(input('Only when the computer has been idle for'), '0')
    await user.click(save())

    for (const [name, typed, message] of cases) {
      expect(input(name)).toHaveAttribute('aria-invalid', 'true')
      expect(input(name)).toHaveAccessibleDescription(message)
      expect(input(name)).toHaveValue(typed)
    }
    expect(input('Only when the computer has been idle for')).toHaveAccessibleDescription(
      /must be more than 0: switch it off to run while in use too\.$/,
    )
    expect(input('Use at most this much CPU time')).toHaveFocus()
    expect(node.callsOf('donate.set')).toEqual([])
  })

  it('opens the limits per job to show a field to fix there', async () => {
    const node = new FakeNode()
    const { user } = setup(node)
    await user.click(await screen.findByText('Limits per job'))
    await user.clear(input('Memory per job'))
    await user.type(input('Memory per job'), '1 MB')
    await user.click(screen.getByText('Limits per job'))
    expect(input('Memory per job')).not.toBeVisible()
    await user.click(save())
    expect(input('Memory per job')).toBeVisible()
    expect(input('Memory per job')).toHaveFocus()
    expect(input('Memory per job')).toHaveAccessibleDescription(
      /A job needs at least 16 MiB of memory\.$/,
    )
    expect(node.callsOf('donate.set')).toEqual([])
  })

  it('shows the engine’s refusal of a schedule at its field and keeps what was typed', async () => {
    const node = new FakeNode()
    const { user } = setup(node)
    await user.type(await screen.findByRole('textbox', { name: 'Daily schedule' }), 'weekdays 9-5')
    await user.type(input('Use at most this much CPU time'), '10')
    await user.click(save())
    await waitFor(() => expect(input('Daily schedule')).toHaveAttribute('aria-invalid', 'true'))
    expect(input('Daily schedule')).toHaveAccessibleDescription(
      /schedule: Invalid schedule 'weekdays 9-5': .* \(for example 'mon-fri 18:00-08:00; sat,sun 00:00-24:00'\)$/,
    )
    expect(input('Daily schedule')).toHaveFocus()
    expect(input('Daily schedule')).toHaveValue('weekdays 9-5')
    expect(within(region('CPU limits')).queryByRole('alert')).not.toBeInTheDocument()
    expect(node.donate.limits.cpuPercent).toBeNull()

    await user.clear(input('Daily schedule'))
    await user.type(input('Daily schedule'), 'mon-fri 09:00-17:00')
    expect(input('Daily schedule')).not.toHaveAttribute('aria-invalid')
    await user.click(save())
    await screen.findByText('CPU limits saved.')
    expect(node.donate.limits).toMatchObject({ cpuPercent: 10, schedule: 'mon-fri 09:00-17:00' })
  })

  it('shows any other refusal at the form', async () => {
    const node = new FakeNode({
      'donate.set': () => {
        throw new ApiError('UNAVAILABLE', 'the node is closing')
      },
    })
    const { user } = setup(node)
    await user.type(
      await screen.findByRole('textbox', { name: 'Use at most this much CPU time' }),
      '50',
    )
    await user.click(save())
    const alert = await within(region('CPU limits')).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t save the CPU limits')
    expect(alert).toHaveTextContent('the node is closing')
    expect(input('Use at most this much CPU time')).toHaveValue('50')
    expect(input('Use at most this much CPU time')).not.toHaveAttribute('aria-invalid')
  })
})

describe('DonateScreen: pause donating', () => {
  it('pauses until resumed and resumes, keeping the keyboard’s place', async () => {
    const node = donatingNode()
    const { user } = setup(node)
    const pause = await screen.findByRole('button', { name: 'Pause donating' })
    await user.click(pause)
    expect(node.callsOf('donate.pause')).toEqual([{}])
    const resume = await screen.findByRole('button', { name: 'Resume donating' })
    expect(screen.getByTestId('donate-paused')).toHaveTextContent(
      'Donating paused until you resume',
    )
    expect(resume).toHaveFocus()
    expect(screen.queryByRole('button', { name: 'Snooze 1 hour' })).not.toBeInTheDocument()
    expect(summary()).toHaveAttribute('data-state', 'paused')

    await user.click(resume)
    expect(node.callsOf('donate.resume')).toEqual([{}])
    expect(await screen.findByRole('button', { name: 'Pause donating' })).toHaveFocus()
    expect(screen.queryByTestId('donate-paused')).not.toBeInTheDocument()
    expect(summary()).toHaveAttribute('data-state', 'running')
  })

  it('snoozes for an hour and says until when', async () => {
    const node = donatingNode()
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Snooze 1 hour' }))
    expect(node.callsOf('donate.pause')).toEqual([{ minutes: 60 }])
    const until = node.donate.pause?.until
    if (typeof until !== 'number') throw new Error('not snoozed')
    expect(until).toBeGreaterThan(Date.now() + 59 * MINUTE)
    const paused = await screen.findByTestId('donate-paused')
    expect(paused).toHaveTextContent(`Donating paused until ${formatClock(until, Date.now())}`)
    expect(within(paused).getByRole('time')).toHaveAttribute(
      'datetime',
      new Date(until).toISOString(),
    )
  })

  it('follows a pause from elsewhere (the tray, the CLI)', async () => {
    const node = donatingNode()
    setup(node)
    await screen.findByRole('button', { name: 'Pause donating' })
    node.donate.pause = { until: null }
    act(() => node.emit('donate.updated', node.donateStatus()))
    expect(screen.getByRole('button', { name: 'Resume donating' })).toBeVisible()
    expect(screen.getByRole('button', { name: 'Resume donating' })).not.toHaveFocus()
  })

  it('says when the node refuses', async () => {
    const node = donatingNode()
    node.handlers['donate.pause'] = () => {
      throw new ApiError('UNAVAILABLE', 'the node is closing')
    }
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Snooze 1 hour' }))
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t snooze donating')
    expect(alert).toHaveTextContent('the node is closing')
    expect(screen.getByRole('button', { name: 'Pause donating' })).toBeEnabled()
  })

  it('drops a failure once donating is paused after all (from elsewhere, or the answer was lost)', async () => {
    const node = donatingNode()
    node.handlers['donate.pause'] = () => {
      throw new ApiError(
        'UNAVAILABLE',
        'The connection to the Spare node dropped before it answered.',
      )
    }
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'Pause donating' }))
    expect(await screen.findByRole('alert')).toHaveTextContent('Couldn’t pause donating')
    node.donate.pause = { until: null }
    act(() => node.emit('donate.updated', node.donateStatus()))
    expect(screen.getByRole('button', { name: 'Resume donating' })).toBeVisible()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })
})

describe('DonateScreen: jobs', () => {
  it('lists the jobs run for others and the ones this node submitted', async () => {
    const node = donatingNode()
    const submitter = 'ab'.repeat(32)
    node.compute.run = [
      run({ submitter, state: 'running', cpuMs: 42_000, credited: null, finishedAt: null }),
      run({ state: 'done', cpuMs: 125_000, credited: true }),
      run({ state: 'done', credited: false }),
      run({
        state: 'failed',
        credited: null,
        cpuMs: 600,
        error: { kind: 'timeout', message: 'over 600000 ms of wall time' },
      }),
    ]
    const done = job({ name: 'primes.wasm' })
    const outvoted = job({
      name: 'render.wasm',
      state: 'running',
      resultHash: null,
      outputBytes: null,
      donors: [
        { ...(done.donors[0] as (typeof done.donors)[number]), state: 'answered' },
        { ...(done.donors[1] as (typeof done.donors)[number]), state: 'running' },
        { ...(done.donors[2] as (typeof done.donors)[number]), state: 'sent' },
      ],
    })
    const failed = job({
      name: '',
      state: 'failed',
      resultHash: null,
      outputBytes: null,
      error: { kind: 'no-donors', message: 'no donor took the job in 10 minutes' },
      donors: [],
    })
    node.compute.submitted = [done, outvoted, failed]
    setup(node)

    const runs = await screen.findByRole('table', { name: 'Jobs run for others' })
    expect(
      within(runs)
        .getAllByRole('columnheader')
        .map((th) => th.textContent),
    ).toEqual(['Submitter', 'State', 'CPU time', 'Credited', 'Since', 'Error'])
    const cells = (row: HTMLElement) =>
      within(row)
        .getAllByRole('cell')
        .map((td) => td.textContent)
    const [, first, second, third, fourth] = within(runs).getAllByRole('row')
    expect(cells(first as HTMLElement).slice(0, 4)).toEqual([
      `${submitter.slice(0, 8)}…`,
      'Running',
      '42 s',
      'Pending',
    ])
    expect(within(first as HTMLElement).getByTitle(submitter)).toBeVisible()
    expect(cells(second as HTMLElement).slice(1, 4)).toEqual(['Done', '2 min 5 s', 'Yes'])
    expect(cells(third as HTMLElement)[3]).toBe('No: outvoted')
    expect(cells(fourth as HTMLElement).slice(1, 4)).toEqual(['Failed', '600 ms', 'No'])
    expect(cells(fourth as HTMLElement)[5]).toBe('Took too long: over 600000 ms of wall time')
    expect(region('Jobs run for others')).toHaveTextContent('4 jobs')

    const mine = screen.getByRole('table', { name: 'Jobs this node submitted' })
    const row = (id: string) => within(mine).getByRole('row', { name: `Job ${id}` })
    expect(cells(row(done.id))).toEqual([
      `primes.wasm${done.id.slice(0, 12)}…`,
      'Done',
      '3 agreed2 of 3 must agree',
      `${done.resultHash?.slice(0, 12)}…64 B`,
      '20 minutes ago',
      '—',
    ])
    expect(cells(row(outvoted.id)).slice(1, 4)).toEqual([
      'Running',
      '1 answered · 1 running · 1 sent2 of 3 must agree',
      '—',
    ])
    expect(cells(row(failed.id))[0]).toMatch(/^Unnamed job/)
    expect(cells(row(failed.id))[2]).toMatch(/^None yet/)
    expect(cells(row(failed.id))[5]).toBe('No donor took it: no donor took the job in 10 minutes')
  })

  it('refreshes the jobs on job.updated and says when they can’t be loaded', async () => {
    const node = donatingNode()
    setup(node)
    expect(await screen.findByText(/No jobs run for others yet\./)).toBeVisible()
    const submitted = job({ name: 'new.wasm', state: 'waiting', resultHash: null, donors: [] })
    node.compute.submitted = [submitted]
    act(() => node.emit('job.updated', submitted))
    expect(await within(region('Jobs this node submitted')).findByText('new.wasm')).toBeVisible()
    expect(region('Jobs this node submitted')).toHaveTextContent('Waiting for donors')

    node.handlers['compute.jobs'] = () => {
      throw new ApiError('INTERNAL', 'the job store is closed')
    }
    act(() => node.emit('job.updated', submitted))
    const alert = await within(region('Jobs run for others')).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t refresh the jobs')
    expect(alert).toHaveTextContent('the job store is closed')
    // What was shown stays, and the rest of the screen works.
    expect(within(region('Jobs this node submitted')).getByText('new.wasm')).toBeVisible()
    expect(screen.getByRole('button', { name: 'Pause donating' })).toBeEnabled()
  })

  it('loads the rest of the screen when the node has no jobs to tell', async () => {
    const node = donatingNode()
    node.handlers['compute.jobs'] = () => {
      throw new ApiError('NOT_FOUND', 'no method compute.jobs')
    }
    const { user } = setup(node)
    const runs = await screen.findByRole('region', { name: 'Jobs run for others' })
    const alert = await within(runs).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t load the jobs')
    expect(summary()).toHaveAttribute('data-state', 'running')
    node.handlers['compute.jobs'] = () => ({ submitted: [], run: [run()] })
    await user.click(within(alert).getByRole('button', { name: 'Try again' }))
    expect(await screen.findByRole('table', { name: 'Jobs run for others' })).toBeVisible()
  })
})
