// End-to-end test of donating CPU through the web UI: a real daemon on a local HyperDHT testnet,
// driven in Debian's Chromium. A CPU limit set on the Donate screen is what `spare donate --json`
// reports; a schedule the engine can't read is refused at its field; pausing, snoozing and resuming
// donating from the screen reach the node, and a resume from the CLI reaches the screen.
// A job submitted from the screen (module and input chosen as files) runs on a donor daemon, and
// its output shows in the job's detail and saves as a download.
// Screenshots of the Donate screen's CPU part (wide, narrow, dark), the submit dialog and a job's
// detail land in test/e2e/screenshots/.
//   /work/shared/tools/offline npx vitest run --project e2e test/e2e/donate.test.ts
import { promises as fs } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Locator, Page } from 'playwright-core'
import type { DonateStatus, JobSummary } from '../../shared/contract.ts'
import { startDaemon, type TestDaemon } from '../helpers/daemon.ts'
import { REVERSE, assemble } from '../helpers/hostile-modules.ts'
import { openUi, screenshot, textOf, useE2eSuite } from './browser.ts'

// One testnet and one browser for the file; daemons, contexts and folders are per test.
const e2e = useE2eSuite()

async function donateStatus(daemon: TestDaemon): Promise<DonateStatus> {
  return daemon.json<DonateStatus>(['donate'])
}

/** Opens the Donate screen and waits for the CPU state. */
async function openDonate(page: Page): Promise<void> {
  await page.getByRole('link', { name: 'Donate' }).click()
  await page.getByRole('heading', { level: 1, name: 'Donate' }).waitFor()
  await page.getByTestId('cpu-summary').waitFor()
}

/**
 * Scrolls `target` to the top of the app's scrolling main area (as far as it goes), for a
 * screenshot. scrollIntoView also scrolls the page itself when the main area can't go further,
 * which the app never does: that is undone.
 */
async function scrollToTop(target: Locator): Promise<void> {
  await target.evaluate((el) => {
    el.scrollIntoView({ block: 'start' })
    document.documentElement.scrollTop = 0
    document.body.scrollTop = 0
  })
}

/** Scrolls the "Donated CPU" panel to the top, for a screenshot of the CPU part. */
async function showCpuPart(page: Page): Promise<void> {
  await scrollToTop(page.getByRole('region', { name: 'Donated CPU' }))
}

describe('web UI: donating CPU', () => {
  it('sets a CPU limit, refuses a bad schedule, and pauses and resumes donating', async () => {
    const daemon = await startDaemon(e2e.cleanup, e2e.network)
    const ui = await openUi(e2e.browser, e2e.cleanup, daemon, { colorScheme: 'light' })
    const page = ui.page
    await openDonate(page)
    const summary = page.getByTestId('cpu-summary')
    expect(await summary.getAttribute('data-state')).toBe('off')
    expect((await donateStatus(daemon)).limits.cpuPercent).toBeNull()

    // Donate a quarter of the CPU time: `spare donate` reports it.
    const cpuField = page.getByRole('textbox', { name: 'Use at most this much CPU time' })
    await cpuField.fill('25')
    await page.getByRole('button', { name: 'Save CPU limits' }).click()
    await page.getByText('CPU limits saved.').waitFor()
    expect(await cpuField.inputValue()).toBe('25%')
    const saved = await donateStatus(daemon)
    expect(saved.limits.cpuPercent).toBe(25)
    // Only what changed was sent: the engine's defaults stay.
    expect(saved.limits).toMatchObject({ cpuCores: 1, suspendAboveOtherPercent: 25 })
    await expect.poll(() => summary.getAttribute('data-state')).not.toBe('off')
    expect(await textOf(page.getByTestId('cpu-probe'))).toMatch(
      /^Idle time and power source as reported by \S/,
    )
    await showCpuPart(page)
    await screenshot(page, 'donate-cpu')

    // A schedule the engine can't read: its refusal shows at the field, and nothing changes.
    const schedule = page.getByRole('textbox', { name: 'Daily schedule' })
    await schedule.fill('mon-fri 9-17')
    await page.getByRole('button', { name: 'Save CPU limits' }).click()
    await expect.poll(() => schedule.getAttribute('aria-invalid')).toBe('true')
    const describedBy = (await schedule.getAttribute('aria-describedby')) ?? ''
    const errorId = describedBy.split(' ').find((id) => id.endsWith('-error'))
    expect(errorId).toBeTruthy()
    expect(await textOf(page.locator(`[id="${errorId}"]`))).toMatch(/schedule/i)
    expect(await schedule.inputValue()).toBe('mon-fri 9-17')
    expect((await donateStatus(daemon)).limits.schedule).toBeNull()
    await schedule.evaluate((el) => {
      el.scrollIntoView({ block: 'center' })
      document.documentElement.scrollTop = 0
    })
    await screenshot(page, 'donate-cpu-schedule-error')
    await schedule.fill('mon-fri 18:00-08:00; sat,sun 00:00-24:00')
    await page.getByRole('button', { name: 'Save CPU limits' }).click()
    await page.getByText('CPU limits saved.').waitFor()
    expect((await donateStatus(daemon)).limits.schedule).toBe(
      'mon-fri 18:00-08:00; sat,sun 00:00-24:00',
    )

    // Pause until resumed, from the header.
    await page.getByRole('button', { name: 'Pause donating' }).click()
    const paused = page.getByTestId('donate-paused')
    await paused.waitFor()
    expect(await textOf(paused)).toBe('Donating paused until you resume')
    expect((await donateStatus(daemon)).pause).toEqual({ until: null })
    await expect.poll(() => summary.getAttribute('data-state')).toBe('paused')
    await page.getByRole('button', { name: 'Resume donating' }).click()
    await page.getByRole('button', { name: 'Pause donating' }).waitFor()
    expect((await donateStatus(daemon)).pause).toBeNull()

    // Snooze for an hour: until when shows in the header.
    const before = Date.now()
    await page.getByRole('button', { name: 'Snooze 1 hour' }).click()
    await paused.waitFor()
    const until = (await donateStatus(daemon)).pause?.until ?? 0
    expect(until).toBeGreaterThanOrEqual(before + 60 * 60_000 - 1000)
    expect(until).toBeLessThanOrEqual(Date.now() + 60 * 60_000)
    expect(await textOf(paused)).toMatch(/^Donating paused until \S/)
    expect(await paused.locator('time').getAttribute('datetime')).toBe(
      new Date(until).toISOString(),
    )
    await page.locator('main').evaluate((el) => el.scrollTo(0, 0))
    await screenshot(page, 'donate-snoozed')

    // No jobs yet: the lists say what to do.
    const runs = page.getByRole('region', { name: 'Jobs run for others' })
    await runs.getByText(/No jobs run for others yet\./).waitFor()
    expect(await textOf(page.getByTestId('submit-command'))).toBe(
      'spare compute submit MODULE.wasm --input FILE',
    )
    await scrollToTop(runs)
    await screenshot(page, 'donate-jobs')

    // Resumed from the CLI: the screen hears it.
    expect((await daemon.cli(['donate', 'resume'])).code).toBe(0)
    await page.getByRole('button', { name: 'Pause donating' }).waitFor()
    await paused.waitFor({ state: 'detached' })

    // The same screen narrow (a phone, or 200 % zoom) and dark.
    const narrow = await openUi(e2e.browser, e2e.cleanup, daemon, {
      viewport: { width: 390, height: 844 },
      colorScheme: 'light',
    })
    await openDonate(narrow.page)
    await showCpuPart(narrow.page)
    await screenshot(narrow.page, 'donate-cpu-narrow')
    await scrollToTop(narrow.page.getByRole('region', { name: 'CPU limits' }))
    await screenshot(narrow.page, 'donate-cpu-limits-narrow')
    const dark = await openUi(e2e.browser, e2e.cleanup, daemon, { colorScheme: 'dark' })
    await openDonate(dark.page)
    await showCpuPart(dark.page)
    await screenshot(dark.page, 'donate-cpu-dark')

    expect(ui.problems).toEqual([])
    expect(narrow.problems).toEqual([])
    expect(dark.problems).toEqual([])
  })
})

describe('web UI: submitting a compute job', () => {
  it('submits a module and input chosen as files, and shows and saves the output', async () => {
    const [submitter, donor] = await Promise.all([
      startDaemon(e2e.cleanup, e2e.network),
      startDaemon(e2e.cleanup, e2e.network),
    ])
    // A donor that runs jobs whatever else the (shared, busy) test machine does.
    const st = await donor.json<DonateStatus>([
      'donate',
      'set',
      '--cpu',
      '100',
      '--suspend-above',
      'off',
      '--on-battery',
      'yes',
    ])
    expect(st.cpu.blockedBy).toBeNull()
    const ui = await openUi(e2e.browser, e2e.cleanup, submitter, { colorScheme: 'light' })
    const page = ui.page
    await openDonate(page)
    await page.getByRole('button', { name: 'Submit a job' }).click()
    const dialog = page.getByRole('dialog', { name: 'Submit a job' })
    const moduleField = dialog.getByLabel('Module')

    // A file that isn't WebAssembly is refused in the page, before anything is sent.
    await moduleField.setInputFiles({
      name: 'notes.wasm',
      mimeType: 'application/wasm',
      buffer: Buffer.from('not a module'),
    })
    await dialog.getByRole('button', { name: 'Submit' }).click()
    await dialog.getByText(/notes\.wasm is not a WebAssembly module/).waitFor()
    await screenshot(page, 'donate-submit-job-error')

    // The reverse sample: writes its input back to front.
    await moduleField.setInputFiles({
      name: 'reverse.wasm',
      mimeType: 'application/wasm',
      buffer: await assemble(REVERSE),
    })
    expect(await dialog.getByLabel('Name').inputValue()).toBe('reverse.wasm')
    await dialog.getByLabel('Input (optional)').setInputFiles({
      name: 'word.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('!erapS morf olleH'),
    })
    await dialog.getByLabel('Donors (replicas)').fill('1')
    await dialog.getByLabel('Time per donor').fill('2 min')
    await screenshot(page, 'donate-submit-job')
    await dialog.getByRole('button', { name: 'Submit' }).click()

    // The job's detail opens and shows the output once the donor has run it.
    const detail = page.getByRole('dialog', { name: 'reverse.wasm' })
    const output = detail.getByTestId('job-output')
    await output.waitFor({ timeout: 90_000 })
    expect(await textOf(output)).toBe('Hello from Spare!')
    const jobs = await submitter.json<{ submitted: JobSummary[] }>(['compute', 'jobs'])
    expect(jobs.submitted).toHaveLength(1)
    const job = jobs.submitted[0]!
    expect(job).toMatchObject({ name: 'reverse.wasm', state: 'done', replicas: 1, quorum: 1 })
    expect(await textOf(detail.getByTestId('job-result-hash'))).toBe(job.resultHash)
    await detail.getByText('Agreed').waitFor()
    await screenshot(page, 'donate-job-detail')

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      detail.getByRole('button', { name: 'Save output' }).click(),
    ])
    expect(download.suggestedFilename()).toBe('reverse.out')
    expect(await fs.readFile(await download.path(), 'utf8')).toBe('Hello from Spare!')

    // Closed, the list has it, done.
    await detail.getByRole('button', { name: 'Close' }).first().click()
    const list = page.getByRole('table', { name: 'Jobs this node submitted' })
    await list.getByRole('button', { name: 'reverse.wasm' }).waitFor()
    await list.getByText('Done').waitFor()

    // The detail narrow (a phone, or 200 % zoom) and dark.
    const narrow = await openUi(e2e.browser, e2e.cleanup, submitter, {
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
    })
    await openDonate(narrow.page)
    await narrow.page
      .getByRole('table', { name: 'Jobs this node submitted' })
      .getByRole('button', { name: 'reverse.wasm' })
      .click()
    await narrow.page
      .getByRole('dialog', { name: 'reverse.wasm' })
      .getByTestId('job-output')
      .waitFor()
    await screenshot(narrow.page, 'donate-job-detail-narrow-dark')
    expect(ui.problems).toEqual([])
    expect(narrow.problems).toEqual([])
  })
})
