// What this device last saw on disk for every path of a two-way folder, and which version that
// was. It tells the device's own edits (disk differs from the index) from versions that arrive
// from the network (the merged state differs from the index), and names the version an edit
// starts from. Saved whole, atomically, at most every few seconds and at close; a crash loses at
// most that much, and the next scan re-adopts files whose content matches the current version.
import { promises as fs } from 'node:fs'
import { z } from 'zod'
import { writeFileAtomic } from '../util/atomic.ts'
import { Breather } from '../util/wait.ts'
import type { VersionVector } from './vv.ts'

export interface LocalEntry {
  vv: VersionVector
  kind: 'file' | 'dir' | 'symlink' | 'deleted'
  size: number
  mtime: number
  ino: number
  x: boolean
  hash: string | null
  /** [chunk hash, size] in file order: where the bytes of each chunk are, for local copies. */
  chunks: Array<[string, number]>
  link: string | null
  /** A read-only member's own change, never sent. */
  local: 'added' | 'modified' | 'deleted' | null
  /** A deleted folder left on disk for what is still inside it (keptFolder in sync-folder.ts). */
  kept?: { ino: number; born: number }
}

const EntrySchema = z.object({
  vv: z.record(z.string(), z.number()),
  kind: z.enum(['file', 'dir', 'symlink', 'deleted']),
  size: z.number(),
  mtime: z.number(),
  ino: z.number(),
  x: z.boolean(),
  hash: z.string().nullable(),
  chunks: z.array(z.tuple([z.string(), z.number()])),
  link: z.string().nullable(),
  local: z.enum(['added', 'modified', 'deleted']).nullable(),
  kept: z.object({ ino: z.number(), born: z.number() }).optional(),
})

const FileSchema = z.object({ format: z.literal(2), entries: z.record(z.string(), EntrySchema) })

const SAVE_MS = 5000

export class LocalIndex {
  readonly entries = new Map<string, LocalEntry>()
  /** Paths whose entry holds a read-only member's own change (`local`), so listing them is cheap. */
  readonly localKeys = new Set<string>()
  /**
   * chunk hash → the path whose local content has it, or the paths when more than one does (a
   * set for every chunk was about 150 bytes a file).
   */
  private readonly byChunk = new Map<string, string | Set<string>>()
  /**
   * Entries set for versions not yet in this device's log, with the entry each replaced (null:
   * none). Saves write the replaced entries instead, so an index on disk never records a version
   * the log lacks: after a crash the change is found again and recorded then.
   */
  private readonly provisional = new Map<string, LocalEntry | null>()
  private saveTimer: NodeJS.Timeout | null = null
  private dirty = false
  private saving: Promise<void> = Promise.resolve()

  /** `changed` hears of every key whose entry is set or deleted. */
  constructor(
    private readonly file: string,
    private readonly changed: (key: string) => void = () => {},
  ) {}

  /**
   * Loads the index. A damaged file is set aside for inspection and its new name returned; the
   * folder's full scan then adopts every file whose content matches the current version.
   */
  async load(): Promise<string | null> {
    let text: string | null = null
    try {
      text = await fs.readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
      // Unreadable (a directory in its place, no right to read it): like a damaged one, set
      // aside and rebuilt, since it is a cache of what the logs and the disk hold. Thrown as it
      // was, the folder never opened, and every save after failed on it.
    }
    const parsed = text === null ? null : FileSchema.safeParse(safeJson(text))
    if (!parsed?.success) {
      const aside = `${this.file}.corrupt-${Date.now()}`
      try {
        await fs.rename(this.file, aside)
      } catch (err) {
        throw new Error(
          `the folder index ${this.file} cannot be read, nor moved aside (${(err as Error).message}); move it away by hand`,
          { cause: err },
        )
      }
      return aside
    }
    for (const [k, e] of Object.entries(parsed.data.entries)) this.set(k, e, false)
    return null
  }

  get(key: string): LocalEntry | undefined {
    return this.entries.get(key)
  }

  set(key: string, given: LocalEntry, save = true): void {
    this.unlinkChunks(key)
    const entry = oneShape(given)
    this.entries.set(key, entry)
    if (entry.local) this.localKeys.add(key)
    else this.localKeys.delete(key)
    this.changed(key)
    if (entry.kind === 'file') {
      for (const [h] of entry.chunks) {
        const s = this.byChunk.get(h)
        if (s === undefined) this.byChunk.set(h, key)
        else if (typeof s !== 'string') s.add(key)
        else if (s !== key) this.byChunk.set(h, new Set([s, key]))
      }
    }
    if (save) this.touch()
  }

  /** Sets an entry for a version not yet appended to the log (see `provisional`). */
  setProvisional(key: string, entry: LocalEntry): void {
    if (!this.provisional.has(key)) this.provisional.set(key, this.entries.get(key) ?? null)
    this.set(key, entry)
  }

  /** The provisional entries' versions are in the log now. */
  confirm(): void {
    if (!this.provisional.size) return
    this.provisional.clear()
    this.touch()
  }

  /** Puts back what the provisional entries replaced; returns their keys. */
  rollBack(): string[] {
    const keys = [...this.provisional.keys()]
    for (const [key, prev] of this.provisional) {
      if (prev) this.set(key, prev)
      else this.delete(key)
    }
    this.provisional.clear()
    return keys
  }

  delete(key: string): void {
    this.unlinkChunks(key)
    this.localKeys.delete(key)
    if (this.entries.delete(key)) {
      this.changed(key)
      this.touch()
    }
  }

  /** Local files that hold a chunk, with its offset in each. */
  *sources(hash: string): Generator<{ key: string; offset: number; size: number }> {
    const holders = this.byChunk.get(hash) ?? []
    for (const key of typeof holders === 'string' ? [holders] : holders) {
      const e = this.entries.get(key)
      if (!e || e.kind !== 'file') continue
      let offset = 0
      for (const [h, size] of e.chunks) {
        if (h === hash) {
          yield { key, offset, size }
          break
        }
        offset += size
      }
    }
  }

  private unlinkChunks(key: string): void {
    const prev = this.entries.get(key)
    if (!prev || prev.kind !== 'file') return
    for (const [h] of prev.chunks) {
      const s = this.byChunk.get(h)
      if (s === undefined) continue
      if (typeof s === 'string') {
        if (s === key) this.byChunk.delete(h)
        continue
      }
      s.delete(key)
      if (s.size === 1) this.byChunk.set(h, s.values().next().value as string)
      else if (s.size === 0) this.byChunk.delete(h)
    }
  }

  private touch(): void {
    this.dirty = true
    if (this.saveTimer) return
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null
      void this.save()
    }, SAVE_MS)
    this.saveTimer.unref()
  }

  async save(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer)
    this.saveTimer = null
    if (!this.dirty) return this.saving
    this.dirty = false
    // The entries as they are now: entries are replaced, never changed in place, so a copy of
    // the map is a snapshot the text can be made from while the folder goes on.
    const entries = new Map(this.entries)
    for (const [key, prev] of this.provisional) {
      if (prev) entries.set(key, prev)
      else entries.delete(key)
    }
    this.saving = this.saving
      .catch(() => {})
      .then(async () => writeFileAtomic(this.file, await indexText(entries), { mode: 0o600 }))
    return this.saving
  }
}

/**
 * The index file's text: `JSON.stringify({ format: 2, entries })`, made entry by entry and
 * letting the event loop run every 50 ms. In one call it held the loop for 0.2-0.27 s at 100,000
 * files, every 5 s while the folder changed.
 */
export async function indexText(entries: Map<string, LocalEntry>): Promise<string> {
  const parts: string[] = []
  const breather = new Breather()
  for (const [key, entry] of entries) {
    parts.push(JSON.stringify(key) + ':' + JSON.stringify(entry))
    if (breather.due()) await breather.pause()
  }
  return '{"format":2,"entries":{' + parts.join(',') + '}}'
}

/**
 * The entry as one object literal, so every entry shares one hidden class. Entries are mostly
 * built by spreading (`{ ...entryOf(op, st), local: null }`); where V8 (Node 20) finds such a
 * spread megamorphic it gave each result a hidden class of its own, about 350 bytes each: 35 MB
 * of a 100,000-file folder's heap.
 */
function oneShape(e: LocalEntry): LocalEntry {
  return {
    vv: e.vv,
    kind: e.kind,
    size: e.size,
    mtime: e.mtime,
    ino: e.ino,
    x: e.x,
    hash: e.hash,
    chunks: e.chunks,
    link: e.link,
    local: e.local,
    kept: e.kept,
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}
