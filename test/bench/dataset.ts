// The benchmark's dataset: big files of random bytes plus many small files in folders, generated
// once from a fixed seed (so runs on any machine compare) and cached with a manifest of sizes and
// SHA-256 digests. The bytes come from AES-256-CTR over zeros, keyed by the seed and the file's
// path: incompressible, deterministic and fast (GB/s), unlike a JavaScript PRNG.
import { createCipheriv, createHash } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'

export interface DatasetSpec {
  name: string
  seed: string
  bigFiles: number
  bigSize: number
  smallFiles: number
  smallSize: number
  smallFolders: number
  /** More files at fixed paths (the two-way seed's file edited in place). */
  extra?: Array<{ path: string; size: number }>
}

export interface ManifestEntry {
  /** Path relative to the dataset root, with '/' separators. */
  path: string
  size: number
  sha256: string
}

export interface Dataset {
  spec: DatasetSpec
  root: string
  files: ManifestEntry[]
  totalBytes: number
}

/** 20 × 25 MB + 5,000 × 4 KiB in 50 folders: 520.5 MB (496 MiB), as in PERF-NOTES.md. */
export const FULL: DatasetSpec = {
  name: 'full',
  seed: 'spare-bench-1',
  bigFiles: 20,
  bigSize: 25_000_000,
  smallFiles: 5000,
  smallSize: 4096,
  smallFolders: 50,
}

/** A quick smoke run: 2 × 5 MB + 200 × 4 KiB in 4 folders. */
export const SMALL: DatasetSpec = {
  name: 'small',
  seed: 'spare-bench-1',
  bigFiles: 2,
  bigSize: 5_000_000,
  smallFiles: 200,
  smallSize: 4096,
  smallFolders: 4,
}

/**
 * The two-way section's data: the seed of a folder that three writers share, and a tree of many
 * small files for the initial-index figure. Both are cached like the one-way dataset.
 */
export interface TwoWaySpec {
  /** One 25 MB file (changed in place in figure 8) and small files (changed in figure 11): A's
   *  folder at the start. Also big files in `renameDir`, moved into A's folder and then renamed
   *  in figure 9. */
  seed: DatasetSpec
  /** The file changed in place, and the change: `editLength` bytes at `editOffset`. */
  editFile: string
  editOffset: number
  editLength: number
  /** The folder renamed in figure 9, and its bytes. */
  renameDir: string
  renameBytes: number
  /** Figure 10: small files indexed from scratch. */
  index: DatasetSpec
}

/** Full: a 1 GB folder to rename and 100,000 files to index. Small (--small): 64 MB, 10,000. */
export function twoWaySpec(
  small: boolean,
  opts: { renameMb?: number; indexFiles?: number } = {},
): TwoWaySpec {
  const renameMb = opts.renameMb ?? (small ? 64 : 1000)
  const indexFiles = opts.indexFiles ?? (small ? 10_000 : 100_000)
  const bigFiles = 4
  const bigSize = Math.max(1, Math.round((renameMb * 1e6) / bigFiles))
  return {
    seed: {
      name: `two-way-${renameMb}mb`,
      seed: 'spare-bench-1',
      bigFiles,
      bigSize,
      smallFiles: 200,
      smallSize: 4096,
      smallFolders: 10,
      extra: [{ path: 'edit/file-25mb.bin', size: 25_000_000 }],
    },
    editFile: 'edit/file-25mb.bin',
    // 1 MiB in the middle, on a 128 KiB boundary: the block size both tools use for 25 MB.
    editOffset: 12 * 1024 * 1024,
    editLength: 1024 * 1024,
    renameDir: 'big',
    renameBytes: bigFiles * bigSize,
    index: {
      name: `index-${indexFiles}`,
      seed: 'spare-bench-1',
      bigFiles: 0,
      bigSize: 0,
      smallFiles: indexFiles,
      smallSize: 4096,
      smallFolders: Math.max(1, Math.ceil(indexFiles / 100)),
    },
  }
}

const MANIFEST = 'manifest.json'
const MANIFEST_VERSION = 1
const CHUNK = 1 << 20

/** Deterministic pseudo-random bytes for a (seed, label) pair, written `size` bytes at a time. */
export function keystream(seed: string, label: string): (size: number) => Buffer {
  const key = createHash('sha256').update(`${seed}\0${label}`).digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  return (size) => cipher.update(Buffer.alloc(size))
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0')
}

function layout(spec: DatasetSpec): Array<{ path: string; size: number }> {
  const out: Array<{ path: string; size: number }> = []
  for (let i = 0; i < spec.bigFiles; i++) {
    out.push({ path: `big/big-${pad(i, 2)}.bin`, size: spec.bigSize })
  }
  const perFolder = Math.ceil(spec.smallFiles / Math.max(1, spec.smallFolders))
  for (let i = 0; i < spec.smallFiles; i++) {
    const folder = Math.floor(i / perFolder)
    out.push({
      path: `small/dir-${pad(folder, 2)}/file-${pad(i % perFolder, 3)}.bin`,
      size: spec.smallSize,
    })
  }
  for (const e of spec.extra ?? []) out.push({ path: e.path, size: e.size })
  return out
}

async function writeFileFromStream(file: string, size: number, next: (n: number) => Buffer) {
  const hash = createHash('sha256')
  const handle = await fs.open(file, 'w')
  try {
    for (let done = 0; done < size;) {
      const chunk = next(Math.min(CHUNK, size - done))
      hash.update(chunk)
      await handle.write(chunk)
      done += chunk.length
    }
  } finally {
    await handle.close()
  }
  return hash.digest('hex')
}

async function readManifest(dir: string, spec: DatasetSpec): Promise<ManifestEntry[] | null> {
  try {
    const doc = JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as {
      version?: unknown
      spec?: unknown
      files?: ManifestEntry[]
    }
    if (doc.version !== MANIFEST_VERSION) return null
    if (JSON.stringify(doc.spec) !== JSON.stringify(spec)) return null
    if (!Array.isArray(doc.files)) return null
    // Cheap integrity check: every file is there with its size. (The digests are checked on
    // the reader side of each run, which would flag a damaged cache anyway.)
    for (const f of doc.files) {
      const st = await fs.stat(path.join(dir, 'data', f.path)).catch(() => null)
      if (!st || st.size !== f.size) return null
    }
    return doc.files
  } catch {
    return null
  }
}

/** Returns the cached dataset under `workDir`, generating it first if missing or stale. */
export async function ensureDataset(
  workDir: string,
  spec: DatasetSpec,
  log: (msg: string) => void,
): Promise<Dataset> {
  const dir = path.join(workDir, `dataset-${spec.name}`)
  const root = path.join(dir, 'data')
  let files = await readManifest(dir, spec)
  if (files) {
    log(`dataset: cached at ${root}`)
  } else {
    const started = Date.now()
    log(`dataset: generating ${spec.name} dataset at ${root} ...`)
    await fs.rm(dir, { recursive: true, force: true })
    await fs.mkdir(root, { recursive: true })
    files = []
    for (const entry of layout(spec)) {
      const file = path.join(root, entry.path)
      await fs.mkdir(path.dirname(file), { recursive: true })
      const sha256 = await writeFileFromStream(file, entry.size, keystream(spec.seed, entry.path))
      files.push({ path: entry.path, size: entry.size, sha256 })
    }
    const doc = { version: MANIFEST_VERSION, spec, files }
    await fs.writeFile(path.join(dir, MANIFEST), JSON.stringify(doc, null, 1))
    log(`dataset: generated in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0)
  return { spec, root, files, totalBytes }
}

/** Copies the dataset into a fresh folder (a real copy: each tool gets its own inodes). */
export async function copyDataset(root: string, dest: string): Promise<void> {
  await fs.rm(dest, { recursive: true, force: true })
  await fs.cp(root, dest, { recursive: true, preserveTimestamps: true })
}

/**
 * Gives `dest` the dataset's tree with every file hard-linked to the cache: 100,000 files in a
 * couple of seconds instead of a copy. Only for tools that read the files and never write them
 * (the index figure); the cache's manifest check would not notice a file changed in place.
 */
export async function linkDataset(root: string, dest: string): Promise<void> {
  await fs.rm(dest, { recursive: true, force: true })
  const walk = async (from: string, to: string): Promise<void> => {
    await fs.mkdir(to, { recursive: true })
    const entries = await fs.readdir(from, { withFileTypes: true })
    const files = entries.filter((e) => e.isFile())
    for (let i = 0; i < files.length; i += 64) {
      await Promise.all(
        files.slice(i, i + 64).map((e) => fs.link(path.join(from, e.name), path.join(to, e.name))),
      )
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(path.join(from, e.name), path.join(to, e.name))
    }
  }
  await walk(root, dest)
}
