// Folders on disks that find a name whatever its case (macOS, Windows). There, lstat('README.md')
// succeeds for a file named 'Readme.md', so a path that exists under one spelling seems to exist
// under every other. A sync that trusted that would, for a rename that changes only the case
// (which reaches other devices as the new name added and the old one deleted), delete the old
// name after placing the new one: the very file it had just placed. Syncthing guards against the
// same thing by asking the directory listing for each name's real spelling; so does this.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { lstat } from './fs-calls.ts'
import { caseKey } from '../sync/names.ts'

/**
 * Whether `dir` finds names whatever their case. Never writes when a name in it can tell; false
 * when nothing can (an empty folder it may not write in).
 */
export async function foldsCase(dir: string, probePrefix: string): Promise<boolean> {
  const names = await fs.readdir(dir)
  const present = new Set(names)
  for (const name of names) {
    const other = swapCase(name)
    if (other === name) continue
    // Two names that differ only in case: only a disk that tells them apart holds both.
    if (present.has(other)) return false
    return exists(path.join(dir, other))
  }
  // Nothing to ask about (an empty folder, or names without letters): a probe file of its own.
  const probe = path.join(dir, `${probePrefix}case-${randomBytes(6).toString('hex')}`)
  try {
    await fs.writeFile(probe, '', { flag: 'wx' })
  } catch {
    // A folder this device may only read, with nothing in it to ask about: taken as one that
    // tells case apart, as every folder was before this check.
    return false
  }
  try {
    return await exists(path.join(dir, swapCase(path.basename(probe))))
  } finally {
    await fs.rm(probe, { force: true })
  }
}

/** The name with its ASCII letters' case swapped: every disk that ignores case folds those. */
function swapCase(name: string): string {
  return name.replace(/[a-zA-Z]/g, (c) =>
    c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase(),
  )
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p)
    return true
  } catch {
    return false
  }
}

/** Names the same but for their Unicode form: macOS's own doing (NFD), not another name. */
function sameName(onDisk: string, asked: string): boolean {
  return onDisk === asked || onDisk.normalize('NFC') === asked.normalize('NFC')
}

/** How long a directory's listing is trusted: changes of this process are noted in it. */
const LISTING_LIFETIME_MS = 1000

interface Listing {
  at: number
  /** Its names by their folded form (caseKey), null for a directory that is not there. */
  names: Promise<Map<string, string> | null>
}

/**
 * The spelling on disk of paths below `root`, from directory listings kept for a second at most
 * (as Syncthing keeps them), less after `reset()` or `forget(dir)`. This process's own changes are
 * noted in them (`noted`); a user's rename in that second may be missed, as by any lstat.
 * Listing a directory that exists can fail (too many open files, no permission to list): the
 * error is thrown, not taken for an empty directory, and not kept.
 */
export class RealCase {
  private readonly listings = new Map<string, Listing>()

  constructor(private readonly root: string) {}

  reset(): void {
    this.listings.clear()
  }

  /** Drops what is known of the directory `dir` (absolute), after a change in it. */
  forget(dir: string): void {
    this.listings.delete(dir)
  }

  /**
   * Notes a change this process made: the name `name` in `dir` (absolute) now exists, spelled so
   * (a rename onto another spelling of it keeps the new one), or is gone. Keeps a listing read
   * earlier in a pass true without reading it again.
   */
  noted(dir: string, name: string, present: boolean): void {
    const listing = this.listings.get(dir)
    if (!listing) return
    // Applied once the listing is in, whichever comes first.
    listing.names = listing.names.then((names) => {
      if (present) names?.set(caseKey(name), name)
      else names?.delete(caseKey(name))
      return names
    })
  }

  /**
   * Whether every segment of `segments` (relative to the root) is spelled on disk just so. Asked
   * about a path that lstat found: false means the disk holds it under another spelling.
   */
  async spelledSo(segments: readonly string[]): Promise<boolean> {
    let dir = this.root
    for (const seg of segments) {
      const found = (await this.listing(dir))?.get(caseKey(seg))
      if (found === undefined || !sameName(found, seg)) return false
      dir = path.join(dir, seg)
    }
    return true
  }

  /**
   * Whether the disk holds the folder `segments` (or a folder above it) under another spelling.
   * False when it holds it just so, or not at all (it will be made as spelled). Listings read
   * before this process made a folder may not name it: made as spelled, it counts as not there.
   */
  async spelledOtherwise(segments: readonly string[]): Promise<boolean> {
    let dir = this.root
    for (const seg of segments) {
      const found = (await this.listing(dir))?.get(caseKey(seg))
      if (found === undefined) return false
      if (!sameName(found, seg)) return true
      dir = path.join(dir, seg)
    }
    return false
  }

  /**
   * The segments as the disk spells them, for a path that lstat found (a segment spelled
   * otherwise only in its Unicode form is given as asked); null when a listing can't tell (a
   * directory gone meanwhile).
   */
  async onDisk(segments: readonly string[]): Promise<string[] | null> {
    let dir = this.root
    const out: string[] = []
    for (const seg of segments) {
      const found = (await this.listing(dir))?.get(caseKey(seg))
      if (found === undefined) return null
      out.push(sameName(found, seg) ? seg : found)
      dir = path.join(dir, found)
    }
    return out
  }

  private listing(dir: string): Promise<Map<string, string> | null> {
    const now = Date.now()
    const kept = this.listings.get(dir)
    if (kept && now - kept.at < LISTING_LIFETIME_MS) return kept.names
    const listing: Listing = { at: now, names: Promise.resolve(null) }
    listing.names = fs.readdir(dir).then(
      (list) => {
        const out = new Map<string, string>()
        for (const name of list) out.set(caseKey(name), name)
        return out
      },
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null
        if (this.listings.get(dir) === listing) this.listings.delete(dir)
        throw err
      },
    )
    this.listings.set(dir, listing)
    return listing.names
  }
}
