// Donated disk: keeping other people's encrypted folders available, and asking others to keep
// ours. One Hosting object per node, on its own Hyperswarm (the hosting swarm), so that all of a
// donor's hosting traffic runs through the governor's rate limits: every hosting connection
// carries its Hypercore replication inside a throttled pipe.
//
// Donor side: with a disk limit set, the node announces itself on the hosting topic. Owners (any
// writer of a two-way folder) connect, read its hello (identity, ledger key, free bytes) and ask
// it to keep the folder's cores up to an agreed size. The host opens them by key only: it never
// has the folder's encryption key, so it stores and serves ciphertext it cannot read. It fetches
// in batches, each admitted only if what is held plus every batch in flight plus this one fits
// the budget, so its usage never runs past the limit; a folder that grows past what was agreed
// gets no more space (beyond one batch) until the owner asks again. Lowering the limit evicts
// whole folders (planEviction: lowest priority, then least recently needed).
//
// Owner side: each two-way folder wants R hosts (default 2). The owner picks among the hosts it
// meets by their ledger (valid ledger first, then the most given, then the most free space),
// audits each regularly (a random block among every block it agreed to keep, not only those it
// says it holds; a fresh nonce: the host must answer BLAKE2b(nonce | block) in time) and replaces
// a host that fails twice or stays away too long. A host keeps one agreement per (folder,
// requester): another writer's request, or a stranger's, never changes or releases the one an
// owner holds (see decideRequest).
// Every receipt period the host proposes a storage receipt; the owner countersigns it only if it
// matches what the owner saw (period after the last one, an audit passed in it, bytes within
// what was agreed and what the host says it holds, audits no more than passed) and both append
// it to their ledgers. Refused receipts count against the peer.
//
// Served bytes: a host serves a folder's cores to any member with the key (that is how a member
// syncs while every writer is off). The host counts, per hosting connection and folder, the bytes
// its hosted cores upload to that peer (Hypercore 'upload' events, mapped from the replication
// stream to the connection's verified identity); only hosted cores count, and only on the hosting
// swarm. Every receipt period it proposes a 'served' receipt. The member countersigns only if the
// claim fits what it received from that host on that connection: every byte that came in on it,
// less the blocks of cores it hosts itself (it fetched those as a host, not for itself), less
// what it already countersigned there, plus SERVED_SLACK_BYTES. Why bytes received and not the
// member's own 'download' events: Hypercore asks a second peer for blocks already in flight at
// the first (its hotswap) and drops the late copy without an event, so a member syncing from two
// hosts saw about a quarter fewer block bytes in events than the hosts really sent it; honest
// hosts would have been refused. What came in on the connection is an upper bound the host cannot inflate (a host
// cannot claim more than it sent), and block payloads, which is what hosts claim, are always
// less than it (proofs, framing). Counts live as long as the connection: a period cut short by a
// disconnection is not billed. A peer that is not a member of the folder (another host fetching
// it) declines without a strike, and the host stops counting for it.
//
// Give to get: requests that arrive within `requestWindowMs` of each other are decided together,
// the requester with the best verified ledger balance first, while they fit the budget; the rest
// are told the host is full. Each is decided as soon as its requester's ledger is checked, with
// room kept for the requests whose check goes on (decideReady). With an upload rate limit, a peer's balance is also its priority on
// the upload bucket (throttle.ts): peers that gave more are served first when it is contended.
import { EventEmitter } from 'node:events'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import crypto from 'hypercore-crypto'
import Protomux, { type ProtomuxMessage } from 'protomux'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import type { HypercorePeer } from 'hypercore'
import type HyperDHT from 'hyperdht'
import type { SwarmConnection } from 'hyperswarm'
import { z } from 'zod'
import { Writable as StreamxWritable } from 'streamx'
import type { Logger } from '../logger.ts'
import { Swarm } from '../net/swarm.ts'
import { openMessageChannel, signHello, verifyHello } from '../net/peer-channel.ts'
import { Governor, planEviction, type DonateLimits, type DonateStatus } from '../limits/governor.ts'
import {
  MAX_PIECE,
  throttledPipe,
  type PipeStream,
  type ThrottledPipe,
} from '../limits/throttle.ts'
import { Ledger, verifyLedger, type LedgerReport } from '../ledger/ledger.ts'
import { LedgerScores } from '../ledger/scores.ts'
import {
  ReceiptBodySchema,
  newReceiptBody,
  receiptId,
  signAs,
  verifyReceipt,
  type ReceiptBody,
  type SignedReceipt,
} from '../ledger/receipt.ts'
import { writeFileAtomic } from '../util/atomic.ts'
import {
  HELLO_TAG,
  HOSTING_PROTOCOL,
  decodeMessage,
  encodeMessage,
  type Message,
} from './messages.ts'

export const HOSTING_TOPIC = crypto.hash(Buffer.from('spare-hosting-topic-v1'))
const FOLDER_HOSTING_NS = Buffer.from('spare-hosting-folder-v1')

/**
 * Where hosts of a folder and its members meet on the hosting swarm: derived from the folder's
 * topic, never the topic itself. The node's swarm announces that one, and a hosting connection
 * (Hypercore behind a throttled stream of its own) made to it speaks a protocol the other side
 * does not: it stays open, listed as a peer that carries nothing.
 */
export function folderHostingTopic(topic: Buffer): Buffer {
  return crypto.hash([FOLDER_HOSTING_NS, topic])
}

/** A newcomer's ledger may be this far below zero (byte-hours) and still be served. */
export const STARTING_ALLOWANCE = 50e9
/** Blocks fetched per batch: usage may pass the agreed size by at most one batch (≤ 4 MiB). */
const BATCH_BLOCKS = 16
/**
 * With a download rate limit, what a host fetches at once (every core together) is at most what
 * that rate brings in this share of the audit timeout. An owner's audit reaches the host on the
 * same throttled connection as the blocks it fetches, behind them: a 16-block batch (1 MiB of
 * 64 KiB blocks) at 100 KiB/s took the whole 10 s timeout, and an honest slow host failed.
 */
const FETCH_AHEAD_SHARE = 0.25
/** How often the gaps of a hosted core are looked at again (a peer may have them by then). */
const GAP_RETRY_MS = 60_000
/** How long a batch after a stalled one may bring nothing before it counts as a gap too. */
const GAP_STALL_MS = 2000
/** A host fetching tells the owners what it holds at most this often (and 4 times an audit). */
const STATUS_EVERY_MS = 60_000
/** How often a batch under way reports what came of it (the UI's figures). */
const PROGRESS_EVERY_MS = 1000
/**
 * A batch that brought no block for its stall time is not stalled while at least this much came
 * in meanwhile from the core's peers: their link to this host is busy with other blocks (an
 * owner's upload limit sends the batches of all its cores through one queue, a core's behind
 * another's). Only up to STALL_BUSY_MS after the batch's last block: a gap in one core is found
 * even while its peers go on sending others.
 */
const STALL_BUSY_BYTES = 16 * 1024
const STALL_BUSY_MS = 120_000

/**
 * The least a hosted block is taken to cost the host, whatever its size: its tree node, bitfield
 * bit and keys. An agreement of `b` bytes covers at most `b / MIN_BLOCK_BYTES` blocks of any one
 * core; the host neither counts nor fetches past that. A core's owner signs its length, so it can
 * claim any (a signed tree of 2^40 blocks, or a real core of millions of 1-byte blocks), and
 * every pass over a core was as long as that length.
 */
export const MIN_BLOCK_BYTES = 64
/** Blocks counted per turn of the event loop (a bitfield count: 32 pages of the bitfield). */
const COUNT_CHUNK = 1 << 20

/**
 * How many of blocks [start, end) `core` holds: the bitfield's count, a chunk per turn of the
 * event loop (it was a `has` per block, once per block of the core at every start).
 */
export async function countHeld(core: Hypercore, start: number, end: number): Promise<number> {
  let n = 0
  for (let i = start; i < end; i += COUNT_CHUNK) {
    if (i > start) await new Promise((r) => setImmediate(r))
    n += await core.count(i, Math.min(end, i + COUNT_CHUNK))
  }
  return n
}

/** Bytes of `blocks` blocks of `core`, at its mean block size. */
function heldBytes(core: Hypercore, blocks: number): number {
  return core.length ? Math.round((core.byteLength / core.length) * blocks) : 0
}
/**
 * How much more than it measured a member countersigns in a served receipt. The receipt travels
 * on the same connection after the blocks it bills, so an honest claim never needs it; it only
 * absorbs rounding between the two ends. A claim past the measurement stays as a debt that later
 * traffic on the same connection pays first, so it is granted once per connection.
 */
export const SERVED_SLACK_BYTES = 64 * 1024
/** The start of an owner's reason for refusing a storage receipt whose period it signed already. */
const OVERLAPS = 'the period overlaps one'

/** An agreement's key: its owner and folder (a host keeps one agreement per requester). */
function agreementKey(h: { owner: string; folder: string }): string {
  return `${h.owner}/${h.folder}`
}

/** The start of a member's reason for declining a served receipt (no strike: see onServed). */
const NOT_A_MEMBER = 'not a member of that folder'
/** How many times a served receipt whose answer was lost is looked for in the member's ledger. */
const SERVED_LOOKUPS = 3
/** At most this many served receipts whose answer was lost are kept to be looked for. */
const MAX_SERVED_LOST = 256
/**
 * Rule breaks (refused receipts, a bad hello, undecodable messages...) one hosting connection
 * takes before this node closes its hosting channel, as the net layer does after MAX_BAD_MESSAGES
 * undecodable ones: each is a strike and a log line, and a peer sending nothing but messages that
 * decode and break the rules could grow the log and the strikes file as fast as it sent. A
 * channel closed for it stays closed for that connection.
 */
export const MAX_RULE_BREAKS = 16
/** A peer's rule breaks are logged at most this often; the ones in between are counted. */
const STRIKE_LOG_EVERY_MS = 1000
/** How often a connected peer's balance (its upload priority) is looked at again. */
const BALANCE_REFRESH_MS = 60 * 1000

export interface HostingTimers {
  /** How often the owner looks for hosts and audits each (ms). */
  auditMs: number
  /** How long a host has to answer an audit (ms). */
  auditTimeoutMs: number
  /** How often a host proposes a storage receipt (ms). */
  receiptMs: number
  /** A host not seen for this long is replaced (ms). */
  goneMs: number
  /** Requests arriving within this long of the first are decided together, by balance (ms). */
  requestWindowMs: number
  /**
   * A batch of a hosted core that brings no block for this long holds blocks no peer has
   * (cleared with expired versions): the fetch goes on past it, and tries it again later (ms;
   * the first such batch in a row; GAP_STALL_MS for the ones right after it).
   */
  fetchStallMs: number
  /**
   * The least a host still fetching must say it fetched between two audits (bytes a second, up
   * to what is left): a miss past what it holds is forgiven only then. Its count is its word, and
   * a host keeping nothing that raised it by one block per audit went unfailed for as many audit
   * periods as the folder has blocks.
   */
  minFetchRate: number
}

export const DEFAULT_TIMERS: HostingTimers = {
  auditMs: 10 * 60 * 1000,
  auditTimeoutMs: 10_000,
  receiptMs: 60 * 60 * 1000,
  goneMs: 24 * 3600 * 1000,
  requestWindowMs: 500,
  fetchStallMs: 20_000,
  minFetchRate: 16 * 1024,
}

/**
 * Timers from SPARE_HOSTING_TIMERS ("audit=2000,timeout=2000,receipt=3000,gone=8000,window=500,stall=2000",
 * ms; and rate=16384, bytes a second), for tests and tuning; anything missing or malformed keeps
 * its default.
 */
export function parseTimers(text: string | undefined): Partial<HostingTimers> {
  const out: Partial<HostingTimers> = {}
  const names: Record<string, keyof HostingTimers> = {
    audit: 'auditMs',
    timeout: 'auditTimeoutMs',
    receipt: 'receiptMs',
    gone: 'goneMs',
    window: 'requestWindowMs',
    stall: 'fetchStallMs',
    rate: 'minFetchRate',
  }
  for (const part of (text ?? '').split(',')) {
    const [k, v] = part.split('=').map((x) => x.trim())
    const name = k ? names[k] : undefined
    const n = Number(v)
    if (name && Number.isFinite(n) && n > 0) out[name] = n
  }
  return out
}

/** What the hosting layer needs of a two-way folder this node writes to. */
export interface HostableFolder {
  id: string
  topic: Buffer
  hostsWanted: number
  /** Keys of every core of the folder (members' logs and blobs cores). */
  coreKeys(): string[]
  /** Bytes of all those cores. */
  sizeBytes(): number
  /** Blocks of all those cores. */
  blockCount(): number
  /**
   * Whether that size is the folder's: false until a first full scan since the folder opened has
   * indexed it (a new folder's cores grow while it is read). Hosts are asked to take the folder,
   * or to keep more of it, only then; audits and replacing failed hosts go on meanwhile.
   */
  sized(): boolean
  /**
   * A random block this device holds among the first `have[core]` blocks of each core, drawn
   * from all of them alike (as stored: ciphertext).
   */
  auditSample(
    have: Record<string, number>,
  ): Promise<{ core: string; index: number; block: Buffer } | null>
}

/**
 * A folder's id from its topic: both come from the root log's key (the topic is its discovery
 * key, the id that key's first 16 hex characters; see SpareNode.share and join).
 */
export function folderIdOfTopic(topic: Buffer): string {
  return topic.toString('hex').slice(0, 16)
}

/**
 * Requests in the order a host decides them: the best balance first (a ledger that does not
 * verify, -Infinity, last); among equal balances, in arrival order (the sort is stable).
 */
export function orderByBalance<T extends { balance: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) =>
    a.balance === b.balance ? 0 : a.balance > b.balance || Number.isNaN(b.balance) ? -1 : 1,
  )
}

/** A node's view of some cores: core → length, core → byte length. */
interface CoreSizes {
  lengths: Record<string, number>
  bytes: Record<string, number>
}

/**
 * The bytes a host's `have` (core → contiguous length it holds) covers, estimated from this
 * node's sizes of those cores (blocks taken as equal in size, as the host counts what it holds).
 */
export function claimedBytes(have: Record<string, number>, sizes: CoreSizes): number {
  let n = 0
  for (const [key, length] of Object.entries(sizes.lengths)) {
    const held = Math.min(have[key] ?? 0, length)
    if (length > 0 && held > 0) n += Math.round(((sizes.bytes[key] ?? 0) * held) / length)
  }
  return n
}

export interface FolderHostInfo {
  host: string
  bytes: number
  agreedBytes: number
  connected: boolean
  since: number
  lastAudit: { at: number; ok: boolean; reason: string | null } | null
  auditsPassed: number
}

export interface HostedInfo {
  folder: string
  owner: string
  cores: number
  bytes: number
  agreedBytes: number
  since: number
  lastNeededAt: number
  overAgreed: boolean
}

export interface DonateInfo extends DonateStatus {
  hosting: HostedInfo[]
}

// ---------------------------------------------------------------- persisted state

const HostedSchema = z.object({
  folder: z.string(),
  owner: z.string(),
  topic: z.string(),
  cores: z.array(z.string()),
  agreedBytes: z.number(),
  since: z.number(),
  lastNeededAt: z.number(),
  priority: z.number(),
  lastReceiptTo: z.number(),
  auditsAnswered: z.number(),
  /**
   * The storage receipt proposed for the period from lastReceiptTo whose answer has not come (lost
   * with the connection, or late): proposed again as it is, so the owner, which may have
   * countersigned it, answers it again instead of refusing a second receipt for the period.
   */
  proposal: z.object({ body: z.unknown(), hostSig: z.string() }).nullable().default(null),
})
type Hosted = z.infer<typeof HostedSchema>

const HostRecordSchema = z.object({
  host: z.string(),
  bytes: z.number(),
  agreedBytes: z.number(),
  since: z.number(),
  lastSeen: z.number(),
  lastAudit: z
    .object({ at: z.number(), ok: z.boolean(), reason: z.string().nullable() })
    .nullable(),
  failures: z.number(),
  auditsPassed: z.number(),
  auditsSinceReceipt: z.number(),
  lastReceiptTo: z.number(),
  /** How many cores the agreement covers (a new member's cores need a new request). */
  coreCount: z.number(),
  /**
   * What the host says it holds: core → contiguous length. Not what audits sample (the host's
   * word): it bounds the bytes its receipts may claim, and tells a host still fetching a block
   * from one that lost it.
   */
  have: z.record(z.string(), z.number()),
  /** Core → blocks it says it holds in all (past gaps too): bounds its receipts' bytes. */
  blocks: z.record(z.string(), z.number()).default({}),
  /** The cores the host agreed to keep (those of the last request it accepted). */
  cores: z.array(z.string()).default([]),
  /**
   * What audits sample: core → this node's length of it when the previous audit ran (so the host
   * had a whole audit period to fetch every block in it), and when that was.
   */
  expect: z.record(z.string(), z.number()).default({}),
  expectAt: z.number().default(0),
  /** The bytes the host's `have` covered at the previous audit (is it still fetching?). */
  claimedAtAudit: z.number().default(0),
})
type HostRecord = z.infer<typeof HostRecordSchema>

const StateSchema = z.object({
  format: z.literal(1),
  hosted: z.array(HostedSchema).default([]),
  hosts: z.record(z.string(), z.array(HostRecordSchema)).default({}),
  banned: z.record(z.string(), z.array(z.string())).default({}),
  strikes: z.record(z.string(), z.number()).default({}),
  /** Member side: the end of the last served receipt countersigned, per "host:folder". */
  servedTo: z.record(z.string(), z.number()).default({}),
  /**
   * Host side: served receipts whose answer was lost (the connection closed, the timeout passed),
   * looked for in the member's public ledger (see recoverServed).
   */
  servedLost: z
    .array(z.object({ body: z.unknown(), hostSig: z.string(), tries: z.number() }))
    .default([]),
})
type State = z.infer<typeof StateSchema>

// ---------------------------------------------------------------- sessions

interface Session {
  conn: SwarmConnection
  msg: ProtomuxMessage | null
  identity: string | null
  ledger: string | null
  free: number
  nextId: number
  waiting: Map<number, (m: Message) => void>
  teardown: () => void
  /**
   * Resolves once what was written to this connection so far has gone through this node's upload
   * limit (at once without one; see sentUp). A request's timeout starts then.
   */
  sentUp: () => Promise<void>
  /** Host side: bytes of hosted cores uploaded to this peer, per folder, not yet in a receipt. */
  servedOut: Map<string, { bytes: number; from: number }>
  /** Member side: bytes received from this peer on this connection (everything). */
  received: number
  /** Member side: block bytes of cores this node hosts, downloaded from this peer. */
  hostedIn: number
  /** Member side: bytes countersigned in served receipts on this connection (all folders). */
  claimed: number
  /** Host side: folders this peer declined served receipts for (not a member): not billed. */
  notBilled: Set<string>
  /** The peer's verified ledger balance: its priority on the upload bucket (0 until known). */
  balance: number
  balanceAt: number
  /** Rule breaks on this connection (see MAX_RULE_BREAKS). */
  breaks: number
  /** When its last rule break was logged, and how many were not logged since. */
  breakLoggedAt: number
  breaksUnlogged: number
  /** Closes this connection's hosting channel (the connection and its replication stay). */
  closeChannel: () => void
}

/**
 * Corestore's protocol stream (`store.replicate(isInitiator)`): the bridge whose readable side is
 * the encrypted bytes for the transport; its noise stream encrypts what the mux writes and
 * writes it to `reverse`, which pushes it onto the bridge.
 */
interface ReplicationBridge {
  noiseStream: { userData: unknown }
  reverse: unknown
  push(data: Uint8Array | null): boolean
}

/** The most bytes assumed in a replication stream's buffers before encryption (see sentUp). */
const SENT_UP_SLACK_BYTES = 4 * MAX_PIECE

/** A countersignature request's answer, and whether refusing it is a strike against the peer. */
interface Answer {
  sig: string | null
  reason: string | null
  strike: boolean
}

interface PendingRequest {
  s: Session
  m: Extract<Message, { t: 'request' }>
}

/** A request waiting to be decided: its window (in arrival order) and its requester's balance. */
interface Deciding extends PendingRequest {
  batch: number
  /** null while the requester's ledger is being checked. */
  balance: number | null
}

/** Hyperswarm's `status(topic)`: the topic's discovery, which can look peers up again now. */
interface DiscoveryStatus {
  status(topic: Buffer): { refresh(): Promise<void> } | null
}

/**
 * What Corestore knows of the cores it holds (not in the shared type declarations): whether one is
 * open (by discovery key, hex) and whether its storage has it.
 */
interface StoreInside {
  cores: { opened(id: string): boolean }
  storage: { hasCore(discoveryKey: Buffer): Promise<boolean> }
}

/**
 * Hypercore's `compact()`, and the sessions open on its core (not in the shared type
 * declarations).
 */
type Compactable = Hypercore & {
  compact?: () => Promise<unknown>
  core?: { allSessions?: () => unknown[] }
}

/** What a Hypercore peer carries besides what the shared types declare: its connection's mux. */
type PeerWithMux = HypercorePeer & { protomux?: unknown }

/** How a batch of a hosted core ended (fetchBatchNow). */
type BatchResult = 'done' | 'stalled' | 'stop'

interface HostedCore {
  key: string
  /** The folder it was first kept for (what its uploads are billed as). */
  folder: string
  core: Hypercore
  /** Bytes held (estimated from the blocks held). */
  held: number
  /** Blocks held, counted: a core can have gaps (blocks of expired versions, cleared). */
  blocks: number
  /** Where the next batch is fetched from; past a gap no peer can fill. */
  next: number
  /** Ranges given up (gaps no peer could fill then), oldest first, looked at again later. */
  gaps: Array<[number, number]>
  /** When the last round over the gaps ended. */
  gapsAt: number
  /** Gaps left in the round under way. */
  gapsLeft: number
  /** Batches in a row that stalled (a gap). */
  stalls: number
  /** Bytes of the batch being fetched (not held yet): counted against the agreements. */
  inflight: number
  pumping: boolean
}

export interface HostingDeps {
  store: Corestore
  dht: HyperDHT
  identity: { publicKey: Buffer; secretKey: Buffer }
  log: Logger
  dataDir: string
  limits: DonateLimits
  timers?: Partial<HostingTimers>
  /** Two-way folders this node writes to (the ones it looks for hosts for). */
  folders: () => HostableFolder[]
  /** Topics of every two-way folder this node is a member of (to find their hosts). */
  memberTopics: () => Buffer[]
  /** Cores were dropped: the store looks for the disk they held (StoreReclaim). */
  reclaimSoon?: () => void
}

export class Hosting extends EventEmitter {
  readonly governor: Governor
  ledger!: Ledger
  private swarm!: Swarm
  private readonly timers: HostingTimers
  /** When each agreement's owner was last told what this host holds. */
  private readonly toldAt = new WeakMap<Hosted, number>()
  private readonly sessions = new Set<Session>()
  private state: State = {
    format: 1,
    hosted: [],
    hosts: {},
    banned: {},
    strikes: {},
    servedTo: {},
    servedLost: [],
  }
  private readonly cores = new Map<string, HostedCore>()
  private readonly scores: LedgerScores
  /** Hosting connections by their Protomux (what a Hypercore peer names). */
  private readonly byMux = new WeakMap<object, Session>()
  private readonly pending: PendingRequest[] = []
  /** Requests whose window closed, not decided yet (see decideReady). */
  private readonly toDecide: Deciding[] = []
  /** Windows of requests so far: earlier windows are decided first. */
  private batches = 0
  /** Receipts being countersigned (by receipt id): the same one again gets the same answer. */
  private readonly countersigning = new Map<string, Promise<Answer>>()
  /** When this node last looked up donors on the hosting topic (see updateTopics). */
  private lastHostLookup = Date.now()
  private requestTimer: NodeJS.Timeout | null = null
  private deciding: Promise<void> = Promise.resolve()
  /** Bytes of batches being fetched (admitted against the budget, not yet held). */
  private reserved = 0
  private admitting: Promise<unknown> = Promise.resolve()
  /** With a download limit, batches are fetched one at a time: the last one's turn. */
  private throttledTurn: Promise<void> = Promise.resolve()
  private readonly topics = new Map<string, { server: boolean; client: boolean }>()
  private tick: NodeJS.Timeout | null = null
  /** Watches for folders joined or left, so their hosts are looked up within a second. */
  private topicWatch: NodeJS.Timeout | null = null
  private topicSignature = ''
  private closed = false
  private ticking = false
  private recoveringServed = false
  /**
   * Agreements (owner, folder) whose last receipt is being taken from the owner's ledger (see
   * recoverReceipts): no receipt is proposed for them meanwhile, and none is recovered twice.
   */
  private readonly recovering = new Set<string>()
  /** Agreements (owner, folder) whose receipt proposal waits for its answer (see proposeSoon). */
  private readonly proposing = new Set<string>()
  private saveTimer: NodeJS.Timeout | null = null
  private readonly me: string
  private readonly file: string

  constructor(private readonly deps: HostingDeps) {
    super()
    this.timers = { ...DEFAULT_TIMERS, ...deps.timers }
    this.governor = new Governor({ dir: deps.dataDir, limits: deps.limits })
    this.me = deps.identity.publicKey.toString('hex')
    this.file = path.join(deps.dataDir, 'hosting.json')
    this.scores = new LedgerScores(deps.store)
  }

  get log(): Logger {
    return this.deps.log
  }

  async open(): Promise<void> {
    await this.load()
    this.ledger = await Ledger.open(this.deps.store, this.deps.identity)
    this.swarm = new Swarm(this.deps.dht, crypto.keyPair(), this.deps.store, this.log, {
      replicate: (conn) => this.onConnection(conn),
    })
    await this.swarm.swarm.listen()
    for (const h of this.state.hosted) this.openHosted(h)
    this.tick = setInterval(() => void this.onTick(), Math.min(this.timers.auditMs, 5000))
    this.tick.unref()
    this.topicWatch = setInterval(() => {
      const sig = this.deps
        .memberTopics()
        .map((t) => t.toString('hex'))
        .sort()
        .join()
      if (sig === this.topicSignature) return
      this.topicSignature = sig
      // A member that just joined finds the folder's hosts now, not at the next tick.
      void this.updateTopics().catch(() => {})
    }, 500)
    this.topicWatch.unref()
    await this.updateTopics()
    void this.onTick()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.tick) clearInterval(this.tick)
    if (this.topicWatch) clearInterval(this.topicWatch)
    if (this.requestTimer) clearTimeout(this.requestTimer)
    this.governor.destroy()
    for (const s of this.sessions) s.teardown()
    await this.swarm?.close().catch(() => {})
    await Promise.all([...this.cores.values()].map((c) => c.core.close().catch(() => {})))
    await this.save()
    await this.ledger?.close().catch(() => {})
  }

  /** Moves the hosting swarm to another DHT (a network-mode change). */
  async switchTo(dht: HyperDHT): Promise<void> {
    await this.swarm.switchTo(dht, crypto.keyPair())
  }

  async setPaused(paused: boolean): Promise<void> {
    await this.swarm.setPaused(paused)
  }

  /** Announces and looks up the hosting topics again now (the DHT changed shape under them). */
  refresh(): void {
    // Before open() there is no swarm: open() joins the topics itself.
    ;(this.swarm as Swarm | undefined)?.refreshAll()
  }

  // ---------------------------------------------------------------- persistence

  private async load(): Promise<void> {
    let text: string
    try {
      text = await fs.readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      // A directory in its place or a file this user cannot read: nothing to set aside safely.
      throw new Error(
        `${this.file} cannot be read (${(err as Error).message}). Fix its permissions or move it away; Spare will not overwrite it.`,
        { cause: err },
      )
    }
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      raw = null
    }
    const format = (raw as { format?: unknown } | null)?.format
    if (typeof format === 'number' && format > 1) {
      // A newer Spare's agreements, hosts, bans, strikes and receipts in flight: starting afresh
      // would write over them with a format-1 file, and the newer Spare would find none.
      throw new Error(
        `${this.file} was written by a newer Spare (format ${format}; this one reads format 1). Upgrade Spare.`,
      )
    }
    const parsed = StateSchema.safeParse(raw)
    if (!parsed.success) {
      const aside = `${this.file}.corrupt-${Date.now()}`
      await fs.rename(this.file, aside)
      this.log.warn({ keptAs: aside }, 'hosting state unreadable; starting afresh')
      return
    }
    this.state = parsed.data
  }

  private saveSoon(): void {
    if (this.saveTimer) return
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null
      void this.save()
    }, 1000)
    this.saveTimer.unref()
  }

  private async save(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer)
    this.saveTimer = null
    await writeFileAtomic(this.file, JSON.stringify(this.state), { mode: 0o600 }).catch(
      (err: Error) => this.log.warn({ err: err.message }, 'cannot save hosting state'),
    )
  }

  // ---------------------------------------------------------------- status for the API

  async setLimits(limits: DonateLimits): Promise<DonateInfo> {
    this.governor.setLimits(limits)
    await this.enforceBudget()
    await this.updateTopics()
    for (const s of this.sessions) this.sendHello(s)
    // More room: fetching goes on where the budget had stopped it.
    for (const entry of this.cores.values()) this.pump(entry)
    this.refreshBalances()
    return this.donateStatus()
  }

  usedBytes(): number {
    let n = 0
    for (const c of this.cores.values()) n += c.held
    return n
  }

  async donateStatus(): Promise<DonateInfo> {
    const status = await this.governor.status(this.usedBytes())
    return {
      ...status,
      hosting: this.state.hosted.map((h) => {
        const bytes = this.heldOf(h)
        return {
          folder: h.folder,
          owner: h.owner,
          cores: h.cores.length,
          bytes,
          agreedBytes: h.agreedBytes,
          since: h.since,
          lastNeededAt: h.lastNeededAt,
          overAgreed: bytes >= h.agreedBytes,
        }
      }),
    }
  }

  hostsOf(folderId: string): FolderHostInfo[] {
    return (this.state.hosts[folderId] ?? []).map((r) => ({
      host: r.host,
      bytes: r.bytes,
      agreedBytes: r.agreedBytes,
      connected: !!this.sessionOf(r.host),
      since: r.since,
      lastAudit: r.lastAudit,
      auditsPassed: r.auditsPassed,
    }))
  }

  strikes(): Record<string, number> {
    return { ...this.state.strikes }
  }

  /** Forgets a folder this node no longer syncs: its hosts are released. */
  forgetFolder(folderId: string): void {
    for (const r of this.state.hosts[folderId] ?? []) {
      const s = this.sessionOf(r.host)
      if (s) this.send(s, { t: 'release', folder: folderId })
    }
    delete this.state.hosts[folderId]
    this.saveSoon()
  }

  /** Fetches another node's ledger by its key (over the main swarm) and checks it. */
  async verifyRemote(key: Buffer, mainSwarm: Swarm, timeoutMs = 20_000): Promise<LedgerReport> {
    const core = this.deps.store.get({ key })
    await core.ready()
    await mainSwarm.join(core.discoveryKey, { server: false, client: true })
    try {
      const deadline = Date.now() + timeoutMs
      while (core.length === 0 && Date.now() < deadline) {
        await core.update({ wait: true }).catch(() => false)
        if (core.length === 0) await new Promise((r) => setTimeout(r, 250))
      }
      if (core.length === 0) throw new Error('no peer has that ledger right now')
      return await verifyLedger(core)
    } finally {
      await mainSwarm.leave(core.discoveryKey).catch(() => {})
      await core.close().catch(() => {})
    }
  }

  // ---------------------------------------------------------------- topics

  /** Joins what this node needs on the hosting swarm; leaves what it no longer needs. */
  async updateTopics(): Promise<void> {
    if (this.closed) return
    const want = new Map<string, { server: boolean; client: boolean }>()
    const add = (topic: Buffer, mode: { server: boolean; client: boolean }): void => {
      const k = topic.toString('hex')
      const prev = want.get(k)
      want.set(k, {
        server: mode.server || !!prev?.server,
        client: mode.client || !!prev?.client,
      })
    }
    const { budget } = await this.governor.budget(this.usedBytes())
    const donating = budget > 0
    const needHosts = this.deps.folders().some((f) => this.liveHosts(f.id).length < f.hostsWanted)
    if (donating || needHosts) add(HOSTING_TOPIC, { server: donating, client: needHosts })
    // Hyperswarm looks a topic up again only every 10 minutes or so: while a folder lacks hosts,
    // look for donors that appeared since more often.
    const hostingTopic = HOSTING_TOPIC.toString('hex')
    const lookupEvery = Math.min(5 * this.timers.auditMs, 5 * 60 * 1000)
    if (needHosts && this.topics.get(hostingTopic)?.client) {
      if (Date.now() - this.lastHostLookup >= lookupEvery) {
        this.lastHostLookup = Date.now()
        const discovery = (this.swarm.swarm as unknown as DiscoveryStatus).status(HOSTING_TOPIC)
        discovery?.refresh().catch(() => {})
      }
    } else this.lastHostLookup = Date.now()
    for (const t of this.deps.memberTopics())
      add(folderHostingTopic(t), { server: false, client: true })
    for (const h of this.state.hosted)
      add(folderHostingTopic(Buffer.from(h.topic, 'hex')), { server: true, client: false })
    for (const [k, mode] of this.topics) {
      const next = want.get(k)
      if (!next || next.server !== mode.server || next.client !== mode.client) {
        await this.swarm.leave(Buffer.from(k, 'hex'))
        this.topics.delete(k)
      }
    }
    for (const [k, mode] of want) {
      if (this.topics.has(k)) continue
      this.topics.set(k, mode)
      this.swarm
        .join(Buffer.from(k, 'hex'), mode)
        .catch((err: Error) => this.log.warn({ err: err.message }, 'hosting join failed'))
    }
  }

  // ---------------------------------------------------------------- connections

  private onConnection(conn: SwarmConnection): void {
    const inner = this.deps.store.replicate(conn.isInitiator)
    const mux = Protomux.from(inner.noiseStream.userData)
    const session: Session = {
      conn,
      msg: null,
      identity: null,
      ledger: null,
      free: 0,
      nextId: 1,
      waiting: new Map(),
      teardown: () => {},
      sentUp: () => Promise.resolve(),
      servedOut: new Map(),
      received: 0,
      hostedIn: 0,
      claimed: 0,
      notBilled: new Set(),
      balance: 0,
      balanceAt: 0,
      breaks: 0,
      breakLoggedAt: 0,
      breaksUnlogged: 0,
      closeChannel: () => {
        // Protomux lists a connection's channels; the hosting one is closed, not the connection.
        for (const ch of mux as unknown as Iterable<{ protocol: string; close(): void }>) {
          if (ch.protocol === HOSTING_PROTOCOL) ch.close()
        }
      },
    }
    // What the replication stream has produced (encrypted, for the pipe to read), counted as it
    // is pushed: the offset a message written now reaches once it is encrypted.
    const bridge = inner as unknown as ReplicationBridge
    let produced = 0
    const push = bridge.push.bind(bridge)
    bridge.push = (data) => {
      if (data) produced += data.byteLength
      return push(data)
    }
    const pipe = throttledPipe(
      inner as unknown as PipeStream, // streamx Duplexes: what throttledPipe expects
      conn as unknown as PipeStream,
      this.governor.up,
      this.governor.down,
      // Give to get: what this node uploads to a peer with a better balance goes first.
      { upPriority: () => session.balance },
    )
    session.teardown = pipe
    session.sentUp = () => this.sentUp(bridge, mux, pipe, () => produced)
    this.byMux.set(mux as object, session)
    // Everything that comes in from the peer, counted before the throttle: what its served
    // receipts are checked against.
    ;(conn as unknown as EventEmitter).on('data', (d: Uint8Array) => {
      session.received += d.byteLength
    })
    this.sessions.add(session)
    conn.on('close', () => {
      this.sessions.delete(session)
      for (const w of session.waiting.values()) w({ t: 'proof', id: -1, hash: null } as Message)
      session.waiting.clear()
    })
    session.msg = openMessageChannel(mux, {
      protocol: HOSTING_PROTOCOL,
      decode: decodeMessage,
      onopen: () => this.sendHello(session),
      onclose: () => {
        session.msg = null
      },
      onmessage: (m) => this.onMessage(session, m),
      onbad: (reason) => this.strike(session, `sent a bad message: ${reason}`),
      onfail: (err, m) => this.log.warn({ err: err.message, t: m.t }, 'hosting message failed'),
    })
  }

  private send(s: Session, m: Message): void {
    s.msg?.send(encodeMessage(m))
  }

  /**
   * Sends `m` and resolves with the peer's answer, or with `{t: 'proof', hash: null}` when none
   * came within `timeoutMs`. The time starts once `m` has gone through this node's upload limit
   * (`clock.started` is set then): a small message shares the throttled stream with the blocks
   * this node uploads and waits behind those already in it, which the peer has nothing to do
   * with (an owner uploading at a low rate failed its honest host's audits).
   */
  private request(
    s: Session,
    m: Message & { id: number },
    timeoutMs: number,
    clock: { started: number } = { started: 0 },
  ): Promise<Message> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null
      let done = false
      s.waiting.set(m.id, (reply) => {
        done = true
        if (timer) clearTimeout(timer)
        s.waiting.delete(m.id)
        resolve(reply)
      })
      this.send(s, m)
      void s.sentUp().then(() => {
        if (done) return
        clock.started = Date.now()
        timer = setTimeout(() => {
          done = true
          s.waiting.delete(m.id)
          resolve({ t: 'proof', id: m.id, hash: null })
        }, timeoutMs)
      })
    })
  }

  /**
   * Resolves once every message written to the replication stream so far has gone through the
   * upload limit: it is encrypted (the noise stream and its bridge drained of the writes queued
   * now), then the pipe sent as many bytes as the stream had produced by then. At once without
   * an upload limit. Waits at most twice what the bytes ahead need at the limit's rate (plus a
   * second): a peer that stops reading stalls the pipe, and must not stop the clock with it.
   */
  private async sentUp(
    bridge: ReplicationBridge,
    mux: unknown,
    pipe: ThrottledPipe,
    produced: () => number,
  ): Promise<void> {
    const rate = this.governor.up.ratePerSec
    if (rate === null) return
    // Ahead of a message written now: what the pipe has not sent yet, and what the stream's
    // buffers may still hold before encryption (a few blocks, each at most a piece or so).
    const ahead = produced() - pipe.sentUp() + SENT_UP_SLACK_BYTES
    let timer: NodeJS.Timeout | undefined
    const cap = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000 + (2 * ahead * 1000) / rate)
    })
    let waiting = true
    const flushed = (async () => {
      // A corked mux (Hypercore corks it while it answers block requests) holds what was sent
      // meanwhile in a batch, written to the noise stream when it is uncorked.
      while (waiting && (mux as { corked?: number }).corked) {
        await new Promise((resolve) => setTimeout(resolve, 10))
      }
      await StreamxWritable.drained(bridge.noiseStream as unknown as StreamxWritable)
      await StreamxWritable.drained(bridge.reverse as unknown as StreamxWritable)
      await pipe.whenSentUp(produced())
    })().catch(() => {})
    await Promise.race([flushed, cap]).finally(() => {
      waiting = false
      clearTimeout(timer)
    })
  }

  private sendHello(s: Session): void {
    void (async () => {
      const { budget } = await this.governor.budget(this.usedBytes())
      const free = Math.max(0, budget - this.usedBytes())
      this.send(s, {
        t: 'hello',
        identity: this.me,
        ledger: this.ledger.core.key.toString('hex'),
        free,
        sig: signHello(HELLO_TAG, s.conn, this.deps.identity.secretKey),
      })
    })().catch(() => {})
  }

  private sessionOf(identity: string): Session | null {
    for (const s of this.sessions) if (s.identity === identity && s.msg) return s
    return null
  }

  /**
   * A rule break by the peer of `s`: a strike against its identity (once known) and a log line, at
   * most one a second per connection (the ones in between are counted in the next). After
   * MAX_RULE_BREAKS on one connection its hosting channel closes, and what still comes is
   * neither struck nor logged.
   */
  private strike(s: Session, reason: string): void {
    if (s.breaks >= MAX_RULE_BREAKS) return
    s.breaks++
    const identity = s.identity
    const now = Date.now()
    const last = s.breaks === MAX_RULE_BREAKS
    if (last || now - s.breakLoggedAt >= STRIKE_LOG_EVERY_MS) {
      const unlogged = s.breaksUnlogged
      s.breakLoggedAt = now
      s.breaksUnlogged = 0
      this.log.warn(
        {
          peer: identity?.slice(0, 12) ?? 'unknown',
          reason,
          ...(unlogged ? { notLogged: unlogged } : {}),
          ...(last ? { closed: 'its hosting channel: too many rule breaks' } : {}),
        },
        'peer misbehaved',
      )
    } else s.breaksUnlogged++
    if (identity) {
      this.state.strikes[identity] = (this.state.strikes[identity] ?? 0) + 1
      this.saveSoon()
    }
    if (last) s.closeChannel()
  }

  private async onMessage(s: Session, m: Message): Promise<void> {
    if (m.t === 'hello') {
      if (!verifyHello(HELLO_TAG, s.conn, m.identity, m.sig) || m.identity === this.me) {
        this.strike(s, 'hello with a bad signature')
        return
      }
      s.identity = m.identity
      s.ledger = m.ledger
      s.free = m.free
      for (const r of Object.values(this.state.hosts).flat()) {
        if (r.host === m.identity) r.lastSeen = Date.now()
      }
      this.refreshBalances()
      void this.onTick()
      return
    }
    if (!s.identity) return // nothing before a valid hello
    if ('id' in m && (m.t === 'reply' || m.t === 'proof' || m.t === 'countersign')) {
      s.waiting.get(m.id)?.(m)
      return
    }
    switch (m.t) {
      case 'request':
        this.onRequest(s, m)
        return
      case 'release':
        await this.dropHosted(m.folder, s.identity, 'released by its owner')
        return
      case 'status':
        this.onStatus(s, m)
        return
      case 'audit':
        await this.onAudit(s, m)
        return
      case 'receipt':
        await this.onReceipt(s, m)
        return
      case 'audit-result': {
        const h = this.state.hosted.find((x) => x.folder === m.folder && x.owner === s.identity)
        if (h && m.ok) h.auditsAnswered++
        return
      }
      default:
        return
    }
  }

  // ---------------------------------------------------------------- donor side

  private heldOf(h: Hosted): number {
    let n = 0
    for (const k of h.cores) n += this.cores.get(k)?.held ?? 0
    return n
  }

  /**
   * The balance to rank a peer's requests by (give to get): its verified ledger's balance, 0 for a
   * newcomer whose ledger nobody could fetch, -Infinity for a forged one (ledger/scores.ts).
   */
  private async requesterBalance(s: Session): Promise<number> {
    if (!s.identity || !s.ledger) return 0
    return this.scores.balance(s.identity, s.ledger)
  }

  /** With an upload limit, keeps each connected peer's balance (its upload priority) current. */
  private refreshBalances(): void {
    if (this.governor.up.ratePerSec === null || this.closed) return
    const now = Date.now()
    for (const s of this.sessions) {
      if (!s.identity || !s.ledger || now - s.balanceAt < BALANCE_REFRESH_MS) continue
      s.balanceAt = now
      this.requesterBalance(s).then(
        (b) => {
          s.balance = b
        },
        () => {},
      )
    }
  }

  /**
   * Collects requests for requestWindowMs, then decides them in balance order (give to get): the
   * best balance first while they fit the budget; the rest hear that the host is full. Each
   * requester's ledger is checked at once, and each request is decided as soon as its check ends
   * and it is safe to (see decideReady): one slow ledger no longer holds every other request.
   */
  private onRequest(s: Session, m: Extract<Message, { t: 'request' }>): void {
    this.pending.push({ s, m })
    if (this.requestTimer) return
    this.requestTimer = setTimeout(() => {
      this.requestTimer = null
      const batch = ++this.batches
      for (const r of this.pending.splice(0)) {
        const item: Deciding = { ...r, batch, balance: null }
        this.toDecide.push(item)
        void this.requesterBalance(r.s)
          .catch(() => 0)
          .then((balance) => {
            item.balance = balance
            this.decideSoon()
          })
      }
    }, this.timers.requestWindowMs)
  }

  /** Runs decideReady after the decisions under way (one at a time: each reads the budget). */
  private decideSoon(): void {
    this.deciding = this.deciding
      .then(() => this.decideReady())
      .catch((err: Error) => this.log.warn({ err: err.message }, 'hosting requests failed'))
  }

  /**
   * Decides the requests whose requester's balance is known, in order: earlier windows first,
   * then the best balance (orderByBalance). A request is accepted while requesters' ledgers are
   * still being checked only if it fits with the bytes each of those asks for kept aside: any of
   * them may rank before it, and it must not take their room. One that fits only without them
   * waits for their checks (at most BALANCE_WAIT_MS: LedgerScores.balance), and so does every
   * request after it in the order; one that does not fit even alone is refused now, as it would
   * be after them.
   */
  private async decideReady(): Promise<void> {
    for (;;) {
      if (this.closed) return
      const checking = this.toDecide.filter((x) => x.balance === null)
      const reserve = checking.reduce((n, x) => n + x.m.bytes, 0)
      const known = this.toDecide.filter((x) => x.balance !== null)
      const byWindow = new Map<number, Deciding[]>()
      for (const x of known) byWindow.set(x.batch, [...(byWindow.get(x.batch) ?? []), x])
      const order = [...byWindow.keys()]
        .sort((x, y) => x - y)
        .flatMap((k) =>
          orderByBalance(byWindow.get(k)!.map((x) => ({ ...x, balance: x.balance! }))),
        )
      if (order.length > 1) {
        this.log.info(
          { requests: order.map((r) => ({ folder: r.m.folder, balance: r.balance })) },
          'deciding hosting requests that came together, best balance first',
        )
      }
      let progressed = false
      for (const r of order) {
        if (this.closed) return
        const item = this.toDecide.find((x) => x.s === r.s && x.m === r.m)
        if (!item) continue
        if (r.s.msg) {
          const done = await this.decideRequest(r.s, r.m, r.balance, reserve)
          if (done === 'wait') {
            this.log.info(
              { folder: r.m.folder, checking: checking.length },
              'a hosting request waits for ledgers still being checked',
            )
            break
          }
        } // else the requester left meanwhile
        this.toDecide.splice(this.toDecide.indexOf(item), 1)
        progressed = true
      }
      if (!progressed) return
    }
  }

  /**
   * Decides one request. An agreement is the requester's own: one per (folder, requester), so a
   * request from anyone else (another writer of the folder, or a peer that only knows its id)
   * neither takes over nor widens another's agreement, and a refused request changes nothing. A
   * blind host cannot read a folder's membership (its logs are encrypted), so it does not try:
   * whoever asks pays for what it asks (its balance, the budget), and its release drops only its
   * own agreement. Cores kept under several agreements are stored once and counted once.
   */
  private async decideRequest(
    s: Session,
    m: Extract<Message, { t: 'request' }>,
    balance: number,
    reserve = 0,
  ): Promise<'decided' | 'wait'> {
    const owner = s.identity as string
    const reply = (ok: boolean, reason: string | null): void =>
      this.send(s, { t: 'reply', id: m.id, ok, reason })
    if (folderIdOfTopic(Buffer.from(m.topic, 'hex')) !== m.folder) {
      reply(false, "that topic is not the folder's")
      return 'decided'
    }
    if (balance + STARTING_ALLOWANCE < 0) {
      reply(false, 'your ledger balance is too low: give before you get')
      return 'decided'
    }
    // A core this node holds outside hosting is its own (its ledger, whose key its hello gives
    // away; its folders' logs and blobs; a ledger it checked): dropping a hosted core clears and
    // purges it, so a release or an eviction would wipe the node's own data.
    for (const key of new Set(m.cores)) {
      if (await this.heldOutsideHosting(key)) {
        reply(false, 'this host keeps one of those cores for itself')
        return 'decided'
      }
    }
    const existing = this.state.hosted.find((h) => h.folder === m.folder && h.owner === owner)
    const now = Date.now()
    const next: Hosted = existing
      ? {
          ...existing,
          agreedBytes: Math.max(existing.agreedBytes, m.bytes),
          cores: [...new Set([...existing.cores, ...m.cores])],
        }
      : {
          folder: m.folder,
          owner,
          topic: m.topic,
          cores: [...new Set(m.cores)],
          agreedBytes: m.bytes,
          since: now,
          lastNeededAt: now,
          priority: balance,
          lastReceiptTo: now,
          auditsAnswered: 0,
          proposal: null,
        }
    const used = this.usedBytes()
    const { budget } = await this.governor.budget(used)
    const before = this.committed(this.state.hosted)
    const after = this.committed([...this.state.hosted.filter((h) => h !== existing), next])
    if (after > budget) {
      reply(false, `this host is full (it can take ${Math.max(0, budget - before)} more bytes)`)
      return 'decided'
    }
    // Room kept for requests whose requester's ledger is still being checked (decideReady).
    if (after + reserve > budget) return 'wait'
    if (this.closed || !s.msg) return 'decided'
    let h: Hosted
    if (existing) {
      existing.agreedBytes = next.agreedBytes
      existing.cores = next.cores
      existing.lastNeededAt = now
      existing.priority = balance
      h = existing
    } else {
      h = next
      this.state.hosted.push(h)
      this.log.info(
        { folder: m.folder, owner: owner.slice(0, 12), bytes: m.bytes },
        'hosting a folder',
      )
    }
    this.openHosted(h)
    // Fetching stopped at the old agreed size: it goes on up to the new one.
    for (const k of h.cores) {
      const entry = this.cores.get(k)
      if (entry) this.pump(entry)
    }
    this.saveSoon()
    reply(true, null)
    await this.updateTopics()
    this.emit('changed')
    return 'decided'
  }

  /** Whether the store holds core `key` (open or on disk) while no agreement here covers it. */
  private async heldOutsideHosting(key: string): Promise<boolean> {
    if (this.cores.has(key)) return false
    const discoveryKey = crypto.discoveryKey(Buffer.from(key, 'hex'))
    const store = this.deps.store as unknown as StoreInside
    if (store.cores.opened(discoveryKey.toString('hex'))) return true
    return store.storage.hasCore(discoveryKey).catch(() => true)
  }

  /** Bytes of the batches in flight for an agreement's cores. */
  private inflightOf(h: Hosted): number {
    let n = 0
    for (const k of h.cores) n += this.cores.get(k)?.inflight ?? 0
    return n
  }

  /** The agreements that cover a core. */
  private usersOf(key: string): Hosted[] {
    return this.state.hosted.filter((h) => h.cores.includes(key))
  }

  /**
   * How much of a hosted core the host looks at: its length, but no more blocks than the largest
   * agreement covering it pays for at MIN_BLOCK_BYTES a block (an owner signs its cores' lengths).
   */
  private lengthOf(entry: HostedCore): number {
    let agreed = 0
    for (const h of this.usersOf(entry.key)) agreed = Math.max(agreed, h.agreedBytes)
    return Math.min(entry.core.length, Math.ceil(agreed / MIN_BLOCK_BYTES))
  }

  /**
   * The bytes a set of agreements commits this host to: per folder, the larger of what its cores
   * hold and what was agreed, where an agreement whose cores are all in a larger one's of the
   * same folder (another writer asking for the same folder) adds nothing.
   */
  private committed(list: readonly Hosted[]): number {
    const byFolder = new Map<string, Hosted[]>()
    for (const h of list) byFolder.set(h.folder, [...(byFolder.get(h.folder) ?? []), h])
    let total = 0
    for (const group of byFolder.values()) {
      const seen = new Set<string>()
      let agreed = 0
      for (const h of [...group].sort((x, y) => y.agreedBytes - x.agreedBytes)) {
        if (!h.cores.every((k) => seen.has(k))) agreed += h.agreedBytes
        for (const k of h.cores) seen.add(k)
      }
      let held = 0
      for (const k of seen) held += this.cores.get(k)?.held ?? 0
      total += Math.max(agreed, held)
    }
    return total
  }

  private openHosted(h: Hosted): void {
    for (const key of h.cores) {
      if (this.cores.has(key)) continue
      // By key only, no encryption key: the host stores and serves ciphertext.
      const core = this.deps.store.get({ key: Buffer.from(key, 'hex') })
      const entry: HostedCore = {
        key,
        folder: h.folder,
        core,
        held: 0,
        blocks: 0,
        next: 0,
        gaps: [],
        gapsAt: Date.now(),
        gapsLeft: 0,
        stalls: 0,
        inflight: 0,
        pumping: false,
      }
      this.cores.set(key, entry)
      core.on('append', () => this.pump(entry))
      core.on('peer-add', () => this.pump(entry))
      core.on('upload', (_index, byteLength, peer) => {
        const now = Date.now()
        for (const u of this.usersOf(key)) u.lastNeededAt = now
        this.countUpload(entry.folder, byteLength, peer)
      })
      core.on('download', (_index, byteLength, peer) => {
        const s = this.sessionByPeer(peer)
        if (s) s.hostedIn += byteLength
      })
      core
        .ready()
        .then(async () => {
          entry.blocks = await countHeld(core, 0, this.lengthOf(entry))
          entry.held = heldBytes(core, entry.blocks)
          this.pump(entry)
        })
        .catch(() => {})
    }
  }

  /**
   * Fetches a hosted core in batches while the budget and the agreed size allow: it goes on while
   * some agreement that covers it holds no more than was agreed.
   */
  private pump(entry: HostedCore): void {
    if (entry.pumping || this.closed) return
    entry.pumping = true
    void (async () => {
      try {
        const core = entry.core
        await core.update({ wait: true }).catch(() => false)
        entry.next = Math.max(entry.next, core.contiguousLength)
        // A cursor rather than contiguousLength: a range no peer holds (blocks of expired
        // versions, cleared everywhere) would stop the fetch there for good, and the blocks
        // after it, which the owner audits, would never come. Ranges given up are kept and
        // looked at again (at most every GAP_RETRY_MS), after the new blocks at the end.
        for (;;) {
          if (this.closed || core.peers.length === 0) return // no one to fetch from: wait for a peer
          let start: number
          let end: number
          const length = this.lengthOf(entry)
          if (entry.next < length) {
            start = entry.next
            end = Math.min(length, start + this.batchBlocks(entry))
          } else if (entry.gaps.length && Date.now() - entry.gapsAt >= GAP_RETRY_MS) {
            if (entry.gapsLeft === 0) entry.gapsLeft = entry.gaps.length // a round over them
            ;[start, end] = entry.gaps.shift() as [number, number]
            entry.gapsLeft--
            if (entry.gapsLeft === 0) entry.gapsAt = Date.now()
          } else break
          const got = await this.fetchBatch(entry, start, end)
          if (got === 'stop') return
          if (entry.next < end) entry.next = end
          if (got === 'stalled') entry.gaps.push([start, end])
        }
        for (const h of this.usersOf(entry.key)) this.tellOwner(h, null)
      } catch (err) {
        this.log.debug({ err: (err as Error).message }, 'hosted core fetch stopped')
      } finally {
        entry.pumping = false
      }
    })()
  }

  /**
   * Blocks of a core fetched in one batch: BATCH_BLOCKS, or with a download limit as many as that
   * rate brings in FETCH_AHEAD_SHARE of the audit timeout (at least one). Smaller batches, not a
   * longer audit timeout: the timeout is what keeps a host from fetching an audited block on
   * demand instead of keeping it, and a rate the host declared would be its word.
   */
  private batchBlocks(entry: HostedCore): number {
    const rate = this.governor.down.ratePerSec
    const core = entry.core
    if (rate === null || core.length === 0 || core.byteLength === 0) return BATCH_BLOCKS
    const ahead = (rate * this.timers.auditTimeoutMs * FETCH_AHEAD_SHARE) / 1000
    const block = core.byteLength / core.length
    return Math.max(1, Math.min(BATCH_BLOCKS, Math.floor(ahead / block)))
  }

  /**
   * fetchBatchNow, one batch at a time when the download is rate limited: the cores of a folder
   * (and every folder) fetch at once otherwise, and an audit would wait behind all their batches.
   */
  private async fetchBatch(entry: HostedCore, start: number, end: number): Promise<BatchResult> {
    if (this.governor.down.ratePerSec === null) return this.fetchBatchNow(entry, start, end)
    const before = this.throttledTurn
    let release = (): void => {}
    this.throttledTurn = new Promise<void>((resolve) => {
      release = resolve
    })
    try {
      await before
      // A batch that brings nothing (a gap no peer can fill) gives its turn up while it waits out
      // its stall time: nothing of it is in the way of an audit, and other cores can fetch.
      return await this.fetchBatchNow(entry, start, end, release)
    } finally {
      release()
    }
  }

  /**
   * Fetches blocks [start, end) of a hosted core as far as the budget and the agreements allow
   * ('stop' when they don't). 'stalled': no block came for a while, so what peers have of it has
   * come and the rest is a gap no peer can fill (a range holding such blocks never completes).
   * The wait is long for a first such batch (a slow link) and short for the ones right after it
   * (the rest of a long gap).
   */
  private async fetchBatchNow(
    entry: HostedCore,
    start: number,
    end: number,
    idle?: () => void,
  ): Promise<BatchResult> {
    const core = entry.core
    const users = this.usersOf(entry.key)
    if (users.length === 0) return 'stop'
    // What every core of an agreement has in flight counts too: the cores of one agreement fetch
    // at once, and each checking only what was held let it pass by a batch per core.
    const reached = (): boolean =>
      users.every((h) => this.heldOf(h) + this.inflightOf(h) > h.agreedBytes)
    if (reached()) {
      this.log.info({ folder: entry.folder }, 'a hosted folder reached the agreed size')
      for (const h of users) this.tellOwner(h, null)
      return 'stop'
    }
    const before = await countHeld(core, start, end)
    if (before === end - start) return 'done'
    const estimate = core.length
      ? Math.ceil((core.byteLength / core.length) * (end - start - before))
      : 0
    // Checked again and taken with no await between: another core may have started a batch.
    if (reached()) return 'stop'
    entry.inflight += estimate
    const flight = { left: estimate }
    try {
      return await this.fetchAdmitted(entry, start, end, before, flight, idle)
    } finally {
      // What came moved from in flight to held as it came; the rest is no longer in flight now.
      entry.inflight -= flight.left
    }
  }

  /**
   * fetchBatch, once the batch (`flight.left` bytes, `before` of its blocks held) counts in
   * flight. Each block that comes moves its share from in flight (and reserved) to held, and
   * what is held is reported as it grows: a batch from an owner with a low upload limit can take
   * longer than an audit period, and an owner forgives a miss only while what its host says it
   * holds grows. `idle` is called once no block came for idleMs (the batch goes on waiting for
   * its stall).
   */
  private async fetchAdmitted(
    entry: HostedCore,
    start: number,
    end: number,
    before: number,
    flight: { left: number },
    idle?: () => void,
  ): Promise<BatchResult> {
    const core = entry.core
    const estimate = flight.left
    if (!(await this.admit(estimate))) {
      this.log.info({ folder: entry.folder }, 'hosting budget reached')
      await this.enforceBudget()
      return 'stop'
    }
    const range = core.download({ start, end })
    const perBlock = estimate / Math.max(1, end - start - before)
    let counted = 0
    let progressAt = Date.now()
    let timer: NodeJS.Timeout | undefined
    let idleTimer: NodeJS.Timeout | undefined
    let onBlock = (_index: number): void => {}
    let got: 'done' | 'stalled'
    try {
      const waitMs = entry.stalls
        ? Math.min(this.timers.fetchStallMs, GAP_STALL_MS)
        : this.timers.fetchStallMs
      const idleMs = this.idleMs(core, waitMs)
      const stalled = new Promise<'stalled'>((resolve) => {
        let lastBlockAt = 0
        let mark = 0
        const wait = (): void => {
          timer = setTimeout(() => {
            // None of its blocks, but its peers' link is busy: they may be queued behind others.
            const now = this.receivedFrom(core)
            if (now - mark >= STALL_BUSY_BYTES && Date.now() - lastBlockAt < STALL_BUSY_MS) {
              mark = now
              wait()
            } else resolve('stalled')
          }, waitMs)
        }
        const arm = (): void => {
          clearTimeout(timer)
          clearTimeout(idleTimer)
          lastBlockAt = Date.now()
          mark = this.receivedFrom(core)
          wait()
          if (idle) idleTimer = setTimeout(idle, idleMs)
        }
        onBlock = (index) => {
          arm()
          if (index < start || index >= end) return
          counted++
          entry.blocks++
          entry.held = heldBytes(core, entry.blocks)
          // The batch's bytes not held yet are both in flight (fetchBatchNow) and reserved.
          const share = Math.min(flight.left, perBlock)
          flight.left -= share
          entry.inflight -= share
          this.reserved -= share
          if (Date.now() - progressAt >= PROGRESS_EVERY_MS) {
            progressAt = Date.now()
            this.reportHeld(entry)
          }
        }
        arm()
      })
      core.on('download', onBlock)
      const finished = range.done().then(
        () => 'done' as const,
        () => 'stalled' as const, // destroyed, or the core closed
      )
      got = await Promise.race([finished, stalled])
      if (got === 'done') entry.stalls = 0
      else {
        entry.stalls++
        range.destroy()
      }
    } finally {
      core.off('download', onBlock)
      clearTimeout(timer)
      clearTimeout(idleTimer)
      this.reserved -= flight.left
    }
    const after = await countHeld(core, start, end)
    // Blocks counted as they came are in `after` too (a block cleared meanwhile is taken back).
    entry.blocks += after - before - counted
    entry.held = heldBytes(core, entry.blocks)
    if (after !== before) this.reportHeld(entry)
    return got
  }

  /** Bytes that came in so far on the hosting connections of a core's peers. */
  private receivedFrom(core: Hypercore): number {
    let n = 0
    for (const peer of core.peers) n += this.sessionByPeer(peer)?.received ?? 0
    return n
  }

  /**
   * A hosted core's held bytes changed: the UI is told, and so is each owner it is kept for, at
   * most every quarter audit period (and STATUS_EVERY_MS). An owner forgives a miss past what
   * its host holds only while that grows fast enough between audits: told only once a whole pass
   * ended, a host fetching a large folder slowly looked stalled and was failed.
   */
  private reportHeld(entry: HostedCore): void {
    this.emit('changed')
    const every = Math.min(this.timers.auditMs / 4, STATUS_EVERY_MS)
    const now = Date.now()
    for (const h of this.usersOf(entry.key)) {
      if (now - (this.toldAt.get(h) ?? 0) >= every) this.tellOwner(h, null)
    }
  }

  /**
   * How long a batch fetched under a download limit may bring no block before it gives its turn
   * up (fetchBatch): four times what a block of the core needs at the rate, at least
   * GAP_STALL_MS, at most its stall time. A batch whose blocks come that much slower than the
   * rate is not what fills the throttled link an audit travels on.
   */
  private idleMs(core: Hypercore, waitMs: number): number {
    const rate = this.governor.down.ratePerSec
    const block = core.length ? core.byteLength / core.length : 0
    const perBlock = rate ? (block * 1000) / rate : 0
    return Math.min(waitMs, Math.max(GAP_STALL_MS, 4 * perBlock))
  }

  /**
   * Whether a batch of `estimate` bytes may be fetched: what is held plus every batch already in
   * flight plus this one stays within the budget. Checked and reserved one batch at a time, so
   * concurrent fetches of several cores never pass the budget together.
   */
  private admit(estimate: number): Promise<boolean> {
    const run = this.admitting.then(async () => {
      const ok = await this.governor.canAccept(this.usedBytes() + this.reserved, estimate)
      if (ok) this.reserved += estimate
      return ok
    })
    this.admitting = run.catch(() => false)
    return run
  }

  private tellOwner(h: Hosted, evicted: string | null): void {
    const s = this.sessionOf(h.owner)
    if (!s) return
    const have: Record<string, number> = {}
    const blocks: Record<string, number> = {}
    for (const k of h.cores) {
      const c = this.cores.get(k)
      if (c && c.core.contiguousLength > 0) have[k] = c.core.contiguousLength
      if (c && c.blocks > 0) blocks[k] = c.blocks
    }
    this.send(s, { t: 'status', folder: h.folder, bytes: this.heldOf(h), have, blocks, evicted })
    this.toldAt.set(h, Date.now())
  }

  /**
   * Evicts whole hosted folders until usage fits the budget. Planned again after each round:
   * folders can share cores (anyone may ask for a folder listing another's), and a dropped
   * folder's cores that another agreement covers stay, so a round may free less than planned.
   */
  private async enforceBudget(): Promise<void> {
    for (;;) {
      const victims = await this.evictionPlan()
      if (victims.length === 0) return
      for (const id of victims) await this.dropHosted(id, null, 'evicted: the donated space shrank')
    }
  }

  /** The folders to evict for usage to fit the budget (planEviction over whole folders). */
  private async evictionPlan(): Promise<string[]> {
    const used = this.usedBytes()
    const { budget } = await this.governor.budget(used)
    // Whole folders: every agreement of one (its writers') goes together, its cores counted once.
    const folders = new Map<
      string,
      { id: string; cores: Set<string>; lastNeededAt: number; priority: number }
    >()
    for (const h of this.state.hosted) {
      const f = folders.get(h.folder)
      if (!f) {
        folders.set(h.folder, {
          id: h.folder,
          cores: new Set(h.cores),
          lastNeededAt: h.lastNeededAt,
          priority: h.priority,
        })
        continue
      }
      for (const k of h.cores) f.cores.add(k)
      f.lastNeededAt = Math.max(f.lastNeededAt, h.lastNeededAt)
      f.priority = Math.max(f.priority, h.priority)
    }
    return planEviction(
      [...folders.values()].map((f) => ({
        id: f.id,
        bytes: [...f.cores].reduce((n, k) => n + (this.cores.get(k)?.held ?? 0), 0),
        lastNeededAt: f.lastNeededAt,
        priority: f.priority,
      })),
      used,
      budget,
    )
  }

  /**
   * Stops keeping a folder: `by`'s agreement only (its release), or every agreement of the folder
   * (by null: an eviction). Cores another agreement still covers stay.
   */
  private async dropHosted(folder: string, by: string | null, why: string): Promise<void> {
    const gone = this.state.hosted.filter((x) => x.folder === folder && (!by || x.owner === by))
    if (gone.length === 0) return
    for (const h of gone) this.tellOwner(h, why)
    this.state.hosted = this.state.hosted.filter((x) => !gone.includes(x))
    const stillUsed = new Set(this.state.hosted.flatMap((x) => x.cores))
    for (const key of new Set(gone.flatMap((h) => h.cores))) {
      if (stillUsed.has(key)) continue
      const entry = this.cores.get(key)
      this.cores.delete(key)
      // The node opened it too since (it joined the folder it hosted): the core is its own now.
      // Clearing it would wipe the node's copy, and purging closes every session on it.
      if (entry && ((entry.core as Compactable).core?.allSessions?.().length ?? 1) > 1) {
        await entry.core.close().catch(() => {})
      } else if (entry) {
        // Cleared and compacted first: what is still in RocksDB's memtable and log is dropped
        // at once (a purge alone left every byte on disk). Blocks already flushed to a blob
        // file (shared with the node's other cores) come back when StoreReclaim collects.
        const core = entry.core as Compactable
        if (core.length > 0) await core.clear(0, core.length).catch(() => {})
        await core.compact?.().catch(() => {})
        await entry.core.purge().catch(() => entry.core.close().catch(() => {}))
      }
    }
    this.log.info({ folder, why }, 'stopped hosting a folder')
    this.deps.reclaimSoon?.()
    this.saveSoon()
    await this.updateTopics()
    this.emit('changed')
  }

  private async onAudit(s: Session, m: Extract<Message, { t: 'audit' }>): Promise<void> {
    const h = this.state.hosted.find((x) => x.owner === s.identity && x.cores.includes(m.core))
    const entry = h ? this.cores.get(m.core) : undefined
    let hash: string | null = null
    if (entry && (await entry.core.has(m.index))) {
      const block = await entry.core.get(m.index, { wait: false })
      if (block) hash = crypto.hash([Buffer.from(m.nonce, 'hex'), block]).toString('hex')
    }
    if (h && hash) h.lastNeededAt = Date.now()
    this.send(s, { t: 'proof', id: m.id, hash })
  }

  /** Proposes a storage receipt for each hosted folder whose owner is connected. */
  private async proposeReceipts(): Promise<void> {
    const now = Date.now()
    for (const h of this.state.hosted) {
      // The ledger is written before the state: after a crash between the two, it has the end
      // (and the audits counted until then are in that receipt: the owner counts afresh).
      const signedTo = this.ledger.periodEnd('storage', this.me, h.owner, h.folder)
      if (signedTo > h.lastReceiptTo) {
        h.lastReceiptTo = signedTo
        h.auditsAnswered = 0
      }
      if (now - h.lastReceiptTo < this.timers.receiptMs) continue
      // Its last receipt is being recovered: a new one now would be refused again (a strike).
      if (this.recovering.has(agreementKey(h))) continue
      // Nothing verified yet in this period (an owner countersigns only after a passed audit):
      // the period goes on until one passes.
      if (h.auditsAnswered === 0) continue
      const s = this.sessionOf(h.owner)
      if (!s) continue
      // A proposal still waiting for its answer: none again beside it (the owner would refuse
      // the second as overlapping, a strike).
      if (this.proposing.has(agreementKey(h))) continue
      this.proposeSoon(h, s, now)
    }
  }

  /**
   * Runs proposeReceipt beside the tick, once at a time per agreement: an owner has up to the
   * audit timeout to countersign, and audits, fetches and other folders' receipts waited for each
   * answer.
   */
  private proposeSoon(h: Hosted, s: Session, now: number): void {
    const key = agreementKey(h)
    this.proposing.add(key)
    void this.proposeReceipt(h, s, now)
      .catch((err: Error) => this.log.warn({ err: err.message }, 'receipt proposal failed'))
      .finally(() => this.proposing.delete(key))
  }

  /** Proposes the storage receipt due for agreement `h` to its owner (connected as `s`). */
  private async proposeReceipt(h: Hosted, s: Session, now: number): Promise<void> {
    // What it holds now, before the receipt: the owner caps the claim by it.
    this.tellOwner(h, null)
    // A proposal whose answer was lost goes again as it was (see Hosted.proposal).
    const before = ReceiptBodySchema.safeParse(h.proposal?.body)
    let body: ReceiptBody
    let hostSig: string
    if (
      h.proposal &&
      before.success &&
      before.data.kind === 'storage' &&
      before.data.from === h.lastReceiptTo
    ) {
      body = before.data
      hostSig = h.proposal.hostSig
    } else {
      body = newReceiptBody({
        kind: 'storage',
        host: this.me,
        owner: h.owner,
        folder: h.folder,
        bytes: this.heldOf(h),
        from: h.lastReceiptTo,
        to: now,
        audits: h.auditsAnswered,
      })
      hostSig = signAs(body, this.deps.identity, 'host')
      h.proposal = { body, hostSig }
      // Saved before it is sent: a host killed before the answer proposes it again as it was.
      await this.save()
    }
    const id = s.nextId++
    const reply = await this.request(
      s,
      { t: 'receipt', id, receipt: { body, hostSig, ownerSig: null } },
      this.timers.auditTimeoutMs,
    )
    if (reply.t !== 'countersign') {
      this.log.info({ folder: h.folder }, 'no answer to a storage receipt: proposed again later')
      return
    }
    h.proposal = null
    this.saveSoon()
    if (!reply.sig) {
      const reason = reply.reason
      this.log.info({ folder: h.folder, reason }, 'the owner did not countersign a receipt')
      if (reason?.startsWith(OVERLAPS)) this.recoverSoon(h, s)
      return
    }
    const signed: SignedReceipt = { body, hostSig, ownerSig: reply.sig }
    try {
      await this.ledger.append(signed)
      h.lastReceiptTo = body.to
      h.auditsAnswered = 0
      this.saveSoon()
      this.emit('changed')
    } catch (err) {
      // Already here (taken from the owner's ledger meanwhile): the owner did nothing wrong.
      if (this.ledger.has(receiptId(body))) return
      this.strike(s, `countersigned a receipt that does not verify: ${(err as Error).message}`)
    }
  }

  /**
   * Runs recoverReceipts beside the tick, once at a time per agreement: checking the owner's
   * ledger can take up to its 2-minute cap (a ledger served slowly or by no one), and audits,
   * fetches and other folders' receipts must not wait for it.
   */
  private recoverSoon(h: Hosted, s: Session): void {
    const key = agreementKey(h)
    if (this.recovering.has(key) || !s.ledger) return
    this.recovering.add(key)
    void this.recoverReceipts(h, s)
      .catch((err: Error) => this.log.warn({ err: err.message }, 'receipt recovery failed'))
      .finally(() => this.recovering.delete(key))
  }

  /**
   * The owner says the period was signed already: it countersigned a receipt this node never
   * recorded (the answer was lost with the connection or came after the timeout, or this node was
   * killed before appending it). The owner's ledger is public and has it, signed by both: it is
   * taken from there into this ledger (which checks it), and the next period starts at its end.
   */
  private async recoverReceipts(h: Hosted, s: Session): Promise<void> {
    if (!s.ledger) return
    const report = await this.scores.report(h.owner, s.ledger).catch(() => null)
    for (const r of [...(report?.receipts ?? [])].reverse()) {
      if (this.closed) return
      const b = r.body
      if (b.kind !== 'storage' || b.host !== this.me || b.owner !== h.owner) continue
      if (b.folder !== h.folder || b.to <= h.lastReceiptTo) continue
      try {
        await this.ledger.append(r)
        this.log.info({ folder: h.folder, to: b.to }, 'took a countersigned receipt from the owner')
      } catch {
        // Already in this ledger, or not valid here: nothing to take.
      }
    }
  }

  // ---------------------------------------------------------------- owner side

  private liveHosts(folderId: string): HostRecord[] {
    return (this.state.hosts[folderId] ?? []).filter((r) => r.failures < 2)
  }

  private onStatus(s: Session, m: Extract<Message, { t: 'status' }>): void {
    const r = (this.state.hosts[m.folder] ?? []).find((x) => x.host === s.identity)
    if (!r) return
    r.bytes = m.bytes
    r.have = m.have
    r.blocks = m.blocks ?? m.have
    r.lastSeen = Date.now()
    if (m.evicted) {
      this.log.info(
        { folder: m.folder, host: r.host.slice(0, 12), why: m.evicted },
        'a host dropped a folder',
      )
      this.state.hosts[m.folder] = (this.state.hosts[m.folder] ?? []).filter((x) => x !== r)
    }
    this.saveSoon()
    this.emit('changed')
  }

  private async onReceipt(s: Session, m: Extract<Message, { t: 'receipt' }>): Promise<void> {
    const answer = (a: Answer): void =>
      this.send(s, { t: 'countersign', id: m.id, sig: a.sig, reason: a.reason })
    const refuse = (reason: string): void => {
      this.strike(s, `receipt refused: ${reason}`)
      answer({ sig: null, reason, strike: true })
    }
    const env = z
      .object({ body: z.unknown(), hostSig: z.string(), ownerSig: z.null() })
      .safeParse(m.receipt)
    if (!env.success) return refuse('malformed receipt')
    const parsed = ReceiptBodySchema.safeParse(env.data.body)
    if (!parsed.success) return refuse('malformed receipt body')
    const body = parsed.data
    if (body.host !== s.identity) return refuse('the receipt names another host')
    if (body.owner !== this.me) return refuse('the receipt names another owner')
    // With this node's signature added, the whole receipt must verify (the host's half included).
    const mine = signAs(body, this.deps.identity, 'owner')
    const check = verifyReceipt({ body, hostSig: env.data.hostSig, ownerSig: mine })
    if (!check.ok) return refuse(check.reason)
    if (body.kind === 'compute') {
      return refuse('only storage and served receipts are countersigned here')
    }
    // The same receipt again (same body, so the same nonce): the host's answer was lost (the
    // connection closed, or it came after the timeout) and it asks again. It gets the answer it
    // missed, not a strike; only a different receipt for a period already signed is one.
    const id = receiptId(body)
    const deciding = this.countersigning.get(id)
    if (deciding) {
      const a = await deciding
      return answer({ ...a, strike: false })
    }
    if (this.ledger.has(id)) return answer({ sig: mine, reason: null, strike: false })
    const run =
      body.kind === 'served'
        ? this.onServed(s, body, env.data.hostSig, mine)
        : this.onStorage(s, body, env.data.hostSig, mine)
    this.countersigning.set(id, run)
    let a: Answer
    try {
      a = await run
    } finally {
      this.countersigning.delete(id)
    }
    if (a.strike) {
      const what = body.kind === 'served' ? 'served receipt' : 'receipt'
      this.strike(s, `${what} refused: ${a.reason ?? 'no reason'}`)
    }
    answer(a)
  }

  /**
   * A storage receipt from one of this node's hosts: countersigned only if it follows the last
   * one, an audit passed since, and its bytes and audits are within what the owner saw.
   */
  private async onStorage(
    s: Session,
    body: Extract<ReceiptBody, { kind: 'storage' | 'served' }>,
    hostSig: string,
    mine: string,
  ): Promise<Answer> {
    const refuse = (reason: string): Answer => ({ sig: null, reason, strike: true })
    const r = (this.state.hosts[body.folder] ?? []).find((x) => x.host === s.identity)
    if (!r) return refuse('that host does not keep that folder for this node')
    // The ledger too: it is written before the state, which a crash between the two leaves behind.
    const signedTo = this.ledger.periodEnd('storage', body.host, this.me, body.folder)
    if (body.from < Math.max(r.lastReceiptTo, signedTo)) {
      return refuse(`${OVERLAPS} already signed`)
    }
    if (body.to > Date.now() + 60_000) return refuse('the period ends in the future')
    if (body.audits > r.auditsSinceReceipt)
      return refuse('the receipt claims more audits than passed')
    // Storage is credited only once an audit (over every block the host agreed to keep) passed.
    if (body.bytes > 0 && r.auditsSinceReceipt === 0)
      return refuse('no audit passed since the last receipt')
    // The period and its audits are taken before the awaits below, so another receipt for the
    // same period arriving meanwhile (a host may send several at once) is refused as overlapping
    // instead of countersigned too; given back if this one is refused.
    const prevTo = r.lastReceiptTo
    const prevAudits = r.auditsSinceReceipt
    r.lastReceiptTo = body.to
    r.auditsSinceReceipt = 0
    const giveBack = (reason: string): Answer => {
      if (r.lastReceiptTo === body.to) r.lastReceiptTo = prevTo
      r.auditsSinceReceipt += prevAudits
      return refuse(reason)
    }
    // What the host may claim: no more than was agreed, than the folder's cores hold, nor than
    // the blocks it says it holds (its `have`, which audits check).
    const folder = this.deps.folders().find((f) => f.id === body.folder)
    const sizes = await this.coreSizes(this.agreedCores(r, folder))
    const claimed = claimedBytes(r.blocks, sizes)
    const cap = Math.min(r.agreedBytes, folder ? folder.sizeBytes() : r.agreedBytes, claimed)
    if (body.bytes > cap * 1.05 + 1_000_000) {
      return giveBack(
        'the receipt claims more bytes than the folder holds, was agreed or the host says it holds',
      )
    }
    try {
      await this.ledger.append({ body, hostSig, ownerSig: mine })
    } catch (err) {
      return giveBack(`it does not go in the ledger: ${(err as Error).message}`)
    }
    this.saveSoon()
    this.emit('changed')
    return { sig: mine, reason: null, strike: false }
  }

  /**
   * A served receipt from a host this node downloaded from: countersigned only if it follows the
   * last one with that host for that folder and claims no more than this node received from that
   * host on this connection (less blocks of cores it hosts itself, less what it already
   * countersigned there) plus SERVED_SLACK_BYTES: see the top of the file. All folders share the
   * measure, so a host cannot bill a byte twice (which of the member's folders it names is its
   * word). Not a member of the folder: declined without a strike (the host may have served a
   * host, or a member that has left).
   */
  private async onServed(
    s: Session,
    body: Extract<ReceiptBody, { kind: 'storage' | 'served' }>,
    hostSig: string,
    sig: string,
  ): Promise<Answer> {
    const refuse = (reason: string): Answer => ({ sig: null, reason, strike: true })
    const member = this.deps.memberTopics().some((t) => folderIdOfTopic(t) === body.folder)
    if (!member) {
      const why = this.state.hosted.some((h) => h.folder === body.folder)
        ? `${NOT_A_MEMBER}: this node hosts it`
        : NOT_A_MEMBER
      return { sig: null, reason: why, strike: false }
    }
    if (body.audits !== 0) return refuse('a served receipt claims audits')
    const key = `${body.host}:${body.folder}`
    const signedTo = this.ledger.periodEnd('served', body.host, this.me, body.folder)
    if (body.from < Math.max(this.state.servedTo[key] ?? 0, signedTo)) {
      return refuse('the period overlaps one already signed')
    }
    if (body.to > Date.now() + 60_000) return refuse('the period ends in the future')
    const measured = s.received - s.hostedIn
    const open = measured - s.claimed
    if (body.bytes > open + SERVED_SLACK_BYTES) {
      return refuse(
        `the receipt claims ${body.bytes} bytes served; this node received ${Math.max(0, open)} ` +
          'bytes from that host not yet in a receipt',
      )
    }
    // Counted before the append, so a second receipt arriving meanwhile sees it.
    s.claimed += body.bytes
    const prevTo = this.state.servedTo[key]
    this.state.servedTo[key] = body.to
    try {
      await this.ledger.append({ body, hostSig, ownerSig: sig })
    } catch (err) {
      s.claimed -= body.bytes
      if (prevTo === undefined) delete this.state.servedTo[key]
      else this.state.servedTo[key] = prevTo
      return refuse(`it does not go in the ledger: ${(err as Error).message}`)
    }
    this.saveSoon()
    this.log.info(
      { folder: body.folder, host: body.host.slice(0, 12), bytes: body.bytes, measured },
      'countersigned a served receipt',
    )
    this.emit('changed')
    return { sig, reason: null, strike: false }
  }

  // ---------------------------------------------------------------- bytes served

  /** The hosting connection a Hypercore peer belongs to (null: the main swarm, or gone). */
  private sessionByPeer(peer: HypercorePeer | undefined): Session | null {
    const mux = (peer as PeerWithMux | undefined)?.protomux
    if (!mux || typeof mux !== 'object') return null
    return this.byMux.get(mux) ?? null
  }

  /** Host side: a hosted core uploaded a block to a peer. */
  private countUpload(folder: string, bytes: number, peer: HypercorePeer): void {
    const s = this.sessionByPeer(peer)
    if (!s || s.notBilled.has(folder)) return
    const acc = s.servedOut.get(folder)
    if (acc) acc.bytes += bytes
    else s.servedOut.set(folder, { bytes, from: Date.now() })
  }

  /** Host side: the served receipts due on a connection, per folder (bytes since the last one). */
  private servedClaims(
    s: Session,
    now: number,
  ): Array<{ folder: string; bytes: number; from: number }> {
    const out: Array<{ folder: string; bytes: number; from: number }> = []
    for (const [folder, acc] of s.servedOut) {
      if (acc.bytes <= 0 || now <= acc.from || now - acc.from < this.timers.receiptMs) continue
      out.push({ folder, bytes: acc.bytes, from: acc.from })
    }
    return out
  }

  /** Host side: proposes a served receipt for what each connected peer downloaded. */
  private async proposeServed(): Promise<void> {
    for (const s of [...this.sessions]) {
      if (!s.identity || !s.msg || s.identity === this.me) continue
      const now = Date.now()
      for (const claim of this.servedClaims(s, now)) {
        let body: ReceiptBody
        try {
          body = newReceiptBody({
            kind: 'served',
            host: this.me,
            owner: s.identity,
            folder: claim.folder,
            bytes: claim.bytes,
            from: claim.from,
            to: now,
            audits: 0,
          })
        } catch {
          continue
        }
        const hostSig = signAs(body, this.deps.identity, 'host')
        const reply = await this.request(
          s,
          { t: 'receipt', id: s.nextId++, receipt: { body, hostSig, ownerSig: null } },
          this.timers.auditTimeoutMs,
        )
        // Whatever the answer, the period is over: its bytes are not claimed again.
        const acc = s.servedOut.get(claim.folder)
        if (acc) {
          acc.bytes = Math.max(0, acc.bytes - claim.bytes)
          acc.from = now
        }
        if (reply.t !== 'countersign') {
          // The member may have countersigned it (and appended it) and the answer was lost.
          this.state.servedLost.push({ body, hostSig, tries: 0 })
          this.state.servedLost.splice(0, this.state.servedLost.length - MAX_SERVED_LOST)
          this.saveSoon()
          this.log.info(
            { folder: claim.folder, peer: s.identity.slice(0, 12) },
            "no answer to a served receipt: looked for in the member's ledger",
          )
          continue
        }
        if (!reply.sig) {
          const reason = reply.reason
          if (reason?.startsWith(NOT_A_MEMBER)) {
            s.notBilled.add(claim.folder)
            s.servedOut.delete(claim.folder)
          }
          this.log.info(
            { folder: claim.folder, peer: s.identity.slice(0, 12), reason },
            'a peer did not countersign a served receipt',
          )
          continue
        }
        try {
          await this.ledger.append({ body, hostSig, ownerSig: reply.sig })
          this.log.info(
            { folder: claim.folder, peer: s.identity.slice(0, 12), bytes: claim.bytes },
            'a served receipt was countersigned',
          )
          this.emit('changed')
        } catch (err) {
          if (this.ledger.has(receiptId(body))) continue // already here: nothing wrong
          this.strike(s, `countersigned a receipt that does not verify: ${(err as Error).message}`)
        }
      }
    }
  }

  /**
   * Served receipts whose answer was lost: the member appends a receipt before it answers, and
   * its ledger is public, so one it countersigned is taken from there (as storage receipts are:
   * recoverReceipts). Looked for while the member is connected, SERVED_LOOKUPS times; one it
   * never countersigned (the proposal was lost, or refused) is then let go, unbilled, as a
   * period cut short by a disconnection is. Not proposed again: the member measures a served
   * claim on the connection it came on, and on a new one an honest claim would not fit.
   */
  private async recoverServed(): Promise<void> {
    const keep: State['servedLost'] = []
    const looked = [...this.state.servedLost]
    for (const lost of looked) {
      const parsed = ReceiptBodySchema.safeParse(lost.body)
      if (!parsed.success || parsed.data.kind !== 'served' || parsed.data.host !== this.me) continue
      const body = parsed.data
      const s = this.sessionOf(body.owner)
      if (!s?.ledger) {
        keep.push(lost)
        continue
      }
      const id = receiptId(body)
      const report = await this.scores.report(body.owner, s.ledger).catch(() => null)
      const found = report?.receipts.find((r) => receiptId(r.body) === id)
      if (found) {
        try {
          await this.ledger.append(found)
          this.log.info(
            { folder: body.folder, peer: body.owner.slice(0, 12), bytes: body.bytes },
            "took a served receipt from the member's ledger",
          )
          this.emit('changed')
        } catch {
          // Already in this ledger, or not valid here: nothing to take.
        }
        continue
      }
      lost.tries++
      if (lost.tries < SERVED_LOOKUPS) keep.push(lost)
    }
    // With the ones lost meanwhile (this runs beside the tick: a ledger may take long to check).
    const added = this.state.servedLost.filter((x) => !looked.includes(x))
    this.state.servedLost = [...keep, ...added]
    this.saveSoon()
  }

  private async hostScore(s: Session): Promise<number> {
    const balance = await this.requesterBalance(s)
    if (balance === -Infinity) return -Infinity
    const report = s.identity ? this.scores.cached(s.identity) : null
    return report ? report.given : 0
  }

  private async onTick(): Promise<void> {
    if (this.ticking || this.closed) return
    this.ticking = true
    try {
      await this.proposeReceipts()
      if (this.state.servedLost.length && !this.recoveringServed) {
        this.recoveringServed = true
        void this.recoverServed()
          .catch((err: Error) => this.log.warn({ err: err.message }, 'served recovery failed'))
          .finally(() => {
            this.recoveringServed = false
          })
      }
      await this.proposeServed()
      this.refreshBalances()
      for (const f of this.deps.folders()) await this.tendFolder(f)
      // Hosted cores with gaps, or behind: pump looks at the gaps only when they are due.
      for (const e of this.cores.values()) {
        if (e.gaps.length || e.next < this.lengthOf(e)) this.pump(e)
      }
      await this.updateTopics()
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'hosting tick failed')
    } finally {
      this.ticking = false
    }
  }

  /** Keeps R hosts for a folder: replaces failed and gone ones, asks for more room, audits. */
  private async tendFolder(f: HostableFolder): Promise<void> {
    const now = Date.now()
    let records = this.state.hosts[f.id] ?? []
    const banned = new Set(this.state.banned[f.id] ?? [])
    for (const r of records) {
      if (r.failures >= 2 || now - r.lastSeen > this.timers.goneMs) {
        this.log.info(
          { folder: f.id, host: r.host.slice(0, 12), failures: r.failures },
          'replacing a host',
        )
        banned.add(r.host)
        const s = this.sessionOf(r.host)
        if (s) this.send(s, { t: 'release', folder: f.id })
      }
    }
    records = records.filter((r) => !banned.has(r.host))
    this.state.hosts[f.id] = records
    this.state.banned[f.id] = [...banned]

    const cores = f.coreKeys()
    // A host looks at no more blocks of a core than the agreement pays for at MIN_BLOCK_BYTES a
    // block: a folder of many tiny blocks asks for that much.
    const size = Math.max(f.sizeBytes(), f.blockCount() * MIN_BLOCK_BYTES)
    // Room to grow a little before asking again.
    const wantBytes = Math.ceil(size * 1.25) + 1024 * 1024
    // Ask current hosts for more room before the folder outgrows what they agreed to.
    for (const r of records) {
      const s = this.sessionOf(r.host)
      if (!s) continue
      r.lastSeen = now
      if (f.sized() && (size > r.agreedBytes * 0.8 || cores.length !== r.coreCount)) {
        const reply = await this.request(
          s,
          {
            t: 'request',
            id: s.nextId++,
            folder: f.id,
            topic: f.topic.toString('hex'),
            cores,
            bytes: wantBytes,
          },
          this.timers.auditTimeoutMs,
        )
        if (reply.t === 'reply' && reply.ok) {
          r.agreedBytes = wantBytes
          r.coreCount = cores.length
          r.cores = cores
        }
      }
    }
    // New hosts while fewer than wanted.
    if (f.sized() && records.length < f.hostsWanted) {
      const candidates: Array<{ s: Session; score: number }> = []
      for (const s of this.sessions) {
        if (!s.identity || !s.msg || banned.has(s.identity)) continue
        if (records.some((r) => r.host === s.identity)) continue
        if (s.free < wantBytes) continue
        const score = await this.hostScore(s)
        if (score === -Infinity) continue
        candidates.push({ s, score })
      }
      candidates.sort((a, b) => b.score - a.score || b.s.free - a.s.free)
      for (const { s } of candidates) {
        if (records.length >= f.hostsWanted) break
        const reply = await this.request(
          s,
          {
            t: 'request',
            id: s.nextId++,
            folder: f.id,
            topic: f.topic.toString('hex'),
            cores,
            bytes: wantBytes,
          },
          this.timers.auditTimeoutMs,
        )
        if (reply.t !== 'reply' || !reply.ok) {
          this.log.info(
            {
              folder: f.id,
              host: s.identity?.slice(0, 12),
              reason: reply.t === 'reply' ? reply.reason : 'no answer',
            },
            'a host declined',
          )
          continue
        }
        const r: HostRecord = {
          host: s.identity as string,
          bytes: 0,
          agreedBytes: wantBytes,
          since: now,
          lastSeen: now,
          lastAudit: null,
          failures: 0,
          auditsPassed: 0,
          auditsSinceReceipt: 0,
          lastReceiptTo: now,
          coreCount: cores.length,
          have: {},
          blocks: {},
          cores,
          // Audits sample what this node had when the host agreed, from one audit period on.
          expect: (await this.coreSizes(cores)).lengths,
          expectAt: Date.now(),
          claimedAtAudit: 0,
        }
        records.push(r)
        this.log.info({ folder: f.id, host: r.host.slice(0, 12) }, 'a host keeps the folder')
        this.emit('changed')
      }
    }
    this.state.hosts[f.id] = records
    // Audits.
    for (const r of records) {
      if (now - Math.max(r.expectAt, r.lastAudit?.at ?? 0) < this.timers.auditMs) continue
      const s = this.sessionOf(r.host)
      if (!s) continue
      await this.audit(f, r, s)
    }
    this.saveSoon()
  }

  /** The cores a host agreed to keep (records saved before they were listed: the folder's). */
  private agreedCores(r: HostRecord, f: HostableFolder | undefined): string[] {
    return r.cores.length ? r.cores : (f?.coreKeys() ?? Object.keys(r.expect))
  }

  /** This node's length and byte length of each core (opened by key, without reading blocks). */
  private async coreSizes(keys: readonly string[]): Promise<CoreSizes> {
    const out: CoreSizes = { lengths: {}, bytes: {} }
    for (const key of keys) {
      const core = this.deps.store.get({ key: Buffer.from(key, 'hex') })
      try {
        await core.ready()
        out.lengths[key] = core.length
        out.bytes[key] = core.byteLength
      } catch {
        // A core this node cannot open is not audited and credits nothing.
      } finally {
        await core.close().catch(() => {})
      }
    }
    return out
  }

  /**
   * Audits a host on a random block among every block of every core it agreed to keep, as this
   * node had them one audit period ago (not among what the host says it holds: a host that keeps
   * one block and says so would pass every audit). A block the host does not have fails the
   * audit, unless it is past what the host says it holds and the host is still fetching: within
   * its first two audit periods, while what it holds grows by minFetchRate (or by all that was
   * left), or once it holds what was agreed (the owner must ask for more room). Two failures in
   * a row and it is replaced.
   */
  private async audit(f: HostableFolder, r: HostRecord, s: Session): Promise<void> {
    const range = r.expect
    const sizes = await this.coreSizes(this.agreedCores(r, f))
    const claimed = claimedBytes(r.blocks, sizes)
    // Still fetching: what it says it holds grew since the last audit by at least minFetchRate
    // for the time between them, or by all that was left (the folder's bytes, up to the
    // agreement). Grown at all let a host keeping nothing add a block per audit, unfailed for as
    // many audits as the folder has blocks.
    let total = 0
    for (const b of Object.values(sizes.bytes)) total += b
    const left = Math.max(0, Math.min(total, r.agreedBytes) - r.claimedAtAudit)
    const wanted = r.expectAt
      ? Math.min(left, (this.timers.minFetchRate * (Date.now() - r.expectAt)) / 1000)
      : 0 // a record saved before the rule: no time to go by
    const grew = claimed > r.claimedAtAudit && claimed - r.claimedAtAudit >= wanted
    r.expect = sizes.lengths
    r.expectAt = Date.now()
    r.claimedAtAudit = claimed
    const sample = await f.auditSample(range)
    if (!sample) return
    const nonce = randomBytes(16).toString('hex')
    const clock = { started: Infinity }
    const reply = await this.request(
      s,
      { t: 'audit', id: s.nextId++, core: sample.core, index: sample.index, nonce },
      this.timers.auditTimeoutMs,
      clock,
    )
    const started = clock.started
    const expected = crypto.hash([Buffer.from(nonce, 'hex'), sample.block]).toString('hex')
    let reason: string | null = null
    if (reply.t !== 'proof' || reply.hash === null) {
      reason =
        Date.now() - started >= this.timers.auditTimeoutMs
          ? 'no answer in time'
          : 'the host does not have the block'
    } else if (reply.hash !== expected) {
      reason = 'wrong proof'
    }
    // Whether it holds what was agreed goes by its `have` (contiguous: a block below it that is
    // missing fails), not by its count of blocks in all, which names no block: a host that kept
    // nothing and said it held every block was forgiven every miss once the folder outgrew it.
    const atAgreed = claimedBytes(r.have, sizes) >= r.agreedBytes * 0.9
    const fetching =
      reason === 'the host does not have the block' &&
      sample.index >= (r.have[sample.core] ?? 0) &&
      (Date.now() - r.since < 2 * this.timers.auditMs || grew || atAgreed)
    if (fetching) reason = 'the host is still fetching that block'
    r.lastAudit = { at: Date.now(), ok: reason === null, reason }
    this.send(s, { t: 'audit-result', folder: f.id, ok: reason === null })
    if (fetching) {
      this.log.info({ folder: f.id, host: r.host.slice(0, 12) }, 'a host is still fetching')
    } else if (reason === null) {
      r.failures = 0
      r.auditsPassed++
      r.auditsSinceReceipt++
    } else {
      r.failures++
      this.log.warn({ folder: f.id, host: r.host.slice(0, 12), reason }, 'a host failed an audit')
    }
    this.emit('changed')
  }
}
