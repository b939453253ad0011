// The ledger: each node's own Hypercore, an append-only log of receipts for what it gave and
// received (storage held, bytes served, audits passed), each receipt signed by both parties. The
// core is not encrypted: anyone with its key can replicate it and check every signature with
// verifyLedger. Balance = given − received.
//
// Blocks are JSON. Entry 0 binds the core to the node's identity:
//   { t: 'ledger', v: 1, identity, ledgerKey, sig }   sig = identity's signature over tag + core key
// then one entry per receipt:
//   { t: 'receipt', receipt: SignedReceipt }
//
// Hypercore itself refuses blocks modified in transit (its Merkle tree is signed by the core's
// key), so what verifyLedger has to catch is what the ledger's owner could write: receipts whose
// signatures do not verify, receipts it is not a party to, replays, and garbage.
import crypto from 'hypercore-crypto'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { z } from 'zod'
import { waitAtMost } from '../util/wait.ts'
import {
  MAX_FUTURE_MS,
  ReceiptBodySchema,
  receiptId,
  receiptValue,
  verifyReceipt,
  type KeyPair,
  type ReceiptFault,
  type SignedReceipt,
} from './receipt.ts'

/** Prefixed to the core key in entry 0's signature. */
export const LEDGER_BIND_TAG = 'spare-ledger-v1\0'
/** The name of the node's ledger core in its Corestore. */
export const LEDGER_CORE_NAME = 'spare-ledger'
/** A ledger block larger than this is refused unparsed (a receipt entry is well under 1 KiB). */
export const MAX_ENTRY_BYTES = 64 * 1024
/** How many receipts a report lists (newest first). */
export const REPORT_RECEIPTS = 50

export type LedgerErrorCode = ReceiptFault | 'REPLAYED' | 'NOT_A_PARTY'

export class LedgerError extends Error {
  readonly code: LedgerErrorCode
  constructor(code: LedgerErrorCode, message: string) {
    super(message)
    this.name = 'LedgerError'
    this.code = code
  }
}

const hex32 = z.string().regex(/^[0-9a-f]{64}$/)

const HeaderEntrySchema = z.strictObject({
  t: z.literal('ledger'),
  v: z.literal(1),
  identity: hex32,
  ledgerKey: hex32,
  sig: z.string().regex(/^[0-9a-f]{128}$/),
})

const ReceiptEntrySchema = z.strictObject({
  t: z.literal('receipt'),
  receipt: z.unknown(),
})

export type HeaderEntry = z.infer<typeof HeaderEntrySchema>

export interface LedgerSummary {
  /** Credit (byte-hours, see receiptValue) for what this node gave as host. */
  given: number
  /** Credit for what this node received as owner. */
  received: number
  /** given − received. */
  balance: number
  /** Valid receipts in the ledger. */
  receipts: number
}

export interface LedgerReport {
  /** The identity the ledger is bound to; null when entry 0 does not prove a binding. */
  identity: string | null
  /** The ledger core's key (hex). */
  key: string
  /** Blocks in the core. */
  entries: number
  /** True when there are no errors. */
  valid: boolean
  errors: Array<{ index: number; reason: string }>
  /** Totals over the valid receipts (see LedgerSummary). */
  given: number
  received: number
  balance: number
  /** How many receipts are valid and counted. */
  receiptCount: number
  /**
   * How many receipts were left uncounted because their period ends more than MAX_FUTURE_MS
   * after the checking node's clock: not errors (that clock may be behind); counted once their
   * time comes.
   */
  ahead: number
  /** Valid receipts, newest first, at most REPORT_RECEIPTS. */
  receipts: SignedReceipt[]
}

function bindMessage(ledgerKey: Buffer): Buffer {
  return Buffer.concat([Buffer.from(LEDGER_BIND_TAG, 'utf8'), ledgerKey])
}

/** Entry 0 for a ledger core: binds `ledgerKey` to `identity`. */
export function makeHeader(ledgerKey: Buffer, identity: KeyPair): HeaderEntry {
  return {
    t: 'ledger',
    v: 1,
    identity: identity.publicKey.toString('hex'),
    ledgerKey: ledgerKey.toString('hex'),
    sig: crypto.sign(bindMessage(ledgerKey), identity.secretKey).toString('hex'),
  }
}

export function encodeEntry(entry: HeaderEntry | { t: 'receipt'; receipt: SignedReceipt }): Buffer {
  return Buffer.from(JSON.stringify(entry), 'utf8')
}

type Decoded =
  | { t: 'ledger'; header: HeaderEntry }
  | { t: 'receipt'; receipt: unknown }
  | { t: 'error'; reason: string }

function decodeEntry(block: Buffer): Decoded {
  if (block.byteLength > MAX_ENTRY_BYTES) {
    return { t: 'error', reason: `entry too large (${block.byteLength} bytes)` }
  }
  let raw: unknown
  try {
    raw = JSON.parse(block.toString('utf8'))
  } catch {
    return { t: 'error', reason: 'not JSON' }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { t: 'error', reason: 'not a ledger entry (not an object)' }
  }
  const t: unknown = (raw as { t?: unknown }).t
  if (t === 'ledger') {
    const res = HeaderEntrySchema.safeParse(raw)
    if (!res.success) return { t: 'error', reason: 'malformed ledger header' }
    return { t: 'ledger', header: res.data }
  }
  if (t === 'receipt') {
    const res = ReceiptEntrySchema.safeParse(raw)
    if (!res.success) return { t: 'error', reason: 'malformed receipt entry' }
    return { t: 'receipt', receipt: res.data.receipt }
  }
  const name = typeof t === 'string' ? `'${t.slice(0, 40)}'` : 'none'
  return { t: 'error', reason: `unknown entry type (${name})` }
}

function periodKey(
  kind: 'storage' | 'served',
  host: string,
  owner: string,
  folder: string,
): string {
  return `${kind}:${host}:${owner}:${folder}`
}

interface Counted {
  receipt: SignedReceipt
  value: number
  role: 'host' | 'owner'
}

/**
 * Reads a ledger's entries in order and keeps what both the node's own Ledger and verifyLedger
 * need: the bound identity, errors, the ids and nonces of every receipt seen (for replays) and
 * the valid receipts with their value.
 */
class Scanner {
  /** The identity entry 0 claims (used for the party check even if its signature is bad). */
  claimed: string | null = null
  /** The identity entry 0 proves. */
  identity: string | null = null
  readonly errors: Array<{ index: number; reason: string }> = []
  readonly ids = new Map<string, number>()
  readonly nonces = new Map<string, number>()
  readonly counted: Counted[] = []
  /** The latest end of a storage or served period counted, per periodKey. */
  readonly ends = new Map<string, number>()
  /** The compute receipts counted, as "job:host:owner". */
  readonly jobs = new Set<string>()
  given = 0
  received = 0
  /** Receipts left uncounted for ending too far ahead of `now` (when `ahead` is 'skip'). */
  skippedAhead = 0

  /**
   * `ahead`: what a receipt ending over MAX_FUTURE_MS after `now` is. An error where this node
   * appends (its own clock decides what it signs), and skipped, not counted and not an error,
   * where another node's ledger is checked: the checking clock may be the one behind, and an
   * honest ledger must not read as forged for it; a receipt skipped earns nothing until its
   * time comes.
   */
  constructor(
    private readonly key: Buffer,
    private readonly now: number,
    private readonly ahead: 'error' | 'skip' = 'error',
  ) {}

  error(index: number, reason: string): void {
    this.errors.push({ index, reason })
  }

  entry(index: number, block: Buffer): void {
    const e = decodeEntry(block)
    if (e.t === 'error') return this.error(index, e.reason)
    if (index === 0) {
      if (e.t !== 'ledger') return this.error(0, 'entry 0 is not the ledger header')
      return this.header(e.header)
    }
    if (e.t === 'ledger') return this.error(index, 'a second ledger header')
    this.receipt(index, e.receipt)
  }

  private header(h: HeaderEntry): void {
    this.claimed = h.identity
    if (h.ledgerKey !== this.key.toString('hex')) {
      return this.error(0, 'the header names another core (ledgerKey is not this core key)')
    }
    const ok = crypto.verify(
      bindMessage(this.key),
      Buffer.from(h.sig, 'hex'),
      Buffer.from(h.identity, 'hex'),
    )
    if (!ok) return this.error(0, 'the binding signature does not verify')
    this.identity = h.identity
  }

  private receipt(index: number, raw: unknown): void {
    const body = ReceiptBodySchema.safeParse((raw as { body?: unknown } | null)?.body)
    const id = body.success ? receiptId(body.data) : null
    const nonce = body.success ? body.data.nonce : null
    const check = verifyReceipt(raw, {
      now: this.ahead === 'skip' ? Number.POSITIVE_INFINITY : this.now,
    })
    const seenId = id === null ? undefined : this.ids.get(id)
    const seenNonce = nonce === null ? undefined : this.nonces.get(nonce)
    if (id !== null && seenId === undefined) this.ids.set(id, index)
    if (nonce !== null && seenNonce === undefined) this.nonces.set(nonce, index)

    if (!check.ok) return this.error(index, `${check.code}: ${check.reason}`)
    const r = check.receipt
    if (this.claimed !== null && r.body.host !== this.claimed && r.body.owner !== this.claimed) {
      return this.error(index, "NOT_A_PARTY: the ledger's identity is neither host nor owner")
    }
    if (seenId !== undefined) {
      return this.error(index, `REPLAYED: the same receipt is already at entry ${seenId}`)
    }
    if (seenNonce !== undefined) {
      return this.error(index, `REPLAYED: the nonce is already used at entry ${seenNonce}`)
    }
    if (this.ahead === 'skip' && r.body.to > this.now + MAX_FUTURE_MS) {
      this.skippedAhead++
      return
    }
    this.count(r)
  }

  count(r: SignedReceipt): void {
    if (this.claimed === null) return
    const value = receiptValue(r.body)
    const role = r.body.host === this.claimed ? 'host' : 'owner'
    if (role === 'host') this.given += value
    else this.received += value
    this.counted.push({ receipt: r, value, role })
    const b = r.body
    if (b.kind === 'compute') {
      this.jobs.add(`${b.job}:${b.host}:${b.owner}`)
    } else {
      const key = periodKey(b.kind, b.host, b.owner, b.folder)
      this.ends.set(key, Math.max(this.ends.get(key) ?? 0, b.to))
    }
  }

  summary(): LedgerSummary {
    return {
      given: this.given,
      received: this.received,
      balance: this.given - this.received,
      receipts: this.counted.length,
    }
  }

  recent(n: number): SignedReceipt[] {
    const out: SignedReceipt[] = []
    for (let i = this.counted.length - 1; i >= 0 && out.length < n; i--) {
      out.push(this.counted[i]!.receipt)
    }
    return out
  }
}

export interface LedgerOptions {
  /** The clock for the period check (ms since the epoch); Date.now by default. */
  now?: () => number
}

/** This node's own ledger: appends receipts it is a party to, after checking them. */
export class Ledger {
  readonly core: Hypercore
  readonly identity: string
  private readonly scan: Scanner
  private readonly now: () => number

  private constructor(core: Hypercore, identity: string, scan: Scanner, now: () => number) {
    this.core = core
    this.identity = identity
    this.scan = scan
    this.now = now
  }

  /**
   * Opens the node's ledger core ('spare-ledger' in `store`). An empty core gets entry 0; an
   * existing one must be bound to `identity`, and its receipts are read to build the replay index
   * and the totals (receipts that do not verify are indexed for replays but not counted).
   */
  static async open(
    store: Corestore,
    identity: KeyPair,
    opts: LedgerOptions = {},
  ): Promise<Ledger> {
    const now = opts.now ?? Date.now
    const core = store.get({ name: LEDGER_CORE_NAME })
    try {
      await core.ready()
      if (!core.writable) throw new Error('the ledger core is not writable')
      if (core.length === 0) await core.append(encodeEntry(makeHeader(core.key, identity)))
      // No future check on reopening: every receipt here passed it when it was appended, and a
      // clock that is now behind (a machine booted before NTP set it) would otherwise leave them
      // uncounted, and their periods and jobs forgotten, until the next start.
      const scan = new Scanner(core.key, Number.POSITIVE_INFINITY)
      for (let i = 0; i < core.length; i++) {
        const block = await core.get(i, { wait: false })
        if (!block) {
          scan.error(i, 'block missing from local storage')
          continue
        }
        scan.entry(i, block)
      }
      const me = identity.publicKey.toString('hex')
      if (scan.identity !== me) {
        const why = scan.errors.find((e) => e.index === 0)?.reason ?? 'bound to another identity'
        throw new LedgerError('INVALID', `the ledger core is not bound to this node: ${why}`)
      }
      return new Ledger(core, me, scan, now)
    } catch (err) {
      await core.close().catch(() => {})
      throw err
    }
  }

  get key(): Buffer {
    return this.core.key
  }

  get discoveryKey(): Buffer {
    return this.core.discoveryKey
  }

  /** Blocks in the ledger core (entry 0 included). */
  get length(): number {
    return this.core.length
  }

  /**
   * Appends a receipt this node is a party to. Throws LedgerError: FORGED, UNSIGNED, ONE_SIDED or
   * INVALID when verifyReceipt refuses it, NOT_A_PARTY when this node is neither host nor owner,
   * REPLAYED when the same receipt or its nonce is already in the ledger.
   */
  async append(r: SignedReceipt): Promise<void> {
    const check = verifyReceipt(r, { now: this.now() })
    if (!check.ok) throw new LedgerError(check.code, check.reason)
    const receipt = check.receipt
    const { body } = receipt
    if (body.host !== this.identity && body.owner !== this.identity) {
      throw new LedgerError('NOT_A_PARTY', 'this node is neither the host nor the owner')
    }
    const id = receiptId(body)
    const seenId = this.scan.ids.get(id)
    if (seenId !== undefined) {
      throw new LedgerError('REPLAYED', `the same receipt is already at entry ${seenId}`)
    }
    const seenNonce = this.scan.nonces.get(body.nonce)
    if (seenNonce !== undefined) {
      throw new LedgerError('REPLAYED', `the nonce is already used at entry ${seenNonce}`)
    }
    // Reserve the id and nonce before awaiting, so a concurrent append of the same one is refused.
    const index = this.core.length
    this.scan.ids.set(id, index)
    this.scan.nonces.set(body.nonce, index)
    try {
      await this.core.append(encodeEntry({ t: 'receipt', receipt }))
    } catch (err) {
      this.scan.ids.delete(id)
      this.scan.nonces.delete(body.nonce)
      throw err
    }
    this.scan.count(receipt)
  }

  summary(): LedgerSummary {
    return this.scan.summary()
  }

  /**
   * Whether this ledger has the receipt whose id is `id` (receiptId of its body), or is appending
   * it now. A party that proposes the same receipt again (its answer was lost) is answered again
   * instead of refused as a replay.
   */
  has(id: string): boolean {
    return this.scan.ids.has(id)
  }

  /** Whether this ledger has a compute receipt for `job` run by `host` for `owner`. */
  hasCompute(job: string, host: string, owner: string): boolean {
    return this.scan.jobs.has(`${job}:${host}:${owner}`)
  }

  /**
   * The end of the latest `kind` period this ledger has a receipt for between `host` and `owner`
   * for `folder` (0 when none): the next one must not start before it. The ledger is written
   * before the state that remembers where the last period ended, so after a crash between the
   * two, this is the record.
   */
  periodEnd(kind: 'storage' | 'served', host: string, owner: string, folder: string): number {
    return this.scan.ends.get(periodKey(kind, host, owner, folder)) ?? 0
  }

  /** The last `n` valid receipts, newest first. */
  recent(n: number): SignedReceipt[] {
    return this.scan.recent(n)
  }

  async close(): Promise<void> {
    await this.core.close()
  }
}

export interface VerifyLedgerOptions {
  /** The clock for the period check; Date.now() by default. */
  now?: number
  /** How long to wait for each block from peers (ms). */
  timeout?: number
  /**
   * At most this many entries are fetched and checked: of a longer ledger, entry 0 (the binding)
   * and the newest maxEntries − 1; the totals are theirs.
   */
  maxEntries?: number
  /**
   * How long the whole check may take (ms): what is not fetched by then is reported not checked.
   * The peer serving the ledger chooses how slowly its blocks come, and a host decides hosting
   * requests after their requesters' ledgers are checked: without a bound, a requester naming a
   * long ledger it never serves would hold them for `timeout` per entry.
   */
  maxMs?: number
}

/** How long verifyLedger may take by default (a valid 100,000-entry ledger is about 50 MB). */
export const VERIFY_MAX_MS = 2 * 60 * 1000

/**
 * Checks any node's ledger core (typically replicated from the network): fetches every block
 * (one that cannot be fetched is an error), checks that entry 0 binds the core to an identity,
 * and that every receipt verifies, names that identity as host or owner and is not a replay.
 * Never throws for bad content: malformed entries are reported with their index.
 */
export async function verifyLedger(
  core: Hypercore,
  opts: VerifyLedgerOptions = {},
): Promise<LedgerReport> {
  const timeout = opts.timeout ?? 10_000
  const maxEntries = opts.maxEntries ?? 100_000
  const deadline = Date.now() + (opts.maxMs ?? VERIFY_MAX_MS)
  const left = (): number => Math.min(timeout, deadline - Date.now())
  await core.ready()
  const scan = new Scanner(core.key, opts.now ?? Date.now(), 'skip')
  // Learn the latest length from the connected peers: wait for them to sync (a peer that just
  // connected may not have told its length yet), but never longer than the block timeout; without
  // peers this returns at once and the ledger is checked as far as it is known.
  try {
    await waitAtMost(core.update({ wait: true }), Math.max(0, left()))
  } catch (err) {
    scan.error(0, `could not update the ledger: ${(err as Error).message}`)
  }
  const entries = core.length
  if (entries === 0) scan.error(0, 'the ledger is empty (or could not be fetched)')
  // A longer ledger is a busy node's (a receipt per folder and peer every hour), not a forged one:
  // its binding and its newest entries are checked, which bounds what checking it costs.
  const start = Math.max(1, entries - Math.max(1, maxEntries) + 1)
  const indices = entries > 0 ? [0] : []
  for (let i = start; i < entries; i++) indices.push(i)
  const download = entries > start ? core.download({ start, end: entries }) : null
  try {
    for (const [n, i] of indices.entries()) {
      const ms = left()
      if (ms <= 0) {
        const rest = indices.length - n
        scan.error(i, `not checked: the check took too long (${rest} entries left unchecked)`)
        break
      }
      let block: Buffer | null
      try {
        block = await core.get(i, { timeout: ms })
      } catch (err) {
        scan.error(i, `could not fetch the block: ${(err as Error).message}`)
        continue
      }
      if (!block) {
        scan.error(i, 'could not fetch the block')
        continue
      }
      scan.entry(i, block)
    }
  } finally {
    download?.destroy()
  }
  const totals = scan.summary()
  return {
    identity: scan.identity,
    key: core.key.toString('hex'),
    entries,
    valid: scan.errors.length === 0,
    errors: scan.errors,
    given: totals.given,
    received: totals.received,
    balance: totals.balance,
    receiptCount: totals.receipts,
    ahead: scan.skippedAhead,
    receipts: scan.recent(REPORT_RECEIPTS),
  }
}
