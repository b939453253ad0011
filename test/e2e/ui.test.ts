// End-to-end tests of the web UI: two real daemons on a local HyperDHT testnet, each driven
// through its own web UI in Debian's Chromium (playwright-core). Screenshots of every screen land
// in test/e2e/screenshots/ (git-ignored). Run offline, so nothing can reach the public DHT:
//   /work/shared/tools/offline npx vitest run --project e2e
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import type { Page } from 'playwright-core'
import type { FolderSummary } from '../../shared/contract.ts'
import {
  snapshotTree,
  TestDaemon,
  startDaemon,
  tempDir,
  waitForSameTree,
} from '../helpers/daemon.ts'
import {
  SCREENSHOTS,
  apiUrl,
  folderCard,
  folderListLoaded,
  loginLink,
  newPage,
  openUi,
  printedLoginLink,
  screenshot,
  stat,
  textOf,
  tryWebSocket,
  useE2eSuite,
} from './browser.ts'

const SYNC_TIMEOUT = 60_000

// One testnet and one browser for the file; daemons, contexts and folders are per test.
const e2e = useE2eSuite()

async function shareWithCli(
  daemon: TestDaemon,
  dir: string,
): Promise<{ invite: string; folder: FolderSummary }> {
  return daemon.json<{ invite: string; folder: FolderSummary }>(['share', dir])
}

/** A folder to share, with hello.txt in it; its name is the folder's basename. */
async function sourceFolder(content = 'hello from A\n'): Promise<{ dir: string; name: string }> {
  const dir = await tempDir(e2e.cleanup, 'spare-src-')
  await fs.writeFile(path.join(dir, 'hello.txt'), content)
  return { dir, name: path.basename(dir) }
}

/** A TCP port on 127.0.0.1 that is free right now. */
async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (typeof address !== 'object' || address === null) throw new Error('no port')
  return address.port
}

async function readOrNull(file: string): Promise<string | null> {
  return fs.readFile(file, 'utf8').catch(() => null)
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  )
}

describe('web UI: login', () => {
  it('shows the login help without a session, and a login link works once', async () => {
    const daemon = await startDaemon(e2e.cleanup, e2e.network)
    const base = await apiUrl(daemon)
    const wsUrl = `${base.replace(/^http/, 'ws')}/api/ws`

    // No session: the app's files load (they hold no secret), and the page itself says to run
    // `spare ui`; the API and the WebSocket refuse it.
    const anon = await newPage(e2e.browser, e2e.cleanup)
    const res = await anon.page.goto(`${base}/`)
    expect(res?.status()).toBe(200)
    const help = anon.page.getByRole('alert').filter({ hasText: 'not logged in' })
    await help.waitFor({ timeout: 30_000 })
    expect(await textOf(help)).toContain('spare ui')
    const call = await anon.page.evaluate(
      async (url) =>
        (
          await fetch(url, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ method: 'folders.list', params: {} }),
          })
        ).status,
      `${base}/api/call`,
    )
    expect(call).toBe(401)
    expect(await tryWebSocket(anon.page, wsUrl)).toBe('error')
    expect(await tryWebSocket(anon.page, wsUrl, ['spare'])).toBe('error')

    // The link printed at start logs in once: the app loads and its WebSocket opens. The session
    // lands in localStorage (this origin only), not in a cookie nor in the address bar.
    const link = printedLoginLink(daemon)
    const user = await newPage(e2e.browser, e2e.cleanup)
    const login = await user.page.goto(link)
    expect(login?.status()).toBe(200)
    const landed = new URL(user.page.url())
    expect(landed.pathname).toBe('/')
    expect(landed.hash).toBe('')
    await user.page.getByRole('heading', { level: 1, name: 'Folders' }).waitFor()
    await folderListLoaded(user.page)
    expect(await user.page.getByRole('alert').count()).toBe(0)
    const session = await user.page.evaluate(() => localStorage.getItem('spare.session'))
    expect(session).toMatch(/^[0-9a-f]{64}$/)
    expect(await user.context.cookies()).toEqual([])
    expect(await tryWebSocket(user.page, wsUrl, ['spare', `spare-session.${session}`])).toBe('open')
    // Being logged in is the session, not the browser: a socket without it is refused.
    expect(await tryWebSocket(user.page, wsUrl)).toBe('error')
    expect(user.problems.filter((p) => !p.includes('WebSocket connection'))).toEqual([])

    // The same link again, from another browser: refused, and no session comes with it.
    const replay = await newPage(e2e.browser, e2e.cleanup)
    const again = await replay.page.goto(link)
    expect(again?.status()).toBe(401)
    expect(await replay.page.locator('body').innerText()).toMatch(/login link is not valid/i)
    expect(await replay.context.cookies()).toEqual([])
    await replay.page.goto(`${base}/`)
    expect(await replay.page.evaluate(() => localStorage.getItem('spare.session'))).toBeNull()
    await replay.page.getByRole('alert').filter({ hasText: 'not logged in' }).waitFor()
    // …and from the browser that used it (a replay must not mint a second session either).
    expect((await user.page.goto(link))?.status()).toBe(401)
    await user.page.goto(`${base}/`)
    expect(await user.page.evaluate(() => localStorage.getItem('spare.session'))).toBe(session)

    // A fresh link from `spare ui --json` works, once.
    const fresh = await loginLink(daemon)
    expect(fresh).toMatch(new RegExp(`^${base}/auth\\?code=[0-9a-f]+$`))
    expect((await replay.page.goto(fresh))?.status()).toBe(200)
    await replay.page.getByRole('heading', { level: 1, name: 'Folders' }).waitFor()
    await folderListLoaded(replay.page)
    expect(await replay.page.getByRole('alert').count()).toBe(0)
    const third = await newPage(e2e.browser, e2e.cleanup)
    expect((await third.page.goto(fresh))?.status()).toBe(401)
  })

  // BUG: the session was a cookie (HttpOnly, SameSite=Strict). Cookies ignore ports and other
  // ports of 127.0.0.1 are the same site: the browser sent it to every local web service the user
  // opened, which could then call the Spare API with it.
  it('gives no credential to, and takes no request from, another origin on the same host', async () => {
    const daemon = await startDaemon(e2e.cleanup, e2e.network)
    const base = await apiUrl(daemon)
    const wsUrl = `${base.replace(/^http/, 'ws')}/api/ws`
    const ui = await openUi(e2e.browser, e2e.cleanup, daemon)
    await folderListLoaded(ui.page)
    const mine = await tempDir(e2e.cleanup, 'spare-mine-')
    const theirs = await tempDir(e2e.cleanup, 'spare-theirs-')

    // Another web service on 127.0.0.1, another port: it records what the browser sends it.
    const seen: http.IncomingHttpHeaders[] = []
    const evil = http.createServer((req, res) => {
      seen.push(req.headers)
      res.setHeader('content-type', 'text/html')
      res.end('<!doctype html><title>elsewhere</title><p>elsewhere</p>')
    })
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', () => resolve()))
    // The browser may keep a connection open (keep-alive, or one opened ahead that never sends
    // a request): close() alone then waits for it, past the hook's timeout (seen in CI).
    e2e.cleanup.add(
      () =>
        new Promise<void>((resolve) => {
          evil.close(() => resolve())
          evil.closeAllConnections()
        }),
    )
    const addr = evil.address()
    const evilPort = typeof addr === 'object' && addr ? addr.port : 0
    const other = await ui.context.newPage()
    for (const host of ['127.0.0.1', 'localhost']) {
      await other.goto(`http://${host}:${evilPort}/`)
      await other.evaluate(() => fetch('/again', { credentials: 'include' }).then(() => undefined))
    }
    expect(seen.length).toBeGreaterThanOrEqual(4) // and maybe /favicon.ico
    for (const headers of seen) {
      expect(headers.cookie).toBeUndefined()
      expect(headers.authorization).toBeUndefined()
    }
    // Its page can't read the session either (localStorage is per origin, port included).
    expect(await other.evaluate(() => localStorage.getItem('spare.session'))).toBeNull()

    // A "simple" request (no CORS preflight) that would share a folder, with whatever
    // credentials the browser adds by itself.
    const simpleShare = (page: Page, dir: string) =>
      page.evaluate(
        async ([url, body]) => {
          try {
            const r = await fetch(url, {
              method: 'POST',
              mode: 'no-cors',
              credentials: 'include',
              headers: { 'content-type': 'text/plain' },
              body,
            })
            return r.type
          } catch (err) {
            return `failed: ${String(err)}`
          }
        },
        [
          `${base}/api/call`,
          JSON.stringify({ method: 'folders.share', params: { path: dir } }),
        ] as const,
      )
    expect(await tryWebSocket(other, wsUrl)).toBe('error')
    expect(await simpleShare(other, theirs)).toBe('opaque')
    // Control: the daemon's own page, sending its session, does share.
    const shared = await ui.page.evaluate(
      async ([url, dir]) => {
        const r = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            authorization: `Session ${localStorage.getItem('spare.session') ?? ''}`,
          },
          body: JSON.stringify({ method: 'folders.share', params: { path: dir } }),
        })
        return r.status
      },
      [`${base}/api/call`, mine] as const,
    )
    expect(shared).toBe(200)
    // Give a wrongly accepted request time to land before checking that it did not.
    await new Promise((r) => setTimeout(r, 1000))
    expect((await daemon.folders()).map((f) => f.path)).toEqual([mine])
    // The logged-in page itself is unaffected.
    await folderCard(ui.page, path.basename(mine)).waitFor()
  })
})

describe('web UI: sharing between two daemons', () => {
  it('shares a folder from A’s UI, joins it from B’s UI, and shows live updates', async () => {
    const a = await startDaemon(e2e.cleanup, e2e.network)
    const b = await startDaemon(e2e.cleanup, e2e.network)
    const src = await sourceFolder('hello from A\n')
    const dst = path.join(await tempDir(e2e.cleanup, 'spare-dst-'), 'joined')

    // A: log in, empty state, share by path.
    const uiA = await openUi(e2e.browser, e2e.cleanup, a)
    const pageA = uiA.page
    await pageA.getByRole('heading', { name: 'No folders yet' }).waitFor()
    await pageA.getByRole('button', { name: 'Share a folder' }).click()
    const shareDialog = pageA.getByRole('dialog', { name: 'Share a folder' })
    await shareDialog.getByLabel('Folder path').fill(src.dir)
    await screenshot(pageA, 'share-dialog')
    await shareDialog.getByRole('button', { name: 'Share', exact: true }).click()
    const shared = pageA.getByRole('dialog', { name: `“${src.name}” is shared` })
    await shared.waitFor()
    const invite = await textOf(shared.getByTestId('invite-text'))
    expect(invite).toMatch(/^spare1[a-z0-9]+$/)
    const qr = shared.getByRole('img', { name: `QR code of the invite to ${src.name}` })
    await qr.waitFor()
    expect(await qr.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)
    await shared.getByRole('button', { name: 'Done' }).click()
    await shared.waitFor({ state: 'detached' })
    const cardA = folderCard(pageA, src.name)
    await cardA.waitFor()
    expect(await cardA.getByText('Writer', { exact: true }).count()).toBe(1)
    expect(await pageA.getByRole('heading', { name: 'No folders yet' }).count()).toBe(0)
    const [ownerFolder] = await a.folders()
    expect(ownerFolder).toMatchObject({
      name: src.name,
      path: src.dir,
      role: 'writer',
      kind: 'sync',
    })
    expect(await cardA.getAttribute('data-folder-id')).toBe(ownerFolder?.id)

    // B: its own login link, in a separate browser context.
    const uiB = await openUi(e2e.browser, e2e.cleanup, b)
    const pageB = uiB.page
    await pageB.getByRole('heading', { name: 'No folders yet' }).waitFor()
    await pageB.getByRole('button', { name: 'Join a folder' }).click()
    const joinDialog = pageB.getByRole('dialog', { name: 'Join a folder' })
    await joinDialog.getByLabel('Invite').fill(invite)
    await joinDialog.getByLabel('Destination path').fill(dst)
    await joinDialog.getByRole('button', { name: 'Join', exact: true }).click()
    await joinDialog.waitFor({ state: 'detached' })
    expect(await textOf(pageB.getByRole('status').filter({ hasText: 'Joined' }))).toContain(
      `Joined “${src.name}”`,
    )
    const cardB = folderCard(pageB, src.name)
    await cardB.waitFor()
    expect(await cardB.getByText('Writer', { exact: true }).count()).toBe(1)
    expect(await cardB.getAttribute('data-folder-id')).toBe(ownerFolder?.id)

    // The file arrives on B's disk and B's card settles idle with it counted.
    await expect
      .poll(() => readOrNull(path.join(dst, 'hello.txt')), { timeout: SYNC_TIMEOUT })
      .toBe('hello from A\n')
    await expect
      .poll(() => cardB.getAttribute('data-state'), { timeout: SYNC_TIMEOUT })
      .toBe('idle')
    await expect.poll(() => textOf(stat(cardB, 'Files')), { timeout: SYNC_TIMEOUT }).toBe('1')
    await expect.poll(() => textOf(stat(cardB, 'Size')), { timeout: SYNC_TIMEOUT }).toBe('13 B')
    await expect.poll(() => textOf(stat(cardB, 'Peers')), { timeout: SYNC_TIMEOUT }).toBe('1')
    await expect.poll(() => textOf(stat(cardA, 'Peers')), { timeout: SYNC_TIMEOUT }).toBe('1')
    await screenshot(pageB, 'folders-reader')

    // A new file at A's folder on disk: both cards count it, B gets it on disk.
    await fs.writeFile(path.join(src.dir, 'second.txt'), 'a second file\n')
    await expect.poll(() => textOf(stat(cardA, 'Files')), { timeout: SYNC_TIMEOUT }).toBe('2')
    await expect.poll(() => textOf(stat(cardB, 'Files')), { timeout: SYNC_TIMEOUT }).toBe('2')
    await expect
      .poll(() => readOrNull(path.join(dst, 'second.txt')), { timeout: SYNC_TIMEOUT })
      .toBe('a second file\n')
    await expect
      .poll(() => cardB.getAttribute('data-state'), { timeout: SYNC_TIMEOUT })
      .toBe('idle')
    await waitForSameTree(src.dir, dst)
    // The card's numbers are the node's numbers.
    const [readerFolder] = await b.folders()
    expect(readerFolder).toMatchObject({ files: 2, role: 'writer', state: 'idle', path: dst })
    expect(await textOf(stat(cardB, 'Version'))).toBe(String(readerFolder?.version))

    // Two-way: a file written at B reaches A, and A's card counts it.
    await fs.writeFile(path.join(dst, 'from-b.txt'), 'written at B\n')
    await expect
      .poll(() => readOrNull(path.join(src.dir, 'from-b.txt')), { timeout: SYNC_TIMEOUT })
      .toBe('written at B\n')
    await expect.poll(() => textOf(stat(cardA, 'Files')), { timeout: SYNC_TIMEOUT }).toBe('3')

    expect(uiA.problems).toEqual([])
    expect(uiB.problems).toEqual([])
  })
})

describe('web UI: bad input', () => {
  it('shows the engine’s errors inline and adds nothing', async () => {
    const daemon = await startDaemon(e2e.cleanup, e2e.network)
    const scratch = await tempDir(e2e.cleanup, 'spare-bad-')
    const dst = path.join(scratch, 'never-created')
    const ui = await openUi(e2e.browser, e2e.cleanup, daemon)
    const { page } = ui
    await page.getByRole('heading', { name: 'No folders yet' }).waitFor()

    // Join: garbage, then something shaped like an invite whose checksum is wrong.
    await page.getByRole('button', { name: 'Join a folder' }).click()
    const join = page.getByRole('dialog', { name: 'Join a folder' })
    const cases: Array<[string, string]> = [
      ['this is not an invite', 'not a Spare invite'],
      ['spare1' + 'y'.repeat(120), 'checksum does not match'],
    ]
    for (const [garbage, reason] of cases) {
      await join.getByLabel('Invite').fill(garbage)
      await join.getByLabel('Destination path').fill(dst)
      await join.getByRole('button', { name: 'Join', exact: true }).click()
      const alert = join.getByRole('alert')
      await alert.filter({ hasText: reason }).waitFor()
      expect(await textOf(alert)).toMatch(/^Couldn’t join this folder\s*invalid invite: /)
      expect(await join.isVisible()).toBe(true)
    }
    await screenshot(page, 'join-dialog-error')
    // An empty invite is caught next to the field, before anything is sent.
    await join.getByLabel('Invite').fill('   ')
    await join.getByRole('button', { name: 'Join', exact: true }).click()
    await join.getByText('An invite is required.').waitFor()
    expect(await join.getByLabel('Invite').getAttribute('aria-invalid')).toBe('true')
    await join.getByRole('button', { name: 'Cancel' }).click()
    await join.waitFor({ state: 'detached' })

    // Share: a path that does not exist, then a relative one.
    await page.getByRole('button', { name: 'Share a folder' }).click()
    const share = page.getByRole('dialog', { name: 'Share a folder' })
    const missing = path.join(scratch, 'does-not-exist')
    await share.getByLabel('Folder path').fill(missing)
    await share.getByRole('button', { name: 'Share', exact: true }).click()
    const shareAlert = share.getByRole('alert')
    await shareAlert.filter({ hasText: 'no such folder' }).waitFor()
    expect(await textOf(shareAlert)).toContain(`Couldn’t share this folder`)
    expect(await textOf(shareAlert)).toContain(missing)
    await screenshot(page, 'share-dialog-error')
    await share.getByLabel('Folder path').fill('relative/path')
    await share.getByRole('button', { name: 'Share', exact: true }).click()
    await shareAlert.filter({ hasText: 'must be absolute' }).waitFor()
    await page.keyboard.press('Escape')
    await share.waitFor({ state: 'detached' })

    // Nothing was added: not in the UI, not in the node, not on disk.
    expect(await page.getByRole('heading', { name: 'No folders yet' }).isVisible()).toBe(true)
    expect(await page.getByRole('article').count()).toBe(0)
    expect(await daemon.folders()).toEqual([])
    expect(await exists(dst)).toBe(false)
    expect(await exists(missing)).toBe(false)
    await page.reload()
    await page.getByRole('heading', { name: 'No folders yet' }).waitFor()
    // The engine's refusals are answers, not failures of the page.
    expect(ui.problems).toEqual([])
  })
})

describe('web UI: stop syncing', () => {
  it('removes the card after confirming, and leaves the files on disk', async () => {
    const a = await startDaemon(e2e.cleanup, e2e.network)
    const b = await startDaemon(e2e.cleanup, e2e.network)
    const src = await sourceFolder()
    await fs.mkdir(path.join(src.dir, 'sub'))
    await fs.writeFile(path.join(src.dir, 'sub', 'deep.txt'), 'deep\n')
    const dst = path.join(await tempDir(e2e.cleanup, 'spare-dst-'), 'joined')
    const { invite, folder } = await shareWithCli(a, src.dir)
    expect((await b.cli(['join', invite, dst])).code).toBe(0)
    await waitForSameTree(src.dir, dst, SYNC_TIMEOUT)

    const uiB = await openUi(e2e.browser, e2e.cleanup, b)
    const pageB = uiB.page
    const cardB = folderCard(pageB, src.name)
    await expect
      .poll(() => cardB.getAttribute('data-state'), { timeout: SYNC_TIMEOUT })
      .toBe('idle')

    // Cancel keeps the folder.
    await cardB.getByRole('button', { name: 'Stop syncing' }).click()
    const confirm = pageB.getByRole('dialog', { name: `Stop syncing “${src.name}”?` })
    expect(await confirm.getByText(dst, { exact: true }).count()).toBe(1)
    await screenshot(pageB, 'stop-syncing-dialog')
    await confirm.getByRole('button', { name: 'Cancel' }).click()
    await confirm.waitFor({ state: 'detached' })
    expect(await cardB.isVisible()).toBe(true)
    expect((await b.folders()).map((f) => f.id)).toEqual([folder.id])

    // Confirming removes it.
    const before = await snapshotTree(dst)
    await cardB.getByRole('button', { name: 'Stop syncing' }).click()
    await confirm.getByRole('button', { name: 'Stop syncing' }).click()
    await confirm.waitFor({ state: 'detached' })
    await cardB.waitFor({ state: 'detached' })
    await pageB
      .getByRole('status')
      .filter({ hasText: `Stopped syncing “${src.name}”` })
      .waitFor()
    await pageB.getByRole('heading', { name: 'No folders yet' }).waitFor()
    expect(await b.folders()).toEqual([])
    expect(await snapshotTree(dst)).toEqual(before)
    expect(await readOrNull(path.join(dst, 'hello.txt'))).toBe('hello from A\n')
    // It stays gone after a reload (the node forgot it, not just the page).
    await pageB.reload()
    await folderListLoaded(pageB)
    expect(await folderCard(pageB, src.name).count()).toBe(0)

    // The owner can stop too; its files stay as well.
    const uiA = await openUi(e2e.browser, e2e.cleanup, a)
    const cardA = folderCard(uiA.page, src.name)
    await cardA.getByRole('button', { name: 'Stop syncing' }).click()
    const confirmA = uiA.page.getByRole('dialog', { name: `Stop syncing “${src.name}”?` })
    await confirmA.getByRole('button', { name: 'Stop syncing' }).click()
    await cardA.waitFor({ state: 'detached' })
    expect(await a.folders()).toEqual([])
    expect(await readOrNull(path.join(src.dir, 'sub', 'deep.txt'))).toBe('deep\n')

    expect(uiA.problems).toEqual([])
    expect(uiB.problems).toEqual([])
  })
})

describe('web UI: long names', () => {
  it('keeps a long folder name inside the dialogs that name it, on a narrow window', async () => {
    const daemon = await startDaemon(e2e.cleanup, e2e.network)
    // A name of one long word: nothing to wrap at, as with many photo or backup folders.
    const name = 'Holiday_photos_' + 'x'.repeat(120)
    const dir = path.join(await tempDir(e2e.cleanup, 'spare-long-'), name)
    await fs.mkdir(dir)
    await shareWithCli(daemon, dir)
    const ui = await openUi(e2e.browser, e2e.cleanup, daemon, {
      viewport: { width: 420, height: 900 },
    })
    const card = folderCard(ui.page, name)
    // The card cuts the name short to one line; the whole of it is in its tooltip.
    expect(await card.getByRole('heading', { name }).getAttribute('title')).toBe(name)

    /** Whether no text in the dialog runs past the edge of the box that holds it. */
    const fits = (dialog: ReturnType<typeof ui.page.getByRole>) =>
      dialog.evaluate((panel) =>
        [panel, ...panel.querySelectorAll<HTMLElement>('*')].every(
          (el) => el.clientWidth === 0 || el.scrollWidth <= el.clientWidth + 1,
        ),
      )
    for (const [button, title] of [
      ['Stop syncing', `Stop syncing “${name}”?`],
      ['Invite', `Invite to “${name}”`],
    ] as const) {
      await card.getByRole('button', { name: button }).click()
      const dialog = ui.page.getByRole('dialog', { name: title })
      await dialog.waitFor()
      expect(await fits(dialog)).toBe(true)
      await ui.page.keyboard.press('Escape')
      await dialog.waitFor({ state: 'detached' })
    }
    expect(ui.problems).toEqual([])
  })
})

describe('web UI: connection', () => {
  it('shows the not-connected banner when the daemon goes away', async () => {
    const daemon = await startDaemon(e2e.cleanup, e2e.network)
    const ui = await openUi(e2e.browser, e2e.cleanup, daemon)
    await folderListLoaded(ui.page)
    const banner = ui.page.getByRole('alert').filter({ hasText: 'Not connected to the Spare node' })
    expect(await banner.count()).toBe(0)
    expect(await daemon.stop()).toBe(0)
    await banner.waitFor()
    expect(await textOf(banner)).toContain('spare daemon')
    await screenshot(ui.page, 'not-connected')
  })

  it('says the browser must log in again when the daemon restarted, and reconnects once it has', async () => {
    // A fixed port, as with `spare daemon --port`: the page can reach the restarted daemon, which
    // no longer knows its session.
    const port = await freePort()
    const dataDir = await tempDir(e2e.cleanup, 'spare-data-')
    const daemon = new TestDaemon(dataDir, e2e.network, ['--port', String(port)])
    e2e.cleanup.add(async () => {
      await daemon.stop()
    })
    await daemon.start()
    const ui = await openUi(e2e.browser, e2e.cleanup, daemon)
    await folderListLoaded(ui.page)
    expect(await daemon.stop()).toBe(0)
    const banner = ui.page.getByRole('alert').filter({ hasText: 'Spare node' })
    await banner.waitFor()
    await daemon.start()
    expect(await apiUrl(daemon)).toBe(`http://127.0.0.1:${port}`)

    const loggedOut = banner.filter({ hasText: 'not logged in' })
    await loggedOut.waitFor({ timeout: 30_000 })
    expect(await textOf(loggedOut)).toContain('spare ui')
    expect(await textOf(loggedOut)).not.toContain('Is spare daemon running?')

    // A new login link, opened in another tab of the same browser, lets the first page back in.
    const tab = await ui.context.newPage()
    await tab.goto(await loginLink(daemon))
    await tab.close()
    await ui.page.getByRole('button', { name: 'Retry now' }).click()
    await banner.waitFor({ state: 'detached', timeout: 30_000 })
    await folderListLoaded(ui.page)
  })
})

describe('web UI: pause syncing', () => {
  it('pauses and resumes the node from the top area, and follows `spare pause`', async () => {
    const daemon = await startDaemon(e2e.cleanup, e2e.network)
    const src = await sourceFolder()
    await shareWithCli(daemon, src.dir)
    const ui = await openUi(e2e.browser, e2e.cleanup, daemon, { colorScheme: 'light' })
    const page = ui.page
    const card = folderCard(page, src.name)
    await expect.poll(() => card.getAttribute('data-state'), { timeout: SYNC_TIMEOUT }).toBe('idle')
    const notice = page.getByText('Syncing is paused', { exact: true })
    expect(await notice.count()).toBe(0)

    await page.getByRole('button', { name: 'Pause syncing' }).click()
    await page.getByRole('button', { name: 'Resume syncing' }).waitFor()
    await notice.waitFor()
    await expect.poll(() => card.getAttribute('data-state')).toBe('paused')
    expect(await textOf(card.getByText('Paused', { exact: true }))).toBe('Paused')
    expect((await daemon.json<{ paused: boolean }>(['status'])).paused).toBe(true)
    await screenshot(page, 'folders-paused')

    await page.getByRole('button', { name: 'Resume syncing' }).click()
    await page.getByRole('button', { name: 'Pause syncing' }).waitFor()
    await notice.waitFor({ state: 'detached' })
    await expect.poll(() => card.getAttribute('data-state')).not.toBe('paused')
    expect((await daemon.json<{ paused: boolean }>(['status'])).paused).toBe(false)

    // Paused from the CLI: the page hears node.updated and folder.updated.
    expect((await daemon.cli(['pause'])).code).toBe(0)
    await page.getByRole('button', { name: 'Resume syncing' }).waitFor()
    await notice.waitFor()
    await expect.poll(() => card.getAttribute('data-state')).toBe('paused')
    const narrow = await openUi(e2e.browser, e2e.cleanup, daemon, {
      viewport: { width: 390, height: 844 },
    })
    await narrow.page.getByRole('button', { name: 'Resume syncing' }).waitFor()
    await screenshot(narrow.page, 'folders-paused-narrow')
    expect((await daemon.cli(['resume'])).code).toBe(0)
    await page.getByRole('button', { name: 'Pause syncing' }).waitFor()
    expect(ui.problems).toEqual([])
    expect(narrow.problems).toEqual([])
  })
})

describe('web UI: screenshots', () => {
  it('captures every screen, light and dark', async () => {
    const a = await startDaemon(e2e.cleanup, e2e.network)
    const b = await startDaemon(e2e.cleanup, e2e.network)

    const light = await openUi(e2e.browser, e2e.cleanup, a, { colorScheme: 'light' })
    const page = light.page
    await page.getByRole('heading', { name: 'No folders yet' }).waitFor()
    await screenshot(page, 'folders-empty')

    const src = await sourceFolder()
    await fs.writeFile(path.join(src.dir, 'notes.md'), '# notes\n'.repeat(200))
    const { invite } = await shareWithCli(a, src.dir)
    const dst = path.join(await tempDir(e2e.cleanup, 'spare-dst-'), 'joined')
    expect((await b.cli(['join', invite, dst])).code).toBe(0)
    await waitForSameTree(src.dir, dst, SYNC_TIMEOUT)

    const card = folderCard(page, src.name)
    await expect.poll(() => textOf(stat(card, 'Peers')), { timeout: SYNC_TIMEOUT }).toBe('1')
    await screenshot(page, 'folders')

    await card.getByRole('button', { name: 'Invite' }).click()
    const inviteDialog = page.getByRole('dialog', { name: `Invite to “${src.name}”` })
    await inviteDialog.getByRole('button', { name: 'Create invite' }).click()
    const second = await textOf(inviteDialog.getByTestId('invite-text'))
    // Writer invites are single use: a new one each time.
    expect(second).toMatch(/^spare1[a-z0-9]+$/)
    expect(second).not.toBe(invite)
    const qr = inviteDialog.getByRole('img', { name: /^QR code of the invite/ })
    await qr.waitFor()
    expect(await qr.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)
    await screenshot(page, 'invite-dialog')
    await inviteDialog.getByRole('button', { name: 'Done' }).click()

    // The two-way folder's details: members, conflicts, versions.
    await card.getByRole('button', { name: 'Details' }).click()
    await expect
      .poll(() => card.getByText('This device').count(), { timeout: SYNC_TIMEOUT })
      .toBeGreaterThan(0)
    await screenshot(page, 'folder-details')

    await page.getByRole('button', { name: 'Join a folder' }).click()
    const joinDialog = page.getByRole('dialog', { name: 'Join a folder' })
    await joinDialog.getByLabel('Invite').waitFor()
    await screenshot(page, 'join-dialog')
    await joinDialog.getByRole('button', { name: 'Cancel' }).click()

    await page.getByRole('link', { name: 'Network' }).click()
    await page.getByRole('heading', { level: 1, name: 'Network' }).waitFor()
    const peers = page.getByRole('list', { name: 'Peers' })
    await peers.waitFor({ timeout: SYNC_TIMEOUT })
    expect(await peers.getByRole('listitem', { name: /^Peer / }).count()).toBe(1)
    expect(await textOf(page.getByTestId('node-id'))).toMatch(/\S{16,}/)
    await screenshot(page, 'network')

    await page.getByRole('link', { name: 'Settings' }).click()
    await page.getByRole('heading', { level: 1, name: 'Settings' }).waitFor()
    expect(await textOf(page.getByTestId('data-dir'))).toBe(a.dataDir)
    await screenshot(page, 'settings')
    expect(light.problems).toEqual([])

    // Dark: the system preference is followed by default.
    const dark = await openUi(e2e.browser, e2e.cleanup, b, { colorScheme: 'dark' })
    const darkPage = dark.page
    const darkCard = folderCard(darkPage, src.name)
    await expect
      .poll(() => darkCard.getAttribute('data-state'), { timeout: SYNC_TIMEOUT })
      .toBe('idle')
    const background = await darkPage.evaluate(
      () => getComputedStyle(document.body).backgroundColor,
    )
    expect(background).not.toMatch(/rgb\(255, 255, 255\)/)
    await screenshot(darkPage, 'folders-dark')
    await darkPage.getByRole('link', { name: 'Network' }).click()
    await darkPage.getByRole('list', { name: 'Peers' }).waitFor({ timeout: SYNC_TIMEOUT })
    await screenshot(darkPage, 'network-dark')
    await darkPage.getByRole('link', { name: 'Settings' }).click()
    await darkPage.getByTestId('data-dir').waitFor()
    await screenshot(darkPage, 'settings-dark')
    expect(dark.problems).toEqual([])

    // Narrow window: the nav becomes a top bar.
    const narrow = await openUi(e2e.browser, e2e.cleanup, a, {
      viewport: { width: 390, height: 844 },
    })
    await folderCard(narrow.page, src.name).waitFor()
    await screenshot(narrow.page, 'folders-narrow')
    await folderCard(narrow.page, src.name).getByRole('button', { name: 'Invite' }).click()
    await narrow.page.getByRole('button', { name: 'Create invite' }).click()
    await narrow.page.getByRole('img', { name: /^QR code of the invite/ }).waitFor()
    await screenshot(narrow.page, 'invite-dialog-narrow')
    expect(narrow.problems).toEqual([])

    const files = await fs.readdir(SCREENSHOTS)
    for (const name of ['folders-empty', 'folders', 'invite-dialog', 'join-dialog', 'network'])
      expect(files).toContain(`${name}.png`)
  })
})
