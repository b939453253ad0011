// Helpers for the end-to-end UI tests: Debian's Chromium driven by playwright-core, logged in to a
// real `spare daemon` through its one-time login link. Everything registers its own teardown
// through `cleanup` (test/helpers/daemon.ts).
import { spawn } from 'node:child_process'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import {
  chromium,
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  type Locator,
  type Page,
} from 'playwright-core'
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest'
import { Cleanup, ROOT, localTestnet, type TestDaemon } from '../helpers/daemon.ts'

export const CHROMIUM = process.env.SPARE_CHROMIUM ?? '/usr/bin/chromium'
export const SCREENSHOTS = path.join(ROOT, 'test', 'e2e', 'screenshots')
const DIST_INDEX = path.join(ROOT, 'renderer', 'dist', 'index.html')

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
]

/** What an e2e file shares: one testnet and one browser; `cleanup` is per test. */
export interface E2eSuite {
  readonly network: string
  readonly browser: Browser
  readonly cleanup: Cleanup
}

/**
 * Registers an e2e file's hooks: the renderer built, the screenshots folder, a local testnet and
 * a browser for the file (closed after it), and a fresh Cleanup for each test (run after it).
 */
export function useE2eSuite(): E2eSuite {
  const suite = new Cleanup()
  let network: string | null = null
  let browser: Browser | null = null
  let cleanup: Cleanup | null = null
  beforeAll(async () => {
    await ensureRendererBuilt()
    await fs.mkdir(SCREENSHOTS, { recursive: true })
    network = await localTestnet(suite)
    browser = await launchBrowser(suite)
  })
  afterAll(async () => {
    await suite.run()
  })
  beforeEach(() => {
    cleanup = new Cleanup()
  })
  afterEach(async () => {
    await cleanup?.run()
  })
  const set = <T>(v: T | null, what: string): T => {
    if (v === null) throw new Error(`${what} is set up by useE2eSuite's hooks`)
    return v
  }
  return {
    get network() {
      return set(network, 'network')
    },
    get browser() {
      return set(browser, 'browser')
    },
    get cleanup() {
      return set(cleanup, 'cleanup')
    },
  }
}

/**
 * Builds renderer/dist (the web UI the daemon serves) when it is missing or older than its
 * sources, as `npm start` does: a build left from before a pull failed UI tests that pass.
 */
export async function ensureRendererBuilt(): Promise<void> {
  // A plain .mjs script (no type declarations): imported by URL and typed here.
  const start = (await import(
    /* @vite-ignore */ new URL('../../scripts/start.mjs', import.meta.url).href
  )) as { needsBuild(name: 'renderer' | 'main'): boolean }
  if (!start.needsBuild('renderer')) return
  await new Promise<void>((resolve, reject) => {
    const child = spawn('npx', ['vite', 'build', '--config', 'renderer/vite.config.ts'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d: Buffer) => (output += d.toString()))
    child.stderr.on('data', (d: Buffer) => (output += d.toString()))
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output}`)),
    )
  })
  await fs.access(DIST_INDEX)
}

export async function launchBrowser(cleanup: Cleanup): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
  })
  cleanup.add(() => browser.close())
  return browser
}

export interface UiPage {
  context: BrowserContext
  page: Page
  /** Uncaught page errors and console errors, for asserting a clean run. */
  problems: string[]
}

/** A fresh browser context (its own storage) with one page. */
export async function newPage(
  browser: Browser,
  cleanup: Cleanup,
  options: BrowserContextOptions = {},
): Promise<UiPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options })
  cleanup.add(() => context.close())
  context.setDefaultTimeout(20_000)
  const page = await context.newPage()
  const problems: string[] = []
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`))
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`)
  })
  return { context, page, problems }
}

/** http://127.0.0.1:PORT of a running daemon, from its api.json. */
export async function apiUrl(daemon: TestDaemon): Promise<string> {
  const info = JSON.parse(await fs.readFile(path.join(daemon.dataDir, 'api.json'), 'utf8')) as {
    url: string
  }
  return info.url
}

/** A fresh one-time login link, from `spare ui --json`. */
export async function loginLink(daemon: TestDaemon): Promise<string> {
  const { url } = await daemon.json<{ url: string }>(['ui'])
  return url
}

/** The login link the daemon printed when it started. */
export function printedLoginLink(daemon: TestDaemon): string {
  const match = /web UI\s+(http:\/\/127\.0\.0\.1:\d+\/auth\?code=[0-9a-f]+)/.exec(daemon.output)
  if (!match?.[1]) throw new Error(`no login link in the daemon's output:\n${daemon.output}`)
  return match[1]
}

/** Opens the daemon's web UI in a new context through a fresh login link; waits for the app. */
export async function openUi(
  browser: Browser,
  cleanup: Cleanup,
  daemon: TestDaemon,
  options: BrowserContextOptions = {},
): Promise<UiPage> {
  const ui = await newPage(browser, cleanup, options)
  const response = await ui.page.goto(await loginLink(daemon))
  if (response?.status() !== 200)
    throw new Error(`login link answered ${response?.status()}: ${await response?.text()}`)
  await ui.page.getByRole('heading', { level: 1, name: 'Folders' }).waitFor()
  return ui
}

/** Waits until the folder list has loaded: either the empty state or at least one card. */
export async function folderListLoaded(page: Page): Promise<void> {
  await page
    .getByRole('heading', { name: 'No folders yet' })
    .or(page.getByRole('list', { name: 'Folders' }))
    .first()
    .waitFor()
}

export function folderCard(page: Page, name: string): Locator {
  return page.getByRole('article', { name, exact: true })
}

/** The value of one of a card's stats ("Files", "Size", "Peers", "Version", "Last sync"). */
export function stat(card: Locator, label: string): Locator {
  return card
    .locator('dl > div')
    .filter({ has: card.page().locator('dt', { hasText: new RegExp(`^${label}$`) }) })
    .locator('dd')
}

export async function textOf(locator: Locator): Promise<string> {
  return ((await locator.textContent()) ?? '').trim()
}

/** Saves a PNG of the viewport under test/e2e/screenshots/. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await fs.mkdir(SCREENSHOTS, { recursive: true })
  // Let transitions and fonts settle so the picture shows the final state.
  await page.evaluate(() => document.fonts.ready.then(() => undefined))
  await page.waitForTimeout(250)
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), animations: 'disabled' })
}

/**
 * Tries a WebSocket to `url` (offering `protocols`) from inside the page; resolves to 'open',
 * 'error' (refused before opening) or 'timeout'.
 */
export function tryWebSocket(page: Page, url: string, protocols: string[] = []): Promise<string> {
  return page.evaluate(
    ([u, p]) =>
      new Promise<string>((resolve) => {
        let ws: WebSocket
        try {
          ws = new WebSocket(u, p)
        } catch (err) {
          resolve(`throw: ${String(err)}`)
          return
        }
        const timer = setTimeout(() => resolve('timeout'), 5000)
        ws.onopen = () => {
          clearTimeout(timer)
          ws.close()
          resolve('open')
        }
        ws.onerror = () => {
          clearTimeout(timer)
          resolve('error')
        }
      }),
    [url, protocols] as const,
  )
}
