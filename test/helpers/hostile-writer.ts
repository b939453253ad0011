// A hostile member of a two-way folder, for tests: it can join as a legitimately invited writer
// (or try to, as an uninvited stranger with a forged proof) and then append whatever it likes to
// its own log: valid file ops with real content in its own blobs core, and ops that lie, escape
// the folder or are not ops at all. It talks to the folder's devices with raw Corestore and
// Hyperswarm on the given bootstrap, like any peer would.
//
// usage: node --import tsx test/helpers/hostile-writer.ts BOOTSTRAP STORE_DIR INVITE
//
// INVITE names the folder (its root key and encryption key). Commands come on stdin, one JSON
// object per line ({"id": n, "cmd": ..., ...}); each gets one JSON reply line on stdout
// ({"id": n, "ok": true, ...} or {"id": n, "error": ...}), in order:
//
//   join     {name, proof, invite?, replay?}  opens log + blobs in namespace `name`, appends its
//            init op with a proof and announces the log on the join extension until accepted.
//            proof: 'valid' (signed with the invite's seed), 'bad-sig' (the invite's key signs
//            something else), 'unknown-invite' (a key pair no member recorded), 'none' (null),
//            'replay' (copies `replay` = another log's {invite, sig}). `invite` overrides which
//            invite's seed is used. Replies {key, device, blobs, proof}.
//   accepted {name, timeoutMs?}  waits until the root log adds the log; replies {accepted}.
//   append   {name, specs}       appends one block per spec (see Spec); replies {seqs}.
//   fetch    {path}              reads the newest op for `path` in the root log and fetches its
//            content from the cores it names, checking every chunk's hash; replies {content} or
//            {problem, cores}.
//   spam     {count}             announces `count` random log keys on the join extension.
import readline from 'node:readline'
import Corestore from 'corestore'
import Hyperswarm from 'hyperswarm'
import HyperDHT from 'hyperdht'
import crypto from 'hypercore-crypto'
import type Hypercore from 'hypercore'
import { decodeInvite } from '../../main/engine/folders/invite.ts'
import { JOIN_EXTENSION, joinMessage } from '../../main/engine/sync/sync-folder.ts'
import { decodeOp, deviceOf, type FileOp } from '../../main/engine/sync/ops.ts'
import { BLOCK_SIZE, contentHash, hashChunk } from '../../main/engine/sync/blobs.ts'
import { chunkSizeFor } from '../../main/engine/sync/chunks.ts'

/** A file op with real content in this writer's blobs core, then bent as asked. */
export interface FileSpec {
  file: string
  content?: string
  /** The content is `content` repeated this many times. */
  repeat?: number
  /** Split the content into chunks of this many bytes (default: chunkSizeFor(size)). */
  chunkBytes?: number
  /** The op names the chunk hashes of this text instead of the bytes it stores (a lie). */
  claim?: string
  /** Every chunk names this index into op.cores. */
  coreIndex?: number
  x?: boolean
  /** Extra version vector entries (other devices' counters). */
  vvExtra?: Record<string, number>
  /** Fields replaced after the op is built. */
  patch?: Record<string, unknown>
}

export type Spec =
  | FileSpec
  | { dir: string; vvExtra?: Record<string, number> }
  | { symlink: string; target: string; vvExtra?: Record<string, number> }
  | { deleted: string; vvExtra?: Record<string, number> }
  /** Appended as these UTF-8 bytes. */
  | { raw: string }
  /** Appended as these bytes. */
  | { hex: string }
  /** JSON-encoded as is: no schema, no checks. */
  | { json: unknown }

export type ProofKind = 'valid' | 'bad-sig' | 'unknown-invite' | 'none' | 'replay'

interface Writer {
  log: Hypercore
  blobs: Hypercore
  key: string
  device: string
  clock: number
  announce: NodeJS.Timeout | null
}

const [bootstrapArg, storeDir, inviteArg] = process.argv.slice(2)
if (!bootstrapArg || !storeDir || !inviteArg) {
  process.stderr.write('usage: hostile-writer BOOTSTRAP STORE_DIR INVITE\n')
  process.exit(2)
}
const bootstrap = bootstrapArg.split(',').map((hp) => {
  const [host, port] = hp.split(':')
  return { host: host!, port: Number(port) }
})
const invite = decodeInvite(inviteArg)
const encryptionKey = invite.encryptionKey

const store = new Corestore(storeDir)
const root = store.get({ key: invite.key, encryptionKey })
await root.ready()
root.download({ start: 0, end: -1 })
const writers = new Map<string, Writer>()
const ext = root.registerExtension<Buffer>(JOIN_EXTENSION, {})
const announceAll = (): void => {
  for (const w of writers.values()) {
    if (w.announce) ext.broadcast(Buffer.from(JSON.stringify({ key: w.key })))
  }
}
root.on('peer-add', announceAll)

const dht = new HyperDHT({ bootstrap, host: '127.0.0.1', firewalled: false })
const swarm = new Hyperswarm({ dht })
swarm.on('connection', (conn) => {
  conn.on('error', () => {})
  store.replicate(conn)
})
await swarm.join(root.discoveryKey, { server: true, client: true }).flushed()

function writerOf(name: unknown): Writer {
  const w = writers.get(String(name))
  if (!w) throw new Error(`no log named ${String(name)}`)
  return w
}

async function join(args: Record<string, unknown>): Promise<object> {
  const name = String(args.name)
  if (writers.has(name)) throw new Error(`${name} exists`)
  const ns = store.namespace(`hostile-${name}`)
  const log = ns.get({ name: 'log', encryptionKey })
  const blobs = ns.get({ name: 'blobs', encryptionKey })
  await Promise.all([log.ready(), blobs.ready()])
  const seed =
    typeof args.invite === 'string' ? decodeInvite(args.invite).seed : (invite.seed ?? null)
  const message = joinMessage(invite.key, log.key)
  let proof: { invite: string; sig: string } | null
  switch (args.proof as ProofKind) {
    case 'valid':
    case 'bad-sig': {
      if (!seed) throw new Error('the invite carries no seed')
      const kp = crypto.keyPair(seed)
      const signed = args.proof === 'valid' ? message : joinMessage(invite.key, randomKey())
      proof = {
        invite: kp.publicKey.toString('hex'),
        sig: crypto.sign(signed, kp.secretKey).toString('hex'),
      }
      break
    }
    case 'unknown-invite': {
      const kp = crypto.keyPair()
      proof = {
        invite: kp.publicKey.toString('hex'),
        sig: crypto.sign(message, kp.secretKey).toString('hex'),
      }
      break
    }
    case 'none':
      proof = null
      break
    case 'replay':
      proof = args.replay as { invite: string; sig: string }
      break
    default:
      throw new Error(`unknown proof ${String(args.proof)}`)
  }
  await log.append(
    Buffer.from(
      JSON.stringify({
        t: 'init',
        blobs: blobs.key.toString('hex'),
        label: `hostile-${name}`,
        at: Date.now(),
        proof,
      }),
    ),
  )
  const key = log.key.toString('hex')
  const w: Writer = { log, blobs, key, device: deviceOf(key), clock: 0, announce: null }
  writers.set(name, w)
  // `quiet`: a log only another log names (an add), never announced for a join check.
  if (!args.quiet) {
    w.announce = setInterval(announceAll, 1000)
    announceAll()
  }
  return { key, device: w.device, blobs: blobs.key.toString('hex'), proof }
}

function randomKey(): Buffer {
  return crypto.randomBytes(32)
}

/** Every op of the root log that decodes, with its index. */
async function rootOps(): Promise<Array<{ seq: number; op: ReturnType<typeof decodeOp> }>> {
  const out: Array<{ seq: number; op: ReturnType<typeof decodeOp> }> = []
  for (let i = 0; i < root.length; i++) {
    const block = await root.get(i, { timeout: 10_000 })
    if (!block) continue
    try {
      out.push({ seq: i, op: decodeOp(block) })
    } catch {
      // Not an op: the folder's devices refuse it too.
    }
  }
  return out
}

async function accepted(args: Record<string, unknown>): Promise<object> {
  const w = writerOf(args.name)
  const deadline = Date.now() + (Number(args.timeoutMs) || 60_000)
  while (Date.now() < deadline) {
    const ops = await rootOps()
    if (ops.some(({ op }) => op.t === 'add' && op.key === w.key)) {
      if (w.announce) clearInterval(w.announce)
      w.announce = null
      return { accepted: true }
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  return { accepted: false }
}

async function fileOp(w: Writer, s: FileSpec): Promise<FileOp> {
  const text = (s.content ?? '').repeat(s.repeat ?? 1)
  const data = Buffer.from(text, 'utf8')
  const claimed = s.claim === undefined ? data : Buffer.from(s.claim, 'utf8')
  const chunkBytes = s.chunkBytes ?? chunkSizeFor(data.length)
  const blobsHex = w.blobs.key.toString('hex')
  const chunks: FileOp['chunks'] = []
  const hashes: string[] = []
  for (let off = 0; off < data.length; off += chunkBytes) {
    const chunk = data.subarray(off, off + chunkBytes)
    const blocks: Buffer[] = []
    for (let b = 0; b < chunk.length; b += BLOCK_SIZE)
      blocks.push(chunk.subarray(b, b + BLOCK_SIZE))
    const first = w.blobs.length
    await w.blobs.append(blocks)
    // A lie names the claimed text's chunk at the same position, with its size.
    const named = s.claim === undefined ? chunk : claimed.subarray(off, off + chunkBytes)
    const h = hashChunk(named)
    hashes.push(h)
    chunks.push([h, s.coreIndex ?? 0, first, blocks.length, named.length])
  }
  const op: FileOp = {
    t: 'file',
    path: s.file,
    vv: vvFor(w, s.vvExtra),
    kind: 'file',
    mtime: Date.now() - 60_000,
    size: claimed.length,
    x: s.x ?? false,
    hash: contentHash(hashes, claimed.length),
    chunkSize: chunkBytes,
    cores: [blobsHex],
    chunks,
    link: null,
    origin: w.device,
    at: Date.now(),
  }
  return { ...op, ...(s.patch ?? {}) } as FileOp
}

function vvFor(w: Writer, extra?: Record<string, number>): Record<string, number> {
  w.clock++
  return { ...(extra ?? {}), [w.device]: w.clock }
}

function plainOp(
  w: Writer,
  p: string,
  kind: 'dir' | 'symlink' | 'deleted',
  link: string | null,
  extra?: Record<string, number>,
): FileOp {
  return {
    t: 'file',
    path: p,
    vv: vvFor(w, extra),
    kind,
    mtime: Date.now() - 60_000,
    size: 0,
    x: false,
    hash: null,
    chunkSize: 0,
    cores: [],
    chunks: [],
    link,
    origin: w.device,
    at: Date.now(),
  }
}

async function block(w: Writer, s: Spec): Promise<Buffer> {
  if ('raw' in s) return Buffer.from(s.raw, 'utf8')
  if ('hex' in s) return Buffer.from(s.hex, 'hex')
  if ('json' in s) return Buffer.from(JSON.stringify(s.json), 'utf8')
  let op: FileOp
  if ('file' in s) op = await fileOp(w, s)
  else if ('dir' in s) op = plainOp(w, s.dir, 'dir', null, s.vvExtra)
  else if ('symlink' in s) op = plainOp(w, s.symlink, 'symlink', s.target, s.vvExtra)
  else op = plainOp(w, s.deleted, 'deleted', null, s.vvExtra)
  return Buffer.from(JSON.stringify(op), 'utf8')
}

async function append(args: Record<string, unknown>): Promise<object> {
  const w = writerOf(args.name)
  const blocks: Buffer[] = []
  for (const s of args.specs as Spec[]) blocks.push(await block(w, s))
  const first = w.log.length
  await w.log.append(blocks)
  return { seqs: blocks.map((_, i) => first + i) }
}

async function fetch(args: Record<string, unknown>): Promise<object> {
  const ops = (await rootOps()).filter(({ op }) => op.t === 'file' && op.path === args.path)
  const last = ops[ops.length - 1]?.op as FileOp | undefined
  if (!last) return { problem: 'no op for this path in the root log' }
  if (last.kind !== 'file') return { problem: `the newest op is a ${last.kind}`, cores: [] }
  const parts: Buffer[] = []
  for (const [hash, coreIdx, first, count, size] of last.chunks) {
    const core = store.get({ key: Buffer.from(last.cores[coreIdx]!, 'hex'), encryptionKey })
    await core.ready()
    const blocks: Buffer[] = []
    for (let i = 0; i < count; i++) {
      const b = await core.get(first + i, { timeout: 10_000 }).catch(() => null)
      if (!b) return { problem: 'a block is unavailable', cores: last.cores }
      blocks.push(b)
    }
    const data = Buffer.concat(blocks)
    if (data.length !== size || hashChunk(data) !== hash) {
      return { problem: 'a chunk does not match its hash', cores: last.cores }
    }
    parts.push(data)
  }
  return { content: Buffer.concat(parts).toString('utf8'), cores: last.cores }
}

/** Announces `count` random log keys on the join extension (logs nobody has). */
async function spam(args: Record<string, unknown>): Promise<object> {
  const count = Number(args.count) || 0
  for (let i = 0; i < count; i++) {
    ext.broadcast(Buffer.from(JSON.stringify({ key: randomKey().toString('hex') })))
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10))
  }
  return { sent: count }
}

const handlers: Record<string, (args: Record<string, unknown>) => Promise<object>> = {
  join,
  accepted,
  append,
  fetch,
  spam,
}

let queue: Promise<void> = Promise.resolve()
const rl = readline.createInterface({ input: process.stdin })
rl.on('line', (line) => {
  queue = queue.then(async () => {
    let id: unknown = null
    try {
      const msg = JSON.parse(line) as Record<string, unknown>
      id = msg.id
      const handler = handlers[String(msg.cmd)]
      if (!handler) throw new Error(`unknown command ${String(msg.cmd)}`)
      const res = await handler(msg)
      process.stdout.write(JSON.stringify({ id, ok: true, ...res }) + '\n')
    } catch (err) {
      process.stdout.write(JSON.stringify({ id, error: (err as Error).message }) + '\n')
    }
  })
})
process.stdout.write(JSON.stringify({ ready: true }) + '\n')

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  void (async () => {
    for (const w of writers.values()) if (w.announce) clearInterval(w.announce)
    await swarm.destroy().catch(() => {})
    await store.close().catch(() => {})
    process.exit(0)
  })()
}
process.once('SIGTERM', stop)
rl.once('close', stop)
