// The data directory's lock file: `spare.lock` holding the pid of the process that uses it. A live
// pid refuses a second start; a dead pid (or a file that holds no pid: a crash of an older Spare)
// is stale and taken over.
//
// The file appears with its pid already in it (written to a temp file, then hard-linked into
// place, which fails if the name exists): a lock created empty and filled afterwards was read as
// stale by a second start in between, which removed it and started too. A stale lock is removed
// only under `spare.lock.takeover` (created the same way), after reading it again.
import { promises as fs } from 'node:fs'
import { randomBytes } from 'node:crypto'

export async function acquireDirLock(file: string, dataDir: string): Promise<void> {
  const mine = String(process.pid)
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const takeover = `${file}.takeover`
  await fs.writeFile(tmp, mine, { mode: 0o600 })
  try {
    for (let attempt = 0; attempt < 200; attempt++) {
      if (await linkOrCreate(tmp, file, mine)) return
      const pid = await readPid(file)
      if (pid === undefined) continue // gone meanwhile: try again
      refuseIfLive(pid, dataDir)
      // Stale. Only the holder of the takeover file removes it, and only after reading it again
      // while it holds that: without this, two starts that found the same stale lock could each
      // remove it, the second removing the fresh lock of the first.
      if (!(await linkOrCreate(tmp, takeover, mine))) {
        await clearAbandoned(takeover)
        await new Promise((r) => setTimeout(r, 5 + Math.random() * 20))
        continue
      }
      try {
        const again = await readPid(file)
        if (again !== undefined) {
          refuseIfLive(again, dataDir)
          await fs.rm(file, { force: true })
        }
      } finally {
        await fs.rm(takeover, { force: true })
      }
    }
    throw new Error(`cannot lock the data directory ${dataDir}`)
  } finally {
    await fs.rm(tmp, { force: true })
  }
}

/** A takeover file is held for a few milliseconds; one far older was left by a crash. */
async function clearAbandoned(takeover: string): Promise<void> {
  const st = await fs.stat(takeover).catch(() => null)
  if (st && Date.now() - st.mtimeMs > 10_000) await fs.rm(takeover, { force: true })
}

/** Removes the lock file if it is still this process's. */
export async function releaseDirLock(file: string): Promise<void> {
  if ((await readPid(file)) === process.pid) await fs.rm(file, { force: true })
}

/** Puts the filled temp file in place under `file`; false when `file` exists. */
async function linkOrCreate(tmp: string, file: string, content: string): Promise<boolean> {
  try {
    await fs.link(tmp, file)
    return true
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return false
    // A file system without hard links (FAT, some network shares): create-exclusive instead.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EXDEV') throw err
  }
  try {
    await fs.writeFile(file, content, { flag: 'wx', mode: 0o600 })
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
}

/** The pid in a lock file: 0 when it holds none, undefined when the file is gone. */
async function readPid(file: string): Promise<number | undefined> {
  let text: string
  try {
    text = await fs.readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      // A symlink to nothing holds no pid: stale, like an empty file (it was retried for ever).
      return (await fs.lstat(file).catch(() => null)) ? 0 : undefined
    }
    // A directory in its place, or a file this user cannot read: named, with what to do.
    throw new Error(
      `the lock file ${file} cannot be read (${(err as Error).message}). If no Spare is running, remove it.`,
      { cause: err },
    )
  }
  const pid = Number(text.trim())
  return Number.isInteger(pid) && pid > 0 ? pid : 0
}

function refuseIfLive(pid: number, dataDir: string): void {
  if (pid === process.pid) {
    throw new Error(`another Spare in this process is already using the data directory ${dataDir}`)
  }
  if (pid && isAlive(pid)) {
    throw new Error(`another Spare (pid ${pid}) is already using the data directory ${dataDir}`)
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
