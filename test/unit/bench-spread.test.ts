// mkdirSpread (test/bench/measure.ts): the bench makes each run's directories under a parent
// flagged `chattr +T`, so ext4 places them in block groups of their own, away from the inodes the
// last run freed (on a file system without a journal, creating files beside those is 10-20x
// slower). Where the flag can't be set the directory must still be made, and the bench told.
import { execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdirSpread } from '../bench/measure.ts'

let tmp = ''
beforeEach(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'spare-spread-'))
})
afterEach(async () => {
  await fs.rm(tmp, { recursive: true, force: true })
})

/** The file system type as `stat -f` names it (ext2/ext3 for every ext*), or '' off Linux. */
function fsType(dir: string): string {
  if (process.platform !== 'linux') return ''
  return execFileSync('stat', ['-f', '-c', '%T', dir]).toString().trim()
}

/** A directory's ext2-style attribute flags, as `lsattr -d` prints them. */
function flagsOf(dir: string): string {
  return execFileSync('lsattr', ['-d', dir]).toString().split(/\s+/)[0] ?? ''
}

describe('mkdirSpread', () => {
  it('makes the directory and its parents, and flags it +T where ext4 can', async () => {
    const dir = path.join(tmp, 'runs', 'stamp')
    const spread = await mkdirSpread(dir)
    expect((await fs.stat(dir)).isDirectory()).toBe(true)
    if (fsType(tmp).startsWith('ext')) {
      expect(spread).toBe(true)
      expect(flagsOf(dir)).toContain('T')
      // Only the directory asked for: its parent, made on the way, keeps the default placement.
      expect(flagsOf(path.dirname(dir))).not.toContain('T')
    } else {
      // tmpfs, overlayfs and others have no such flag: the bench falls back to waiting.
      expect(spread).toBe(false)
    }
  })

  it('is idempotent on an existing directory, leaving its content alone', async () => {
    const dir = path.join(tmp, 'runs')
    await fs.mkdir(dir)
    await fs.writeFile(path.join(dir, 'kept'), 'x')
    const first = await mkdirSpread(dir)
    expect(await mkdirSpread(dir)).toBe(first)
    expect(await fs.readFile(path.join(dir, 'kept'), 'utf8')).toBe('x')
  })
})
