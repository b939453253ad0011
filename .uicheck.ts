import { promises as fs } from 'node:fs'
import path from 'node:path'
import { Cleanup, localTestnet, startDaemon, tempDir, waitFor } from './test/helpers/daemon.ts'
import { chromium } from 'playwright-core'
import { CHROMIUM, apiUrl, folderCard, loginLink, newPage } from './test/e2e/browser.ts'
import type { FolderSummary } from './shared/contract.ts'

const BUILD = '/tmp/spare-ui-build'
const OUT = '/tmp/uicheck'
const cleanup = new Cleanup()
const types: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.svg': 'image/svg+xml' }
try {
  const network = await localTestnet(cleanup)
  const a = await startDaemon(cleanup, network)
  const b = await startDaemon(cleanup, network)
  const dir = await tempDir(cleanup, 'spare-notes-')
  await fs.writeFile(path.join(dir, 'notes.txt'), 'one\n')
  await fs.writeFile(path.join(dir, 'CON.txt'), 'bad name\n')
  const { folder, invite } = await a.json<{ folder: FolderSummary; invite: string }>(['share', dir])
  const dst = path.join(await tempDir(cleanup), 'joined')
  console.log((await b.cli(['join', invite, dst])).stdout)
  await waitFor(async () => (await a.json<unknown[]>(['members', folder.id])).length === 2, { what: 'members', timeoutMs: 60000 })
  await new Promise((r) => setTimeout(r, 1500))
  await fs.writeFile(path.join(dir, 'notes.txt'), 'two, longer\n')
  await new Promise((r) => setTimeout(r, 2500))
  await fs.writeFile(path.join(dir, 'notes.txt'), 'three, even longer now\n')
  await new Promise((r) => setTimeout(r, 2500))

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights'],
  })
  cleanup.add(() => browser.close())
  const ui = await newPage(browser, cleanup, { viewport: { width: 1100, height: 1400 } })
  const base = await apiUrl(a)
  await ui.context.route(`${base}/**`, async (route) => {
    const url = new URL(route.request().url())
    if (url.pathname.startsWith('/api') || url.pathname.startsWith('/auth')) return route.continue()
    const file = url.pathname === '/' ? '/index.html' : url.pathname
    try {
      const body = await fs.readFile(path.join(BUILD, file))
      await route.fulfill({ status: 200, body, contentType: types[path.extname(file)] ?? 'application/octet-stream' })
    } catch {
      await route.continue()
    }
  })
  const page = ui.page
  await page.goto(await loginLink(a))
  await page.goto(`${base}/`)
  await page.getByRole('heading', { level: 1, name: 'Folders' }).waitFor()
  const card = folderCard(page, path.basename(dir))
  try {
    await card.waitFor({ timeout: 8000 })
  } catch (err) {
    await page.screenshot({ path: `${OUT}/0-fail.png`, fullPage: true })
    console.log('problems:', ui.problems, await page.locator('body').innerText())
    throw err
  }
  await page.screenshot({ path: `${OUT}/1-card.png`, fullPage: true })
  await card.getByRole('button', { name: 'Details' }).click()
  await card.getByRole('list', { name: /Members of/ }).waitFor()
  await card.getByLabel('File in the folder').fill('notes.txt')
  await card.getByRole('button', { name: 'Show versions' }).click()
  await card.getByRole('list', { name: /Versions of/ }).waitFor()
  await page.screenshot({ path: `${OUT}/2-details.png`, fullPage: true })
  await card.getByRole('button', { name: 'Restore…' }).last().click()
  await page.getByRole('dialog').getByRole('radio', { name: 'To another path' }).check()
  await page.screenshot({ path: `${OUT}/3-restore.png` })
  await page.getByRole('dialog').getByLabel('Destination file').fill('/tmp/uicheck/restored.txt')
  await page.getByRole('dialog').getByRole('button', { name: 'Restore' }).click()
  await page.getByRole('dialog').waitFor({ state: 'detached' })
  console.log('restored:', await fs.readFile('/tmp/uicheck/restored.txt', 'utf8'))
  await card.getByLabel('Keep versions for (days)').fill('abc')
  await card.getByRole('button', { name: 'Save' }).click()
  await card.getByLabel('Keep versions for (days)').fill('14')
  await card.getByRole('button', { name: 'Save' }).click()
  await card.getByText('Saved: versions are kept for 14 days.').waitFor()
  await card.getByRole('button', { name: 'Invite' }).click()
  await page.screenshot({ path: `${OUT}/4-invite-choice.png` })
  await page.getByRole('dialog').getByRole('button', { name: 'Create invite' }).click()
  await page.getByRole('dialog').getByRole('img', { name: /QR code/ }).waitFor()
  await page.screenshot({ path: `${OUT}/5-invite.png` })
  await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click()
  await page.getByRole('button', { name: 'Share a folder' }).click()
  await page.screenshot({ path: `${OUT}/6-share.png` })
  await page.keyboard.press('Escape')
  const other = await page.getByRole('list', { name: /Members of/ }).getByRole('button', { name: 'Remove' }).first()
  await other.click()
  await page.screenshot({ path: `${OUT}/7-remove.png` })
  await page.getByRole('dialog').getByRole('button', { name: 'Remove', exact: true }).click()
  await page.getByRole('dialog').waitFor({ state: 'detached' })
  await page.waitForTimeout(1000)
  await page.screenshot({ path: `${OUT}/8-removed.png`, fullPage: true })
  console.log('problems:', ui.problems)
  console.log('members:', await a.json(['members', folder.id]))
} finally {
  await cleanup.run()
}
