// scripts/start.mjs (npm start): its decisions, without launching Electron or the daemon.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

type Env = Record<string, string | undefined>
type Decision =
  | { action: 'electron'; binary: string }
  | { action: 'download' }
  | { action: 'daemon'; reason: 'ci' | 'opted-out' | 'download-failed' }

interface StartModule {
  root: string
  isCI(env: Env): boolean
  decideStart(input: { binary: string | null; downloadTried: boolean; env: Env }): Decision
  fallbackMessage(reason: 'ci' | 'opted-out' | 'download-failed'): string
  isStale(outputMtimeMs: number | null, newestInputMtimeMs: number): boolean
  hasFlag(args: string[], name: string): boolean
  devDataDir(platform: string, env: Env, home: string): string
  childEnv(env: Env, opts?: { platform?: string; home?: string }): Env
  daemonArgs(args: string[], env: Env): string[]
  electronBinary(requireFn?: (id: string) => unknown): string | null
  signalDeduper(windowMs?: number, now?: () => number): (signal: string) => boolean
}

// A plain .mjs script (no type declarations): imported by URL and typed by the interface above.
const start = (await import(
  /* @vite-ignore */ new URL('../../scripts/start.mjs', import.meta.url).href
)) as StartModule

describe('decideStart', () => {
  it('launches Electron when its binary is there', () => {
    expect(start.decideStart({ binary: '/e/electron', downloadTried: false, env: {} })).toEqual({
      action: 'electron',
      binary: '/e/electron',
    })
    // Even in CI: a binary that is already there is used.
    expect(
      start.decideStart({ binary: '/e/electron', downloadTried: false, env: { CI: 'true' } }),
    ).toMatchObject({ action: 'electron' })
  })

  it('tries one download, then falls back to the daemon', () => {
    expect(start.decideStart({ binary: null, downloadTried: false, env: {} })).toEqual({
      action: 'download',
    })
    expect(start.decideStart({ binary: null, downloadTried: true, env: {} })).toEqual({
      action: 'daemon',
      reason: 'download-failed',
    })
  })

  it('never downloads in CI or when SPARE_NO_ELECTRON_DOWNLOAD=1', () => {
    for (const CI of ['true', '1', 'yes']) {
      expect(start.decideStart({ binary: null, downloadTried: false, env: { CI } })).toEqual({
        action: 'daemon',
        reason: 'ci',
      })
    }
    expect(
      start.decideStart({
        binary: null,
        downloadTried: false,
        env: { SPARE_NO_ELECTRON_DOWNLOAD: '1' },
      }),
    ).toEqual({ action: 'daemon', reason: 'opted-out' })
    for (const CI of ['', '0', 'false', 'FALSE']) expect(start.isCI({ CI })).toBe(false)
  })

  it('explains the fallback in one paragraph', () => {
    for (const reason of ['ci', 'opted-out', 'download-failed'] as const) {
      const text = start.fallbackMessage(reason)
      expect(text).not.toContain('\n')
      expect(text).toMatch(/^Electron's binary isn't available on this machine/)
      expect(text).toContain('node node_modules/electron/install.js')
      expect(text).toMatch(/headless daemon/)
      expect(text).toMatch(/browser/)
    }
  })
})

describe('electronBinary', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'spare-start-'))
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

  it('is the path require("electron") names, only if that file exists', () => {
    const binary = path.join(tmp, 'electron')
    fs.writeFileSync(binary, '')
    expect(start.electronBinary(() => binary)).toBe(binary)
    expect(start.electronBinary(() => path.join(tmp, 'missing'))).toBeNull()
    expect(
      start.electronBinary(() => {
        throw new Error('Electron failed to install correctly')
      }),
    ).toBeNull()
    expect(start.electronBinary(() => ({ not: 'a path' }))).toBeNull()
  })

  it('finds no binary on this machine without crashing (it is never downloaded here)', () => {
    const found = start.electronBinary()
    expect(found === null || fs.existsSync(found)).toBe(true)
  })
})

describe('builds and the child process', () => {
  it('rebuilds missing or stale outputs only', () => {
    expect(start.isStale(null, 0)).toBe(true)
    expect(start.isStale(100, 200)).toBe(true)
    expect(start.isStale(200, 100)).toBe(false)
    expect(start.isStale(200, 200)).toBe(false)
  })

  it('keeps development data apart and on the local network', () => {
    const env = start.childEnv(
      { PATH: '/bin', ELECTRON_RUN_AS_NODE: '1' },
      { platform: 'linux', home: '/home/a' },
    )
    expect(env.ELECTRON_RUN_AS_NODE).toBeUndefined()
    expect(env.PATH).toBe('/bin')
    expect(env.SPARE_NETWORK).toBe('local')
    expect(env.SPARE_DATA_DIR).toBe(path.join('/home/a/.config', 'Spare (development)', 'node'))
    const kept = start.childEnv({ SPARE_NETWORK: 'public', SPARE_DATA_DIR: '/d' })
    expect(kept.SPARE_NETWORK).toBe('public')
    expect(kept.SPARE_DATA_DIR).toBe('/d')
    expect(start.devDataDir('darwin', {}, '/Users/a')).toBe(
      path.join('/Users/a/Library/Application Support', 'Spare (development)', 'node'),
    )
    expect(start.devDataDir('win32', { APPDATA: 'C:\\AppData' }, 'C:\\Users\\a')).toBe(
      path.join('C:\\AppData', 'Spare (development)', 'node'),
    )
  })

  it('runs `spare daemon` with the network unless the arguments choose one', () => {
    const bin = path.join(start.root, 'bin', 'spare')
    expect(start.daemonArgs([], { SPARE_NETWORK: 'local' })).toEqual([
      bin,
      'daemon',
      '--network',
      'local',
    ])
    expect(start.daemonArgs(['--port', '9000'], {})).toEqual([
      bin,
      'daemon',
      '--network',
      'local',
      '--port',
      '9000',
    ])
    expect(start.daemonArgs(['--network=public'], { SPARE_NETWORK: 'local' })).toEqual([
      bin,
      'daemon',
      '--network=public',
    ])
    expect(start.hasFlag(['--network', 'x'], 'network')).toBe(true)
    expect(start.hasFlag(['--networks'], 'network')).toBe(false)
  })

  it('passes a signal on once, even when it arrives twice at once', () => {
    let now = 0
    const shouldForward = start.signalDeduper(1000, () => now)
    expect(shouldForward('SIGINT')).toBe(true)
    now = 10
    expect(shouldForward('SIGINT')).toBe(false) // npm's copy of the same Ctrl-C
    expect(shouldForward('SIGTERM')).toBe(true)
    now = 5000
    expect(shouldForward('SIGINT')).toBe(true) // a second Ctrl-C later: force quit
  })
})
