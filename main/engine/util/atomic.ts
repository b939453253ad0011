// Crash-safe file writes: write a temp file beside the target, fsync it, rename it over the
// target, then fsync the directory. A crash at any point leaves either the old or the new file.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'

export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<void> {
  const dir = path.dirname(file)
  await fs.mkdir(dir, { recursive: true })
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  const handle = await fs.open(tmp, 'w', opts.mode ?? 0o644)
  try {
    try {
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (opts.mode !== undefined) await fs.chmod(tmp, opts.mode)
    await fs.rename(tmp, file)
  } catch (err) {
    // A full disk fails the write or the fsync: the temp file must not stay behind.
    await fs.rm(tmp, { force: true })
    throw err
  }
  await syncDir(dir)
}

async function syncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | null = null
  try {
    handle = await fs.open(dir, 'r')
    await handle.sync()
  } catch {
    // Some platforms (Windows) cannot fsync a directory; the rename is still atomic there.
  } finally {
    await handle?.close()
  }
}
