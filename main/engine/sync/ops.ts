// The operations each writer appends to its own log (one Hypercore per device per folder,
// encrypted with the folder's key). A folder's state is a pure function of the set of valid ops
// in its members' logs, so every device that has seen the same ops computes the same tree.
//
// Ops come from peers: every one is parsed with a schema and bounded before it is used.
import { z } from 'zod'
import { BLOCK_SIZE } from './blobs.ts'
import { MAX_CHUNK } from './chunks.ts'

const hex32 = z.string().regex(/^[0-9a-f]{64}$/)
const hexHash = z.string().regex(/^[0-9a-f]{64}$/)
const deviceId = z.string().regex(/^[0-9a-f]{12}$/)
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

export const DEVICE_ID_LENGTH = 12
/** The most blocks of a blobs core one chunk spans. */
const MAX_CHUNK_BLOCKS = Math.ceil(MAX_CHUNK / BLOCK_SIZE)
/** A device's name in version vectors and conflict file names: the start of its log key. */
export function deviceOf(logKeyHex: string): string {
  return logKeyHex.slice(0, DEVICE_ID_LENGTH)
}

const VersionVectorSchema = z
  .record(deviceId, z.number().int().positive().max(Number.MAX_SAFE_INTEGER))
  .refine((v) => Object.keys(v).length <= 1024, 'too many devices in a version vector')

/** [chunk hash, index into op.cores, first block, block count, byte size] */
export const ChunkRefSchema = z.tuple([hexHash, count, count, count, count])
export type ChunkRef = z.infer<typeof ChunkRefSchema>

export const InitOpSchema = z.object({
  t: z.literal('init'),
  /** Key of this writer's blobs core (chunk content). */
  blobs: hex32,
  /** The device's label, for people (not trusted for anything). */
  label: z.string().max(200),
  at: count,
  /** A joiner's proof: the invite's public key and its signature over this log's key. */
  proof: z.object({ invite: hex32, sig: z.string().regex(/^[0-9a-f]{128}$/) }).nullable(),
})

export const FileOpSchema = z.object({
  t: z.literal('file'),
  path: z.string().min(2).max(4096),
  vv: VersionVectorSchema,
  kind: z.enum(['file', 'dir', 'symlink', 'deleted']),
  /** Modification time in whole milliseconds. */
  mtime: count,
  size: count,
  x: z.boolean(),
  /** Whole-content hash (files only). */
  hash: hexHash.nullable(),
  chunkSize: count,
  cores: z.array(hex32).max(1024),
  chunks: z.array(ChunkRefSchema).max(1_000_000),
  link: z.string().max(4096).nullable(),
  /** The device whose content this is (a merge op copies it from the version it keeps). */
  origin: deviceId,
  /** When the op was recorded (wall clock, ms): how long a replaced version is kept. */
  at: count,
})

export const InviteOpSchema = z.object({
  t: z.literal('invite'),
  pub: hex32,
  expires: count,
})

export const AddOpSchema = z.object({ t: z.literal('add'), key: hex32, invite: hex32 })

export const RemoveOpSchema = z.object({
  t: z.literal('remove'),
  key: hex32,
  /** The removed log's ops from this index on are refused. */
  upTo: count,
})

export const OpSchema = z.discriminatedUnion('t', [
  InitOpSchema,
  FileOpSchema,
  InviteOpSchema,
  AddOpSchema,
  RemoveOpSchema,
])

export type InitOp = z.infer<typeof InitOpSchema>
export type FileOp = z.infer<typeof FileOpSchema>
export type InviteOp = z.infer<typeof InviteOpSchema>
export type AddOp = z.infer<typeof AddOpSchema>
export type RemoveOp = z.infer<typeof RemoveOpSchema>
export type Op = z.infer<typeof OpSchema>

export function encodeOp(op: Op): Buffer {
  return Buffer.from(JSON.stringify(op), 'utf8')
}

/**
 * Core keys and device names recur in every op: each decoded op kept copies of its own (a
 * 100,000-op log held 92,000 copies of one 64-character core key, 7 MB). Bounded, since any
 * member can write ops.
 */
const interned = new Map<string, string>()
const MAX_INTERNED = 4096

function intern(s: string): string {
  const had = interned.get(s)
  if (had !== undefined) return had
  if (interned.size < MAX_INTERNED) interned.set(s, s)
  return s
}

/** Parses a block from a log; throws with a reason when it is not a valid op. */
export function decodeOp(block: Buffer): Op {
  let raw: unknown
  try {
    raw = JSON.parse(block.toString('utf8'))
  } catch {
    throw new Error('not JSON')
  }
  let op: Op | null = plainFileOp(raw)
  if (!op) {
    const res = OpSchema.safeParse(raw)
    if (!res.success) {
      throw new Error(`not a valid op: ${res.error.issues[0]?.message ?? 'invalid'}`)
    }
    op = res.data
  }
  if (op.t === 'file') {
    for (const c of op.chunks) {
      if (c[1] >= op.cores.length) throw new Error('a chunk names a core the op does not list')
      // A device fetches a chunk's blocks all at once and holds the chunk whole: a chunk of a
      // billion blocks (or bytes) ran every member out of memory, at every start.
      if (c[4] > MAX_CHUNK || c[3] > MAX_CHUNK_BLOCKS) {
        throw new Error('a chunk is larger than any device makes')
      }
    }
    if (op.kind === 'file' && op.hash === null) throw new Error('a file op has no content hash')
    op.cores = internCores(op.cores)
    op.origin = intern(op.origin)
    return fileOpOf(op)
  }
  return op
}

const HEX64 = /^[0-9a-f]{64}$/
const DEVICE = /^[0-9a-f]{12}$/
const FILE_OP_FIELDS = 14
const KINDS: ReadonlySet<unknown> = new Set(['file', 'dir', 'symlink', 'deleted'])

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
}

function isHex64(v: unknown): v is string {
  return typeof v === 'string' && HEX64.test(v)
}

/**
 * A file op in the plain shape every device writes, checked by hand: the schema's parser made
 * about 7 KB of garbage an op (a copy of every object and array, and a result for every check),
 * 15% of what indexing 100,000 files allocated. Everything this accepts, `FileOpSchema` accepts
 * and parses to the same op (no field missing, none extra, every bound the same or tighter);
 * anything else (null) goes through the schema, which decides and gives the reason.
 */
export function plainFileOp(raw: unknown): FileOp | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null
  const o = raw as Record<string, unknown>
  if (o.t !== 'file' || Object.keys(o).length !== FILE_OP_FIELDS) return null
  const { path, vv, kind, mtime, size, x, hash, chunkSize, cores, chunks, link, origin, at } = o
  // Rooted: the schema counts a string's length in code points, and '/' and at least one more
  // unit are two of them; at most 4096 units are at most 4096 code points.
  if (typeof path !== 'string' || path[0] !== '/' || path.length < 2 || path.length > 4096) {
    return null
  }
  if (!KINDS.has(kind) || typeof x !== 'boolean') return null
  if (!isCount(mtime) || !isCount(size) || !isCount(chunkSize) || !isCount(at)) return null
  if (hash !== null && !isHex64(hash)) return null
  if (link !== null && (typeof link !== 'string' || link.length > 4096)) return null
  if (typeof origin !== 'string' || !DEVICE.test(origin)) return null
  if (typeof vv !== 'object' || vv === null || Array.isArray(vv)) return null
  const devices = Object.keys(vv)
  if (devices.length > 1024) return null
  for (const d of devices) {
    const n = (vv as Record<string, unknown>)[d]
    if (!DEVICE.test(d) || !isCount(n) || n === 0) return null
  }
  if (!Array.isArray(cores) || cores.length > 1024 || !cores.every(isHex64)) return null
  if (!Array.isArray(chunks) || chunks.length > 1_000_000) return null
  for (const c of chunks as unknown[]) {
    if (!Array.isArray(c) || c.length !== 5 || !isHex64(c[0])) return null
    if (!isCount(c[1]) || !isCount(c[2]) || !isCount(c[3]) || !isCount(c[4])) return null
  }
  return fileOpOf({
    t: 'file',
    path,
    vv: vv as FileOp['vv'],
    kind: kind as FileOp['kind'],
    mtime,
    size,
    x,
    hash,
    chunkSize,
    cores: cores as string[],
    chunks: chunks as FileOp['chunks'],
    link,
    origin,
    at,
  })
}

/**
 * Most ops name the same one or two cores: they share one frozen list (a list of its own was
 * 56 bytes an op). Bounded like `intern`.
 */
const coreLists = new Map<string, readonly string[]>()

export function internCores(cores: readonly string[]): string[] {
  const k = cores.join(',')
  const had = coreLists.get(k)
  if (had !== undefined) return had as string[]
  const list = Object.freeze(cores.map(intern))
  if (coreLists.size < MAX_INTERNED) coreLists.set(k, list)
  return list as string[]
}

/**
 * The op as one object literal: one hidden class for every file op, all fields in the object.
 * The schema's parser adds fields one at a time, and past the first few V8 moves them to a
 * separate property array (112 bytes an op); ops recorded here are built by spreading.
 */
export function fileOpOf(op: FileOp): FileOp {
  return {
    t: 'file',
    path: op.path,
    vv: op.vv,
    kind: op.kind,
    mtime: op.mtime,
    size: op.size,
    x: op.x,
    hash: op.hash,
    chunkSize: op.chunkSize,
    cores: op.cores,
    chunks: op.chunks,
    link: op.link,
    origin: op.origin,
    at: op.at,
  }
}

/** Whether two file ops record the same thing (as their encodings would). */
export function sameFileOp(a: FileOp, b: FileOp): boolean {
  if (
    a.path !== b.path ||
    a.kind !== b.kind ||
    a.mtime !== b.mtime ||
    a.size !== b.size ||
    a.x !== b.x ||
    a.hash !== b.hash ||
    a.chunkSize !== b.chunkSize ||
    a.link !== b.link ||
    a.origin !== b.origin ||
    a.at !== b.at ||
    a.cores.length !== b.cores.length ||
    a.chunks.length !== b.chunks.length
  ) {
    return false
  }
  const ka = Object.keys(a.vv)
  if (ka.length !== Object.keys(b.vv).length) return false
  for (const k of ka) if (a.vv[k] !== b.vv[k]) return false
  for (let i = 0; i < a.cores.length; i++) if (a.cores[i] !== b.cores[i]) return false
  for (let i = 0; i < a.chunks.length; i++) {
    const ca = a.chunks[i] as FileOp['chunks'][number]
    const cb = b.chunks[i] as FileOp['chunks'][number]
    for (let j = 0; j < 5; j++) if (ca[j] !== cb[j]) return false
  }
  return true
}

/** What makes two versions the same content (attributes included). */
export function contentKey(op: FileOp): string {
  switch (op.kind) {
    case 'deleted':
      return 'deleted'
    case 'dir':
      return 'dir'
    case 'symlink':
      return `l:${op.link ?? ''}`
    case 'file':
      return `f:${op.hash ?? ''}:${op.x ? 'x' : '-'}`
  }
}
