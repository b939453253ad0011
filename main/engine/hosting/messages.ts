// Messages of the hosting protocol ('spare-hosting/1', one Protomux channel per hosting
// connection). Every message comes from a peer: each is parsed with a schema before it is used.
import { z } from 'zod'

const hex32 = z.string().regex(/^[0-9a-f]{64}$/)
const folderId = z.string().regex(/^[0-9a-f]{16}$/)
const bytes = z.number().int().nonnegative().max(1e18)
const reqId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

export const HOSTING_PROTOCOL = 'spare-hosting/1'
export const HELLO_TAG = 'spare-hosting-hello-v1\0'

export const MessageSchema = z.discriminatedUnion('t', [
  /** Who I am (identity key, signed for this connection) and what I can host. */
  z.strictObject({
    t: z.literal('hello'),
    identity: hex32,
    ledger: hex32,
    /** Bytes this node would still accept to host (0: not donating). */
    free: bytes,
    sig: z.string().regex(/^[0-9a-f]{128}$/),
  }),
  /** Owner → host: please keep these cores of a folder, up to `bytes`. Sent again to grow. */
  z.strictObject({
    t: z.literal('request'),
    id: reqId,
    folder: folderId,
    topic: hex32,
    cores: z.array(hex32).min(1).max(10_000),
    bytes,
  }),
  z.strictObject({
    t: z.literal('reply'),
    id: reqId,
    ok: z.boolean(),
    reason: z.string().max(500).nullable(),
  }),
  /** Owner → host: stop keeping a folder. */
  z.strictObject({ t: z.literal('release'), folder: folderId }),
  /** Host → owner: how much of a folder it holds now; `evicted` when it dropped it. */
  z.strictObject({
    t: z.literal('status'),
    folder: folderId,
    bytes,
    /** Core → contiguous length held. */
    have: z.record(hex32, z.number().int().nonnegative()),
    /** Core → blocks held in all, past gaps no peer can fill too (absent from older hosts). */
    blocks: z.record(hex32, z.number().int().nonnegative()).optional(),
    evicted: z.string().max(500).nullable(),
  }),
  /** Owner → host: prove you hold block `index` of `core`: BLAKE2b(nonce | block). */
  z.strictObject({
    t: z.literal('audit'),
    id: reqId,
    core: hex32,
    index: z.number().int().nonnegative(),
    nonce: z.string().regex(/^[0-9a-f]{32}$/),
  }),
  z.strictObject({
    t: z.literal('proof'),
    id: reqId,
    hash: hex32.nullable(),
  }),
  /** Owner → host: whether its proof was right (the host claims only passed audits). */
  z.strictObject({ t: z.literal('audit-result'), folder: folderId, ok: z.boolean() }),
  /** Host → owner: a receipt for the period, signed by the host; asks for the owner's signature. */
  z.strictObject({ t: z.literal('receipt'), id: reqId, receipt: z.unknown() }),
  z.strictObject({
    t: z.literal('countersign'),
    id: reqId,
    sig: z
      .string()
      .regex(/^[0-9a-f]{128}$/)
      .nullable(),
    reason: z.string().max(500).nullable(),
  }),
])

export type Message = z.infer<typeof MessageSchema>

export function encodeMessage(m: Message): Buffer {
  return Buffer.from(JSON.stringify(m))
}

export function decodeMessage(buf: Buffer): Message {
  if (buf.length > 1024 * 1024) throw new Error('message too large')
  let raw: unknown
  try {
    raw = JSON.parse(buf.toString('utf8'))
  } catch {
    throw new Error('not JSON')
  }
  const res = MessageSchema.safeParse(raw)
  if (!res.success) throw new Error(`bad message: ${res.error.issues[0]?.message ?? 'invalid'}`)
  return res.data
}
