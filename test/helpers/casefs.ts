// A case-insensitive, case-preserving folder for tests, as on macOS and Windows: casefs.py, a FUSE
// file system over a temp folder (Debian's python3-fusepy; /dev/fuse; root to mount). CI installs
// the package and sets SPARE_REQUIRE_CASEFS=1, so there a missing piece fails the tests that use
// it instead of skipping them.
import { execFile, spawn, spawnSync } from 'node:child_process'
import { existsSync, promises as fs, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Fixtures } from './unit-fixtures.ts'

const PYTHON = '/usr/bin/python3'
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'casefs.py')

/** Why a case-insensitive folder can't be mounted here, or null when it can. */
export function caseFsMissing(): string | null {
  if (!existsSync('/dev/fuse')) return 'no /dev/fuse'
  if (process.getuid?.() !== 0) return 'mounting FUSE needs root here'
  const probe = spawnSync(PYTHON, ['-c', 'import fusepy'], { stdio: 'ignore' })
  if (probe.status !== 0)
    return `${PYTHON} can't import fusepy (Debian: apt-get install python3-fusepy)`
  return null
}

/** Whether the tests that need it run: they can, or CI requires them to. */
export const caseFsTests = caseFsMissing() === null || process.env.SPARE_REQUIRE_CASEFS === '1'

function mounted(dir: string): boolean {
  return readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === dir)
}

/**
 * A fresh, empty case-insensitive folder, unmounted (and its backing files removed) after the
 * test. Names written through it keep their case; any spelling finds them.
 */
export async function caseInsensitiveDir(fx: Fixtures): Promise<string> {
  const missing = caseFsMissing()
  if (missing) throw new Error(`a case-insensitive test folder needs FUSE: ${missing}`)
  const root = await fx.tmpDir('spare-casefs-')
  const backing = path.join(root, 'backing')
  const mount = path.join(root, 'mount')
  await fs.mkdir(backing)
  await fs.mkdir(mount)
  const child = spawn(PYTHON, [SCRIPT, backing, mount], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  fx.defer(async () => {
    if (mounted(mount)) {
      await new Promise<void>((resolve) =>
        execFile('umount', [mount], (err) => {
          if (!err) return resolve()
          // Busy (a handle still open): detached now, gone when the handle closes.
          execFile('umount', ['-l', mount], () => resolve())
        }),
      )
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(timer)
  })
  const until = Date.now() + 10_000
  while (!mounted(mount)) {
    if (child.exitCode !== null) throw new Error(`casefs.py exited: ${stderr.trim()}`)
    if (Date.now() > until) throw new Error(`casefs.py did not mount in 10 s: ${stderr.trim()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return mount
}
