// Settings persisted under the data directory: one JSON file with a schema, written atomically,
// with versioned migrations. A corrupt or hand-mangled file is an error that names the file; it
// is never silently reset (that would lose the keys of every folder).
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { z } from 'zod'
import { describeZodError } from '../../shared/contract.ts'
import { writeFileAtomic } from './util/atomic.ts'
import { LOG_LEVELS } from './logger.ts'
import { DonateLimitsSchema, noLimits } from './limits/governor.ts'

export const SETTINGS_VERSION = 1
export const SETTINGS_FILE = 'settings.json'
/**
 * The settings as they were before the last write. A crash mid-write on a file system whose
 * rename is not atomic, or a bad hand edit, leaves settings.json unreadable; it holds the only
 * copy of every folder's keys, so the refusal points here instead of leaving nothing to go back to.
 */
export const SETTINGS_PREV_FILE = 'settings.json.prev'

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 hex characters')

export const FolderRecordSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{16}$/),
  name: z.string().min(1),
  path: z.string().min(1),
  /**
   * 'publish': one owner writes, readers mirror (a Hyperdrive). 'sync': two-way, every writer
   * device keeps its own log (main/engine/sync).
   */
  kind: z.enum(['publish', 'sync']).default('publish'),
  /** publish: owner or reader. sync: writer or reader (a read-only member). */
  role: z.enum(['owner', 'reader', 'writer']),
  /** Public key of the folder's drive (publish) or of its first writer's log (sync). */
  key: hex32,
  /** Block encryption key of the folder's cores: travels only inside invites. */
  encryptionKey: hex32,
  /** Corestore namespace of an owner's drive or a writer's log and blobs (derives key pairs). */
  namespace: z.string().nullable(),
  /** sync: how long replaced and deleted versions stay restorable. */
  versionsDays: z.number().min(0).max(36500).default(30),
  /** sync: how many donor hosts should keep the folder's encrypted cores (0: none). */
  hostsWanted: z.number().int().min(0).max(16).default(2),
  /** sync: a joining writer's proof (invite public key and signature over its log key). */
  proof: z
    .object({ invite: hex32, sig: z.string().regex(/^[0-9a-f]{128}$/) })
    .nullable()
    .default(null),
  createdAt: z.string(),
})
export type FolderRecord = z.infer<typeof FolderRecordSchema>

export const NetworkSettingSchema = z.string().min(1)

export const SettingsSchema = z
  .object({
    version: z.literal(SETTINGS_VERSION),
    /** 'public', 'local' or 'host:port,host:port'. */
    network: NetworkSettingSchema.default('public'),
    /** UDP port of the embedded bootstrap node in the local network mode. */
    localBootstrapPort: z.number().int().min(1).max(65535).default(49737),
    logLevel: z.enum(LOG_LEVELS).default('info'),
    folders: z.array(FolderRecordSchema).default([]),
    /** Syncing paused node-wide (tray: Pause syncing). */
    syncPaused: z.boolean().default(false),
    /** Donated disk and hosting bandwidth (main/engine/limits). Donating is opt-in. */
    donate: DonateLimitsSchema.default(noLimits()),
    /** Donating paused (tray: Pause donating, Snooze 1 hour) until `until`; null: until resumed. */
    donatePause: z.object({ until: z.number().nullable() }).nullable().default(null),
  })
  .strict()
export type Settings = z.infer<typeof SettingsSchema>

export class SettingsError extends Error {
  readonly file: string
  constructor(file: string, message: string) {
    super(`${file}: ${message}`)
    this.name = 'SettingsError'
    this.file = file
  }
}

/** One migration takes a document of version N and returns one of version N + 1. */
export type Migration = (doc: Record<string, unknown>) => Record<string, unknown>

/**
 * MIGRATIONS[n] upgrades version n to n + 1. Version 1 is the first released format, so the list
 * starts empty; every format change appends one function here and bumps SETTINGS_VERSION.
 */
export const MIGRATIONS: Readonly<Record<number, Migration>> = {}

export function migrate(
  doc: Record<string, unknown>,
  target: number,
  migrations: Readonly<Record<number, Migration>>,
  file: string,
): Record<string, unknown> {
  let version = doc.version
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new SettingsError(
      file,
      `"version" must be a whole number ≥ 1, got ${JSON.stringify(version)}`,
    )
  }
  if (version > target) {
    throw new SettingsError(
      file,
      `was written by a newer Spare (settings version ${version}; this one reads up to ${target}). Upgrade Spare.`,
    )
  }
  let current = doc
  while (version < target) {
    const step = migrations[version]
    if (!step) throw new SettingsError(file, `no migration from settings version ${version}`)
    current = step(current)
    version += 1
    current = { ...current, version }
  }
  return current
}

export function defaultSettings(): Settings {
  return SettingsSchema.parse({ version: SETTINGS_VERSION })
}

export class SettingsStore {
  readonly file: string
  readonly prevFile: string
  private current: Settings | null = null
  /** The text of the file as last read or written (valid): what `prevFile` gets before a write. */
  private lastText: string | null = null
  private writing: Promise<void> = Promise.resolve()

  constructor(dataDir: string) {
    this.file = path.join(dataDir, SETTINGS_FILE)
    this.prevFile = path.join(dataDir, SETTINGS_PREV_FILE)
  }

  get value(): Settings {
    if (!this.current) throw new Error('settings not loaded')
    return this.current
  }

  /** Loads the file, creating it with defaults when absent. Throws SettingsError when unusable. */
  async load(): Promise<Settings> {
    let text: string
    try {
      text = await fs.readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new SettingsError(
          this.file,
          `cannot be read: ${(err as Error).message}.${await this.prevHint()}`,
        )
      }
      this.current = defaultSettings()
      await this.save(this.current)
      return this.current
    }
    let doc: unknown
    try {
      doc = JSON.parse(text)
    } catch (err) {
      throw new SettingsError(
        this.file,
        `is not valid JSON (${(err as Error).message}). ${KEEP}${await this.prevHint()}`,
      )
    }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
      throw new SettingsError(this.file, `must hold a JSON object. ${KEEP}${await this.prevHint()}`)
    }
    const before = (doc as Record<string, unknown>).version
    const migrated = migrate(
      doc as Record<string, unknown>,
      SETTINGS_VERSION,
      MIGRATIONS,
      this.file,
    )
    const parsed = SettingsSchema.safeParse(migrated)
    if (!parsed.success) {
      throw new SettingsError(
        this.file,
        `is not valid: ${describeZodError(parsed.error)}. ${KEEP}${await this.prevHint()}`,
      )
    }
    this.current = parsed.data
    this.lastText = text
    if (before !== SETTINGS_VERSION) await this.save(this.current)
    else this.onDisk = parsed.data
    return this.current
  }

  /**
   * Applies a change and persists it; writes are serialized so none is lost. The value reads
   * the change at once; a change whose write fails is dropped again, from the value and from
   * the writes queued after it (each writes what is on disk plus the changes still wanted).
   */
  async update(change: (s: Settings) => Settings): Promise<Settings> {
    const next = apply(this.value, change)
    const entry = { change }
    this.pending.push(entry)
    this.current = next
    const run = this.writing
      .catch(() => {})
      .then(async () => {
        const upTo = this.pending.indexOf(entry) + 1
        let value: Settings
        try {
          const before = this.pending.slice(0, upTo - 1).reduce(applyEntry, this.onDisk!)
          value = apply(before, change)
          await this.write(value)
        } catch (err) {
          this.pending.splice(this.pending.indexOf(entry), 1)
          this.current = this.pending.reduce(applyEntry, this.onDisk!)
          throw err
        }
        this.onDisk = value
        this.pending.splice(0, upTo)
      })
    this.writing = run
    await run
    return next
  }

  /** The value last written, and the changes applied to `current` since, not yet written. */
  private onDisk: Settings | null = null
  private readonly pending: Array<{ change: (s: Settings) => Settings }> = []

  private async save(settings: Settings): Promise<void> {
    const run = this.writing.catch(() => {}).then(() => this.write(settings))
    this.writing = run
    await run
    this.onDisk = settings
  }

  private async write(settings: Settings): Promise<void> {
    const text = JSON.stringify(settings, null, 2) + '\n'
    // Settings hold folder encryption keys: owner-only permissions, for both copies. The previous
    // one first: whichever write a crash cuts short, the other file is whole.
    if (this.lastText !== null && this.lastText !== text)
      await writeFileAtomic(this.prevFile, this.lastText, { mode: 0o600 })
    await writeFileAtomic(this.file, text, { mode: 0o600 })
    this.lastText = text
  }

  /** Where the settings before the last write are, when that copy is usable; else ''. */
  private async prevHint(): Promise<string> {
    try {
      const doc = JSON.parse(await fs.readFile(this.prevFile, 'utf8')) as Record<string, unknown>
      const migrated = migrate(doc, SETTINGS_VERSION, MIGRATIONS, this.prevFile)
      if (!SettingsSchema.safeParse(migrated).success) return ''
    } catch {
      return ''
    }
    return ` The settings as they were before the last change are in ${this.prevFile}: to go back to them, copy it over ${SETTINGS_FILE}.`
  }
}

const KEEP =
  'Fix it or put a copy in its place; Spare will not overwrite it (it holds the keys of your folders).'

function apply(s: Settings, change: (s: Settings) => Settings): Settings {
  return SettingsSchema.parse(change(structuredClone(s)))
}

/** Applies a pending change again; one that no longer applies (it built on a dropped one) is left out. */
function applyEntry(s: Settings, entry: { change: (s: Settings) => Settings }): Settings {
  try {
    return apply(s, entry.change)
  } catch {
    return s
  }
}
