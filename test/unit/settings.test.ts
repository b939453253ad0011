import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import {
  defaultSettings,
  migrate,
  SETTINGS_FILE,
  SETTINGS_PREV_FILE,
  SETTINGS_VERSION,
  SettingsError,
  SettingsStore,
  type FolderRecord,
  type Migration,
} from '../../main/engine/settings.ts'
import { modeOf, useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

function folder(n: number): FolderRecord {
  return {
    id: n.toString(16).padStart(16, '0'),
    name: `folder ${n}`,
    path: `/tmp/folder-${n}`,
    role: 'owner',
    key: 'a'.repeat(64),
    encryptionKey: 'b'.repeat(64),
    namespace: `folder-${n}`,
    kind: 'publish',
    versionsDays: 30,
    hostsWanted: 2,
    proof: null,
    createdAt: new Date(0).toISOString(),
  }
}

async function storeIn(dir?: string): Promise<SettingsStore> {
  return new SettingsStore(dir ?? (await fx.tmpDir('spare-unit-settings-')))
}

/** Loads and returns the SettingsError it must throw, checking the file is left untouched. */
async function expectRefused(contents: string): Promise<SettingsError> {
  const store = await storeIn()
  await fs.writeFile(store.file, contents)
  const err = await store.load().then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(SettingsError)
  const e = err as SettingsError
  expect(e.file).toBe(store.file)
  expect(e.message).toContain(store.file)
  // Never a silent reset: the file is byte-identical and nothing else appeared beside it.
  expect(await fs.readFile(store.file, 'utf8')).toBe(contents)
  expect(await fs.readdir(path.dirname(store.file))).toEqual([SETTINGS_FILE])
  expect(() => store.value).toThrow('settings not loaded')
  return e
}

describe('SettingsStore', () => {
  it('creates the file with defaults and mode 0600 on first load', async () => {
    const store = await storeIn()
    const s = await store.load()
    expect(s).toEqual(defaultSettings())
    expect(s).toEqual({
      version: SETTINGS_VERSION,
      network: 'public',
      localBootstrapPort: 49737,
      logLevel: 'info',
      folders: [],
      syncPaused: false,
      // Donating is opt-in: no limit set, nothing kept for others.
      donate: {
        diskBytes: null,
        diskPercent: null,
        leaveFreeBytes: null,
        upBytesPerSec: null,
        downBytesPerSec: null,
        // No CPU either; one core and BOINC's defaults once it is turned on.
        cpuPercent: null,
        cpuCores: 1,
        onlyIdleMs: null,
        suspendAboveOtherPercent: 25,
        allowOnBattery: false,
        schedule: null,
        jobMemoryBytes: 256 * 1024 * 1024,
        jobWallMs: 10 * 60 * 1000,
      },
      donatePause: null,
    })
    expect(await modeOf(store.file)).toBe(0o600)
    expect(JSON.parse(await fs.readFile(store.file, 'utf8'))).toEqual(s)
    expect(await fs.readdir(path.dirname(store.file))).toEqual([SETTINGS_FILE])
  })

  it('creates the data directory when it is missing', async () => {
    const dir = path.join(await fx.tmpDir(), 'a', 'b')
    const store = new SettingsStore(dir)
    await store.load()
    expect(await modeOf(store.file)).toBe(0o600)
  })

  it('round-trips an update through the file', async () => {
    const store = await storeIn()
    await store.load()
    const next = await store.update((s) => ({
      ...s,
      network: 'local',
      logLevel: 'debug',
      folders: [folder(1), folder(2)],
    }))
    expect(next.network).toBe('local')
    expect(store.value).toEqual(next)
    const again = new SettingsStore(path.dirname(store.file))
    expect(await again.load()).toEqual(next)
    expect(await modeOf(store.file)).toBe(0o600)
    // Beside it, the settings before the update (they hold folder keys too: 0600).
    expect((await fs.readdir(path.dirname(store.file))).sort()).toEqual([
      SETTINGS_FILE,
      SETTINGS_PREV_FILE,
    ])
    expect(await modeOf(store.prevFile)).toBe(0o600)
    expect(JSON.parse(await fs.readFile(store.prevFile, 'utf8'))).toEqual(defaultSettings())
  })

  it('fills defaults for missing optional fields of an existing file', async () => {
    const store = await storeIn()
    await fs.writeFile(store.file, JSON.stringify({ version: 1, network: 'local' }))
    const s = await store.load()
    expect(s.network).toBe('local')
    expect(s.localBootstrapPort).toBe(49737)
    expect(s.folders).toEqual([])
  })

  it('serializes concurrent updates so none is lost', async () => {
    const store = await storeIn()
    await store.load()
    await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) =>
        store.update((s) => ({ ...s, folders: [...s.folders, folder(n)] })),
      ),
    )
    const onDisk = JSON.parse(await fs.readFile(store.file, 'utf8')) as { folders: FolderRecord[] }
    expect(onDisk.folders.map((f) => f.name)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `folder ${n}`))
    expect((await fs.readdir(path.dirname(store.file))).sort()).toEqual([
      SETTINGS_FILE,
      SETTINGS_PREV_FILE,
    ])
  })

  // BUG (main/engine/settings.ts, update): the new value replaced the current one before it was
  // written, and stayed when the write failed (disk full, read-only): a share that failed there
  // kept its folder in memory, and the next update that could write saved it, so the folder
  // came back after a restart.
  it('a change whose write fails is dropped, from memory and from later writes', async () => {
    const store = await storeIn()
    await store.load()
    await store.update((s) => ({ ...s, folders: [...s.folders, folder(1)] }))
    // A directory in the file's place: the rename over it fails.
    await fs.rm(store.file)
    await fs.mkdir(store.file)
    const failed = store.update((s) => ({ ...s, folders: [...s.folders, folder(2)] }))
    const queued = store.update((s) => ({ ...s, syncPaused: true }))
    await expect(failed).rejects.toThrow()
    await expect(queued).rejects.toThrow()
    expect(store.value.folders.map((f) => f.name)).toEqual(['folder 1'])
    expect(store.value.syncPaused).toBe(false)
    await fs.rmdir(store.file)
    await store.update((s) => ({ ...s, folders: [...s.folders, folder(3)] }))
    const onDisk = JSON.parse(await fs.readFile(store.file, 'utf8')) as { folders: FolderRecord[] }
    expect(onDisk.folders.map((f) => f.name)).toEqual(['folder 1', 'folder 3'])
  })

  it('refuses an invalid update and keeps both the value and the file', async () => {
    const store = await storeIn()
    await store.load()
    const before = await fs.readFile(store.file, 'utf8')
    await expect(store.update((s) => ({ ...s, localBootstrapPort: 70000 }))).rejects.toThrow()
    expect(store.value.localBootstrapPort).toBe(49737)
    expect(await fs.readFile(store.file, 'utf8')).toBe(before)
  })

  it('update does not let the callback mutate the current value in place', async () => {
    const store = await storeIn()
    await store.load()
    await expect(
      store.update((s) => {
        s.folders.push(folder(9))
        return { ...s, localBootstrapPort: -1 }
      }),
    ).rejects.toThrow()
    expect(store.value.folders).toEqual([])
  })

  it.each([
    ['truncated JSON', '{"version": 1, "network": "loc'],
    ['not JSON at all', 'hello world\n'],
    ['an empty file', ''],
    ['JSON with a trailing comma', '{"version": 1,}'],
  ])('refuses a corrupt file (%s), naming it and leaving it byte-identical', async (_l, text) => {
    const err = await expectRefused(text)
    expect(err.message).toMatch(/is not valid JSON/)
    expect(err.message).toMatch(/will not overwrite it/)
  })

  it.each([
    ['null', 'null'],
    ['an array', '[1, 2]'],
    ['a number', '42'],
  ])('refuses a JSON document that is %s', async (_l, text) => {
    expect((await expectRefused(text)).message).toMatch(/must hold a JSON object/)
  })

  it.each([
    ['logLevel', { version: 1, logLevel: 'loud' }],
    ['localBootstrapPort', { version: 1, localBootstrapPort: 0 }],
    ['network', { version: 1, network: '' }],
    ['folders', { version: 1, folders: 'none' }],
    ['folders.0.key', { version: 1, folders: [{ ...folder(1), key: 'short' }] }],
    ['folders.0.role', { version: 1, folders: [{ ...folder(1), role: 'admin' }] }],
    ['surprise', { version: 1, surprise: true }],
  ])('refuses a file with an invalid %s, naming the field', async (field, doc) => {
    const err = await expectRefused(JSON.stringify(doc, null, 2))
    expect(err.message).toMatch(/is not valid/)
    expect(err.message).toContain(field)
  })

  it.each([
    ['missing', {}],
    ['a string', { version: '1' }],
    ['zero', { version: 0 }],
    ['fractional', { version: 1.5 }],
  ])('refuses a version that is %s', async (_l, doc) => {
    const err = await expectRefused(JSON.stringify(doc))
    expect(err.message).toMatch(/"version" must be a whole number/)
  })

  it('refuses a file written by a newer Spare with a clear message', async () => {
    const err = await expectRefused(JSON.stringify({ version: SETTINGS_VERSION + 1 }))
    expect(err.message).toBe(
      `${err.file}: was written by a newer Spare (settings version ${SETTINGS_VERSION + 1}; ` +
        `this one reads up to ${SETTINGS_VERSION}). Upgrade Spare.`,
    )
  })

  it('reports an unreadable file (a directory in its place) as a SettingsError', async () => {
    const store = await storeIn()
    await fs.mkdir(store.file)
    const err = await store.load().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SettingsError)
    expect((err as Error).message).toContain(store.file)
    expect((err as Error).message).toMatch(/cannot be read/)
    expect((await fs.stat(store.file)).isDirectory()).toBe(true)
  })
})

describe('migrate', () => {
  const file = '/data/settings.json'

  it('runs injected migrations in order and stamps each version', () => {
    const calls: number[] = []
    const migrations: Record<number, Migration> = {
      1: (d) => {
        calls.push(d.version as number)
        return { ...d, a: 'from 1', trail: [...(d.trail as number[]), 1] }
      },
      2: (d) => {
        calls.push(d.version as number)
        return { ...d, b: `${d.a as string} then 2`, trail: [...(d.trail as number[]), 2] }
      },
      3: (d) => {
        calls.push(d.version as number)
        return { ...d, trail: [...(d.trail as number[]), 3] }
      },
    }
    const out = migrate({ version: 1, trail: [] }, 4, migrations, file)
    expect(calls).toEqual([1, 2, 3])
    expect(out).toEqual({ version: 4, a: 'from 1', b: 'from 1 then 2', trail: [1, 2, 3] })
  })

  it('starts at the document version, not at 1', () => {
    const ran: number[] = []
    const m =
      (n: number): Migration =>
      (d) => {
        ran.push(n)
        return d
      }
    migrate({ version: 2 }, 3, { 1: m(1), 2: m(2) }, file)
    expect(ran).toEqual([2])
  })

  it('returns a current document unchanged without running anything', () => {
    const doc = { version: 3, x: 1 }
    let ran = false
    expect(migrate(doc, 3, { 1: () => ((ran = true), doc) }, file)).toEqual(doc)
    expect(ran).toBe(false)
  })

  it('refuses a gap in the migrations, naming the missing step and the file', () => {
    const ran: number[] = []
    const migrations: Record<number, Migration> = {
      1: (d) => (ran.push(1), d),
      3: (d) => (ran.push(3), d),
    }
    let err: unknown
    try {
      migrate({ version: 1 }, 4, migrations, file)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(SettingsError)
    expect((err as Error).message).toBe(`${file}: no migration from settings version 2`)
    expect(ran).toEqual([1])
  })

  it('refuses a newer version and a bad version', () => {
    expect(() => migrate({ version: 5 }, 4, {}, file)).toThrow(/newer Spare/)
    expect(() => migrate({ version: 'x' }, 4, {}, file)).toThrow(/whole number/)
    expect(() => migrate({ version: -1 }, 4, {}, file)).toThrow(SettingsError)
  })

  it('lets an error thrown by a migration through', () => {
    expect(() =>
      migrate(
        { version: 1 },
        2,
        {
          1: () => {
            throw new Error('boom')
          },
        },
        file,
      ),
    ).toThrow('boom')
  })
})
