// Receipts: what one node gave another, signed by both. A receipt says that `host` held `bytes` of
// `owner`'s folder from `from` to `to` (kind 'storage') or served `bytes` of it in that period
// (kind 'served'), and that `audits` audits passed; or that `host` ran `owner`'s job for `cpuMs`
// and its result was the one a quorum of donors agreed on (kind 'compute'). Both parties sign the same canonical bytes, so
// neither can claim more than the other agreed to. Pure: no I/O, no clock unless none is given.
//
// Receipts come from peers: every one is parsed with a strict schema before it is used.
import crypto from 'hypercore-crypto'
import { z } from 'zod'

/** Prefixed to the canonical body before signing, so a receipt signature means nothing else. */
export const RECEIPT_SIGN_TAG = 'spare-receipt-v1\0'
/** How far in the future a period may end (clock skew between the two parties). */
export const MAX_FUTURE_MS = 5 * 60 * 1000
const MS_PER_HOUR = 3.6e6

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'not a 32-byte lowercase hex key')
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const SIG_RE = /^[0-9a-f]{128}$/

const StorageBodySchema = z.strictObject({
  v: z.literal(1),
  kind: z.enum(['storage', 'served']),
  /** Identity public key of the node that gave the service (held or served the bytes). */
  host: hex32,
  /** Identity public key of the node that received it (the folder's owner). */
  owner: hex32,
  /** The folder id (16 hex chars). */
  folder: z.string().regex(/^[0-9a-f]{16}$/, 'not a folder id'),
  /** storage: bytes held during the period; served: bytes served in the period. */
  bytes: count,
  /** The period, in ms since the epoch. */
  from: count,
  to: count,
  /** Audits passed in the period. */
  audits: count,
  /** 16 random bytes: makes every receipt unique, so a replay is recognised. */
  nonce: z.string().regex(/^[0-9a-f]{32}$/, 'not a 16-byte lowercase hex nonce'),
})

/**
 * CPU time `host` (the donor) gave `owner` (the submitter): the job, the result a quorum of donors
 * agreed on, and the donor's CPU time for it. Only results a quorum validated get one.
 */
const ComputeBodySchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('compute'),
  host: hex32,
  owner: hex32,
  /** The job id (hex BLAKE2b-256 of module, input and nonce). */
  job: hex32,
  /** The agreed result's hash (hex BLAKE2b-256 of the output). */
  result: hex32,
  /** CPU milliseconds the donor spent on the job (at most its wall time on one core). */
  cpuMs: count,
  /** When the donor started and finished the job (ms since the epoch). */
  from: count,
  to: count,
  nonce: z.string().regex(/^[0-9a-f]{32}$/, 'not a 16-byte lowercase hex nonce'),
})

export const ReceiptBodySchema = z
  .discriminatedUnion('kind', [StorageBodySchema, ComputeBodySchema])
  .refine((b) => b.host !== b.owner, 'the host and the owner are the same node')
  .refine((b) => b.to > b.from, 'the period must end after it starts')
  .refine(
    (b) => b.kind !== 'compute' || b.cpuMs <= b.to - b.from + 1000,
    'more CPU time than the job took on one core',
  )

export type ReceiptBody = z.infer<typeof ReceiptBodySchema>
export type StorageReceiptBody = z.infer<typeof StorageBodySchema>
export type ComputeReceiptBody = z.infer<typeof ComputeBodySchema>
export type ReceiptRole = 'host' | 'owner'

export interface SignedReceipt {
  body: ReceiptBody
  /** The host's ed25519 signature (128 hex chars) over signingMessage(body). */
  hostSig: string
  /** The owner's ed25519 signature (128 hex chars) over signingMessage(body). */
  ownerSig: string
}

/** The outer shape of a signed receipt from a peer; the body and signatures are checked after. */
const EnvelopeSchema = z.strictObject({
  body: z.unknown(),
  hostSig: z.string().max(1024).nullish(),
  ownerSig: z.string().max(1024).nullish(),
})

export type ReceiptFault = 'INVALID' | 'UNSIGNED' | 'ONE_SIDED' | 'FORGED'

export type ReceiptCheck =
  { ok: true; receipt: SignedReceipt } | { ok: false; code: ReceiptFault; reason: string }

export interface KeyPair {
  publicKey: Buffer
  secretKey: Buffer
}

/**
 * The canonical bytes of a body: JSON with the fields written in schema order, whatever order
 * (or extra fields) the object came with. Both parties sign these bytes; the id hashes them.
 */
export function canonicalBody(body: ReceiptBody): Buffer {
  const ordered =
    body.kind === 'compute'
      ? {
          v: body.v,
          kind: body.kind,
          host: body.host,
          owner: body.owner,
          job: body.job,
          result: body.result,
          cpuMs: body.cpuMs,
          from: body.from,
          to: body.to,
          nonce: body.nonce,
        }
      : {
          v: body.v,
          kind: body.kind,
          host: body.host,
          owner: body.owner,
          folder: body.folder,
          bytes: body.bytes,
          from: body.from,
          to: body.to,
          audits: body.audits,
          nonce: body.nonce,
        }
  return Buffer.from(JSON.stringify(ordered), 'utf8')
}

/** What each party signs: the domain tag, then the canonical body. */
export function signingMessage(body: ReceiptBody): Buffer {
  return Buffer.concat([Buffer.from(RECEIPT_SIGN_TAG, 'utf8'), canonicalBody(body)])
}

/** The receipt's id: hex BLAKE2b-256 of the canonical body. */
export function receiptId(body: ReceiptBody): string {
  return crypto.hash(canonicalBody(body)).toString('hex')
}

/** A fresh nonce: 16 random bytes, hex. */
export function newNonce(): string {
  return crypto.randomBytes(16).toString('hex')
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A new body with `v: 1` and a fresh nonce; throws when it is not valid. */
export function newReceiptBody(fields: DistributiveOmit<ReceiptBody, 'v' | 'nonce'>): ReceiptBody {
  return ReceiptBodySchema.parse({ ...fields, v: 1, nonce: newNonce() })
}

/**
 * Signs a body as one of its parties; returns the signature (hex). Throws when the body is not
 * valid or the key pair is not the party named by `role`.
 */
export function signAs(body: ReceiptBody, keyPair: KeyPair, role: ReceiptRole): string {
  const parsed = ReceiptBodySchema.parse(body)
  if (keyPair.publicKey.toString('hex') !== parsed[role]) {
    throw new Error(`this key pair is not the receipt's ${role}`)
  }
  return crypto.sign(signingMessage(parsed), keyPair.secretKey).toString('hex')
}

/**
 * Checks a signed receipt from anywhere: its shape, that both parties signed (a missing side is
 * ONE_SIDED, both missing UNSIGNED), that both signatures verify against the keys the body names
 * (FORGED otherwise), and that the period is sane: it ends after it starts and no more than
 * MAX_FUTURE_MS after `now` (INVALID otherwise). On success returns the receipt as parsed (extra
 * fields dropped).
 */
export function verifyReceipt(signed: unknown, opts: { now?: number } = {}): ReceiptCheck {
  const env = EnvelopeSchema.safeParse(signed)
  if (!env.success) {
    return { ok: false, code: 'INVALID', reason: `not a signed receipt: ${issue(env.error)}` }
  }
  const parsed = ReceiptBodySchema.safeParse(env.data.body)
  if (!parsed.success) {
    return { ok: false, code: 'INVALID', reason: `not a valid receipt: ${issue(parsed.error)}` }
  }
  const body = parsed.data
  const hostSig = env.data.hostSig ?? ''
  const ownerSig = env.data.ownerSig ?? ''
  if (hostSig === '' && ownerSig === '') {
    return { ok: false, code: 'UNSIGNED', reason: 'the receipt is not signed by either party' }
  }
  if (hostSig === '' || ownerSig === '') {
    const missing = hostSig === '' ? 'host' : 'owner'
    const present = missing === 'host' ? 'owner' : 'host'
    return {
      ok: false,
      code: 'ONE_SIDED',
      reason: `one-sided receipt: the ${missing}'s signature is missing (only the ${present} signed)`,
    }
  }
  const message = signingMessage(body)
  for (const [role, sig] of [
    ['host', hostSig],
    ['owner', ownerSig],
  ] as const) {
    const ok =
      SIG_RE.test(sig) &&
      crypto.verify(message, Buffer.from(sig, 'hex'), Buffer.from(body[role], 'hex'))
    if (!ok) {
      return { ok: false, code: 'FORGED', reason: `the ${role}'s signature does not verify` }
    }
  }
  const now = opts.now ?? Date.now()
  if (body.to > now + MAX_FUTURE_MS) {
    return {
      ok: false,
      code: 'INVALID',
      reason: `the period ends in the future (${body.to - now} ms from now)`,
    }
  }
  return { ok: true, receipt: { body, hostSig, ownerSig } }
}

/**
 * What one CPU millisecond is worth in byte-hours: 1 CPU-second = 200 MB·h. At cloud prices a
 * core-hour costs about what 700 GB held for an hour does; one core-hour here is 720 GB·h.
 */
export const BYTE_HOURS_PER_CPU_MS = 2e5

/**
 * The credit a receipt is worth, in byte-hours:
 *   storage: bytes × hours held, (to − from) / 3.6e6 hours;
 *   served:  bytes (serving 1 GB counts like holding 1 GB for an hour);
 *   compute: cpuMs × BYTE_HOURS_PER_CPU_MS.
 * Audits add no credit: they are evidence that the storage was really held.
 */
export function receiptValue(body: ReceiptBody): number {
  if (body.kind === 'compute') return body.cpuMs * BYTE_HOURS_PER_CPU_MS
  if (body.kind === 'served') return body.bytes
  return (body.bytes * (body.to - body.from)) / MS_PER_HOUR
}

function issue(err: z.ZodError): string {
  const first = err.issues[0]
  if (!first) return 'invalid'
  const where = first.path.length ? `${first.path.join('.')}: ` : ''
  return `${where}${first.message}`
}
