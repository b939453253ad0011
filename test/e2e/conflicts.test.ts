// End-to-end: a real conflict between two writer daemons (B stopped, the same file edited on both,
// B started again), compared side by side in A's web UI and settled there by keeping the conflict
// copy, which then reaches B's disk. Screenshots: conflict-compare(-narrow, -dark).png. Run offline:
//   /work/shared/tools/offline npx vitest run --project e2e test/e2e/conflicts.test.ts
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { Locator, Page } from 'playwright-core'
import type { Conflict, FolderSummary } from '../../shared/contract.ts'
import { snapshotTree, startDaemon, tempDir, waitFor, waitForSameTree } from '../helpers/daemon.ts'
import { folderCard, openUi, screenshot, textOf, useE2eSuite } from './browser.ts'

const SYNC_TIMEOUT = 60_000
const BASE = 'Groceries\nmilk\nbread\neggs\napples\n'
const ON_A = 'Groceries\nmilk\nrye bread\neggs\napples\nbutter\n'
const ON_B = 'Groceries\noat milk\nbread\neggs\napples\n'

// One testnet and one browser for the file; daemons, contexts and folders are per test.
const e2e = useE2eSuite()

async function readOrNull(file: string): Promise<string | null> {
  return fs.readFile(file, 'utf8').catch(() => null)
}

async function conflictCopies(dir: string): Promise<string[]> {
  return Object.keys(await snapshotTree(dir)).filter((k) => k.includes('.sync-conflict-'))
}

/** Opens the folder's details and the Compare dialog of its one conflict. */
async function openCompare(page: Page, name: string): Promise<Locator> {
  const card = folderCard(page, name)
  await card.waitFor()
  await card.getByRole('button', { name: 'Details' }).click()
  const conflicts = card.getByRole('region', { name: 'Conflicts' })
  await conflicts.getByRole('button', { name: /^Compare / }).click({ timeout: SYNC_TIMEOUT })
  const dialog = page.getByRole('dialog', { name: 'Compare the versions of notes.txt' })
  await dialog.waitFor()
  // Both previews are in, with the differences highlighted.
  await dialog.locator('[data-side="kept"] [data-changed="true"]').first().waitFor()
  await dialog.locator('[data-side="copy"] [data-changed="true"]').first().waitFor()
  return dialog
}

describe('web UI: conflicts', () => {
  it('compares both versions of a conflict side by side and keeps the copy', async () => {
    const a = await startDaemon(e2e.cleanup, e2e.network)
    const b = await startDaemon(e2e.cleanup, e2e.network)
    const src = await tempDir(e2e.cleanup, 'spare-conflict-')
    await fs.writeFile(path.join(src, 'notes.txt'), BASE)
    const name = path.basename(src)
    const { folder } = await a.json<{ folder: FolderSummary }>(['share', src])
    const { invite } = await a.json<{ invite: string }>(['invite', folder.id])
    const dst = path.join(await tempDir(e2e.cleanup, 'spare-dst-'), 'joined')
    expect((await b.cli(['join', invite, dst])).code).toBe(0)
    // Both writers know each other (B accepted) and have the same tree.
    for (const d of [a, b]) {
      await waitFor(async () => (await d.json<unknown[]>(['members', folder.id])).length === 2, {
        what: 'two members',
        timeoutMs: SYNC_TIMEOUT,
      })
    }
    await waitForSameTree(src, dst, SYNC_TIMEOUT)

    // Apart, both change notes.txt; B's change is later, so B's version keeps the name and A's
    // becomes the conflict copy.
    await b.stop()
    await fs.writeFile(path.join(src, 'notes.txt'), ON_A)
    await fs.writeFile(path.join(dst, 'notes.txt'), ON_B)
    const later = new Date(Date.now() + 60_000)
    await fs.utimes(path.join(dst, 'notes.txt'), later, later)
    await waitFor(
      async () => (await a.json<unknown[]>(['versions', folder.id, 'notes.txt'])).length >= 2,
      { what: 'A to record its edit', timeoutMs: SYNC_TIMEOUT },
    )
    await b.start()
    await waitFor(async () => (await conflictCopies(src)).length === 1, {
      what: 'the conflict copy at A',
      timeoutMs: SYNC_TIMEOUT,
    })
    await waitForSameTree(src, dst, SYNC_TIMEOUT)
    expect(await readOrNull(path.join(src, 'notes.txt'))).toBe(ON_B)
    const [listed] = await a.json<Conflict[]>(['conflicts', folder.id])
    expect(listed).toMatchObject({ original: '/notes.txt', copy: { size: ON_A.length } })

    // A's UI: the card counts it; Compare shows both sides.
    const ui = await openUi(e2e.browser, e2e.cleanup, a, { colorScheme: 'light' })
    const { page } = ui
    const card = folderCard(page, name)
    await expect
      .poll(() => card.getByText('1 conflict', { exact: true }).count(), {
        timeout: SYNC_TIMEOUT,
      })
      .toBe(1)
    const dialog = await openCompare(page, name)
    const kept = dialog.getByRole('region', { name: /^Kept — notes\.txt/ })
    const copy = dialog.getByRole('region', { name: /^Conflict copy — from device / })
    // The copy is A's own edit: this device.
    await expect
      .poll(() => textOf(copy.getByRole('heading')), { timeout: 10_000 })
      .toMatch(/^Conflict copy — from device [0-9a-f]{12} \(this device\)$/)
    expect(await textOf(kept.getByRole('heading'))).toContain('Newer')
    const changed = async (side: Locator) =>
      (await side.locator('[data-changed="true"]').allTextContents()).map((t) =>
        t.replace(/^~/, ''),
      )
    expect(await changed(kept)).toEqual(['oat milk', 'bread'])
    expect(await changed(copy)).toEqual(['milk', 'rye bread', 'butter'])
    expect(await textOf(kept.getByText(/lines? differs? from the conflict copy/))).toBe(
      '2 lines differ from the conflict copy (highlighted).',
    )
    // Side by side on a wide window.
    const [kb, cb] = [await kept.boundingBox(), await copy.boundingBox()]
    expect(kb && cb && Math.abs(kb.y - cb.y) < 2 && cb.x > kb.x + kb.width - 1).toBe(true)
    await screenshot(page, 'conflict-compare')

    // A narrow window (or 200 % zoom): one column, the kept side first.
    const narrow = await openUi(e2e.browser, e2e.cleanup, a, {
      viewport: { width: 390, height: 844 },
    })
    const narrowDialog = await openCompare(narrow.page, name)
    const nk = await narrowDialog.getByRole('region', { name: /^Kept — / }).boundingBox()
    const nc = await narrowDialog.getByRole('region', { name: /^Conflict copy — / }).boundingBox()
    expect(nk && nc && nc.y >= nk.y + nk.height - 1).toBe(true)
    await screenshot(narrow.page, 'conflict-compare-narrow')
    // 200 % zoom of a 1280 × 800 window: 640 × 400 CSS pixels, drawn twice as big.
    const zoomed = await openUi(e2e.browser, e2e.cleanup, a, {
      viewport: { width: 640, height: 400 },
      deviceScaleFactor: 2,
    })
    const zoomedDialog = await openCompare(zoomed.page, name)
    const zk = await zoomedDialog.getByRole('region', { name: /^Kept — / }).boundingBox()
    const zc = await zoomedDialog.getByRole('region', { name: /^Conflict copy — / }).boundingBox()
    expect(zk && zc && zc.y >= zk.y + zk.height - 1).toBe(true)
    // Nothing is wider than the window: no sideways scrolling.
    expect(
      await zoomed.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth),
    ).toBe(true)
    await screenshot(zoomed.page, 'conflict-compare-zoom')
    // Dark, as the system prefers.
    const dark = await openUi(e2e.browser, e2e.cleanup, a, { colorScheme: 'dark' })
    await openCompare(dark.page, name)
    await screenshot(dark.page, 'conflict-compare-dark')

    // Keep the copy: the confirmation says what happens, then A's edit is notes.txt everywhere.
    await copy.getByRole('button', { name: 'Keep this version' }).click()
    const confirm = dialog.getByRole('group', { name: 'Keep the conflict copy?' })
    expect(await textOf(confirm)).toContain(
      'The copy replaces notes.txt; the current notes.txt stays restorable under Versions.',
    )
    await screenshot(page, 'conflict-compare-confirm')
    await confirm.getByRole('button', { name: 'Replace notes.txt' }).click()
    await dialog.waitFor({ state: 'detached' })
    const conflicts = card.getByRole('region', { name: 'Conflicts' })
    await conflicts.getByText('No conflicts in this folder.').waitFor({ timeout: SYNC_TIMEOUT })
    expect(await textOf(conflicts.getByRole('status'))).toBe(
      'Kept the conflict copy as notes.txt; the version it replaced is under Versions.',
    )
    await expect
      .poll(() => readOrNull(path.join(dst, 'notes.txt')), { timeout: SYNC_TIMEOUT })
      .toBe(ON_A)
    expect(await readOrNull(path.join(src, 'notes.txt'))).toBe(ON_A)
    await waitFor(async () => (await conflictCopies(dst)).length === 0, {
      what: 'the copy gone at B',
      timeoutMs: SYNC_TIMEOUT,
    })
    expect(await conflictCopies(src)).toEqual([])
    expect(await b.json<Conflict[]>(['conflicts', folder.id])).toEqual([])
    // B's version, replaced, stays restorable.
    const versions = await b.json<Array<{ size: number }>>(['versions', folder.id, 'notes.txt'])
    expect(versions.some((v) => v.size === ON_B.length)).toBe(true)

    expect(ui.problems).toEqual([])
    expect(narrow.problems).toEqual([])
    expect(zoomed.problems).toEqual([])
    expect(dark.problems).toEqual([])
  })
})
