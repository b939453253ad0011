// Messages of the compute protocol ('spare-compute/1', one Protomux channel per connection of the
// compute swarm). Every message comes from a peer: each is parsed with a schema before it is used,
// and module, input and output sizes are capped here, before anything is decoded.
import { z } from 'zod'
import {
  JOB_INPUT_MAX_BYTES,
  JOB_MODULE_MAX_BYTES,
  JOB_OUTPUT_MAX_BYTES,
  JobErrorKindSchema,
} from '../../../shared/contract.ts'

const hex32 = z.string().regex(/^[0-9a-f]{64}$/)
const sig = z.string().regex(/^[0-9a-f]{128}$/)
const ms = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const base64 = (maxBytes: number): z.ZodString =>
  z
    .string()
    .max(Math.ceil(maxBytes / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/)

export const COMPUTE_PROTOCOL = 'spare-compute/1'
/**
 * This node's version of the compute protocol, sent when the channel opens (net/peer-channel.ts).
 * 2 added 'held'. A message is sent only to peers on a version that knows it: a peer on an older
 * one (or from before versions were sent, which counts as 1) would refuse it as bad.
 */
export const COMPUTE_PROTOCOL_VERSION = 2
/** The first version that knows the 'held' message. */
export const HELD_SINCE_VERSION = 2
export const COMPUTE_HELLO_TAG = 'spare-compute-hello-v1\0'
/** Largest message: a job with a full module and input, base64, plus its fields. */
export const MAX_MESSAGE_BYTES =
  Math.ceil(JOB_MODULE_MAX_BYTES / 3) * 4 + Math.ceil(JOB_OUTPUT_MAX_BYTES / 3) * 4 + 64 * 1024

export const MessageSchema = z.discriminatedUnion('t', [
  /** Who I am (identity key, signed for this connection), my ledger, and how many jobs I take. */
  z.strictObject({
    t: z.literal('hello'),
    identity: hex32,
    ledger: hex32,
    /** Jobs this node would take now (0: not donating CPU, blocked or full). */
    slots: z.number().int().nonnegative().max(1024),
    sig,
  }),
  /** Donor → submitters: its free slots changed. */
  z.strictObject({ t: z.literal('offer'), slots: z.number().int().nonnegative().max(1024) }),
  /**
   * Submitter → donor: run this. `id` must be BLAKE2b(moduleHash | inputHash | nonce), so an id
   * names exactly one module and input.
   */
  z.strictObject({
    t: z.literal('job'),
    id: hex32,
    nonce: z.string().regex(/^[0-9a-f]{32}$/),
    module: base64(JOB_MODULE_MAX_BYTES),
    input: base64(JOB_INPUT_MAX_BYTES),
    wallMs: ms,
  }),
  /** Donor → submitter: queued (ok) or refused, and why. */
  z.strictObject({
    t: z.literal('accept'),
    id: hex32,
    ok: z.boolean(),
    reason: z.string().max(500).nullable(),
  }),
  /** Donor → submitter: the job started (it may still be suspended by the donor's limits). */
  z.strictObject({ t: z.literal('started'), id: hex32 }),
  /**
   * Donor → submitter: the job is kept, but its donating is held (a snooze, its schedule) for
   * `forMs` more; it runs after that. The submitter waits that long on top of the job's time
   * limit. (Donors before this message said nothing: they are given up on as before. Submitters
   * before it would refuse it as a bad message, so it goes only to peers on HELD_SINCE_VERSION.)
   */
  z.strictObject({ t: z.literal('held'), id: hex32, forMs: ms }),
  /** Donor → submitter: the output (or the failure) and the CPU time it took. */
  z.strictObject({
    t: z.literal('result'),
    id: hex32,
    /** BLAKE2b-256 of the output; null on failure. */
    hash: hex32.nullable(),
    output: base64(JOB_OUTPUT_MAX_BYTES).nullable(),
    error: z.strictObject({ kind: JobErrorKindSchema, message: z.string().max(2000) }).nullable(),
    cpuMs: ms,
    from: ms,
    to: ms,
  }),
  /** Submitter → donor: another result won; no credit for this run. */
  z.strictObject({ t: z.literal('outvoted'), id: hex32, agreed: hex32.nullable() }),
  /** Submitter → donor: the job is settled or withdrawn; drop it if it hasn't run. */
  z.strictObject({ t: z.literal('cancel'), id: hex32 }),
  /** Submitter → donor: a compute receipt signed by the submitter; asks for the donor's signature. */
  z.strictObject({ t: z.literal('receipt'), id: hex32, receipt: z.unknown() }),
  z.strictObject({
    t: z.literal('countersign'),
    id: hex32,
    sig: sig.nullable(),
    reason: z.string().max(500).nullable(),
  }),
])

export type Message = z.infer<typeof MessageSchema>

export function encodeMessage(m: Message): Buffer {
  return Buffer.from(JSON.stringify(m))
}

export function decodeMessage(buf: Buffer): Message {
  if (buf.length > MAX_MESSAGE_BYTES) throw new Error('message too large')
  let raw: unknown
  try {
    raw = JSON.parse(buf.toString('utf8'))
  } catch {
    throw new Error('not JSON')
  }
  const res = MessageSchema.safeParse(raw)
  if (!res.success) {
    const first = res.error.issues[0]
    throw new Error(
      `bad message: ${first ? `${first.path.join('.')} ${first.message}` : 'invalid'}`,
    )
  }
  return res.data
}
