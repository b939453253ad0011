// Donated CPU: running other people's WebAssembly jobs within the user's limits, and sending ours
// to donors, with results checked by a quorum. One Compute object per node, on its own
// Hyperswarm (the compute swarm; it also replicates the Corestore, so peers' ledgers can be
// fetched over it).
//
// Donor side: with a CPU limit set, the node announces itself on the compute topic and tells each
// submitter how many jobs it takes now (0 while donating is paused, outside the schedule, on
// battery, while the computer is in use or busy). A job is checked (sandbox/abi.ts) as it
// arrives: a module that imports anything but the fixed interface is answered with a failure and
// never run. Queued jobs start, highest submitter balance first (give to get), one per core the
// user donates, each in its own process at the lowest priority; the CPU governor
// (limits/cpu.ts) suspends and resumes them to keep each within its CPU-time share.
//
// Submitter side: a job goes to `replicas` donors at once. When `quorum` (a majority) of them
// return the same output hash, that output is the result; donors whose result differs are told
// they were outvoted and get nothing. Without a quorum, one more donor at a time is asked, up to
// MAX_EXTRA_DONORS beyond the replicas. Failures are results too: a module that traps on every
// donor fails with 'trap' once a quorum says so. Each donor in the quorum that returned output
// gets a compute receipt (the submitter signs, the donor countersigns if it matches what it ran),
// appended to both ledgers. Refused receipts and bad messages count against the peer.
import { EventEmitter } from 'node:events'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import crypto from 'hypercore-crypto'
import Protomux from 'protomux'
import type Corestore from 'corestore'
import type HyperDHT from 'hyperdht'
import type { SwarmConnection } from 'hyperswarm'
import { z } from 'zod'
import {
  JOB_OUTPUT_MAX_BYTES,
  JobErrorKindSchema,
  type JobDetail,
  type JobErrorKind,
  type JobSummary,
  type RunSummary,
} from '../../../shared/contract.ts'
import type { Logger } from '../logger.ts'
import { Swarm } from '../net/swarm.ts'
import {
  FIRST_PROTOCOL_VERSION,
  MAX_RULE_BREAKS,
  openMessageChannel,
  signHello,
  verifyHello,
} from '../net/peer-channel.ts'
import type { Ledger } from '../ledger/ledger.ts'
import { LedgerScores } from '../ledger/scores.ts'
import {
  newReceiptBody,
  receiptId,
  signAs,
  verifyReceipt,
  ReceiptBodySchema,
  type ReceiptBody,
} from '../ledger/receipt.ts'
import type { CpuGovernor, TrackedJob } from '../limits/cpu.ts'
import type { DonateLimits } from '../limits/governor.ts'
import { writeFileAtomic } from '../util/atomic.ts'
import { checkModule } from './abi.ts'
import { startJob, type JobProcess, type RunResult } from './sandbox.ts'
import {
  COMPUTE_HELLO_TAG,
  COMPUTE_PROTOCOL,
  COMPUTE_PROTOCOL_VERSION,
  HELD_SINCE_VERSION,
  decodeMessage,
  encodeMessage,
  type Message,
} from './messages.ts'

export const COMPUTE_TOPIC = crypto.hash(Buffer.from('spare-compute-topic-v1'))
/** Donors asked beyond the replicas before a job fails for want of a quorum. */
export const MAX_EXTRA_DONORS = 3
/**
 * Donors that may give a job back (refuse it, or give it up unrun) before it fails: twice its
 * donor budget. Give-backs use no budget (they say nothing about the job), but without a bound
 * donors that always give back, or fresh identities made to, would have the job sent (up to
 * 4 MiB each time) without end.
 */
export function maxGivenBack(replicas: number): number {
  return 2 * (replicas + MAX_EXTRA_DONORS)
}
/**
 * A donor's word that it holds a job: a hold further away than this is taken as this long (a
 * donor gives back jobs held over its bound, an hour by default), and all its holds together
 * extend the wait for it by at most HELD_EXTRA_MAX_MS, so a donor that keeps saying it holds a
 * job can't keep it from going elsewhere for ever.
 */
const HELD_REPORT_MAX_MS = 3600_000
const HELD_EXTRA_MAX_MS = 2 * 3600_000
/** Jobs a donor keeps queued at most, in all and per submitter. */
const MAX_QUEUED = 16
const MAX_QUEUED_PER_SUBMITTER = 4
/** Clock slack when a donor's period is held against the time a job was out with it (ms). */
const PERIOD_SLACK_MS = 2000
/** Jobs of each list kept in compute.json (the newest). */
const KEEP_HISTORY = 200
/**
 * Results of ended donor jobs kept for a submitter that is away: for an hour, and at most this
 * many, of at most this many output bytes in all (the oldest go first). A submitter decides when
 * a result stops being kept (it credits or outvotes it), so without a bound one that never does
 * would make this node hold every output it asked for: 4 MiB each, jobs a few a second.
 */
const KEEP_RESULT_MS = 3600_000
const MAX_KEPT_RESULTS = 256
const MAX_KEPT_RESULT_BYTES = 64 * 1024 * 1024

export interface ComputeTimers {
  /** A job no donor took for this long fails with 'no-donors' (ms). */
  noDonorsMs: number
  /** A donor that hasn't answered this long after its wall-time cap is given up on (ms). */
  graceMs: number
  /** How long a donor has to countersign a receipt (ms). */
  receiptTimeoutMs: number
  /**
   * A donor job queued, or held suspended, this long without a break is given up (ms): its
   * process killed, its module and input let go, and the submitter told 'cancelled' (not done:
   * ask another donor). The governor's CPU-share stops last a second or so; this catches a
   * donor paused or turned off indefinitely, whose submitter may be gone and never cancel.
   */
  stalledMs: number
}

export const DEFAULT_COMPUTE_TIMERS: ComputeTimers = {
  noDonorsMs: 10 * 60 * 1000,
  graceMs: 10 * 60 * 1000,
  receiptTimeoutMs: 20_000,
  stalledMs: 3600_000,
}

/** Timers from SPARE_COMPUTE_TIMERS ("nodonors=5000,grace=3000,receipt=2000,stalled=60000", ms). */
export function parseComputeTimers(text: string | undefined): Partial<ComputeTimers> {
  const names: Record<string, keyof ComputeTimers> = {
    nodonors: 'noDonorsMs',
    grace: 'graceMs',
    receipt: 'receiptTimeoutMs',
    stalled: 'stalledMs',
  }
  const out: Partial<ComputeTimers> = {}
  for (const part of (text ?? '').split(',')) {
    const [k, v] = part.split('=').map((x) => x.trim())
    const name = k ? names[k] : undefined
    const n = Number(v)
    if (name && Number.isFinite(n) && n > 0) out[name] = n
  }
  return out
}

/** Hex BLAKE2b-256 of bytes. */
export function hashHex(b: Buffer): string {
  return crypto.hash(b).toString('hex')
}

/** A job's id: BLAKE2b(BLAKE2b(module) | BLAKE2b(input) | nonce), so it names one module+input. */
export function jobId(module: Buffer, input: Buffer, nonce: string): string {
  return hashHex(
    Buffer.concat([crypto.hash(module), crypto.hash(input), Buffer.from(nonce, 'hex')]),
  )
}

// ---------------------------------------------------------------- persisted state

const hex32 = z.string().regex(/^[0-9a-f]{64}$/)
const ErrorSchema = z.object({ kind: JobErrorKindSchema, message: z.string() }).nullable()

const AssignmentSchema = z.object({
  identity: hex32,
  state: z.enum(['sent', 'running', 'answered', 'agreed', 'outvoted', 'failed', 'gone']),
  resultHash: hex32.nullable(),
  cpuMs: z.number().nullable(),
  error: z.string().nullable(),
  /** The compute receipt for an agreed donor: none yet, recorded, or refused by the donor. */
  receipt: z.enum(['none', 'recorded', 'refused']),
  /** The answer's key for the tally: the output hash, or 'error:KIND'; null before an answer. */
  answer: z.string().nullable(),
  sentAt: z.number(),
  from: z.number().nullable(),
  to: z.number().nullable(),
  /**
   * The donor gave the job back without an answer about it: it refused it, or gave it up
   * ('cancelled': its donating was turned off, held too long, or it stopped). Not an attempt: it
   * uses none of the job's donor budget, only the bound on give-backs (maxGivenBack).
   */
  gaveBack: z.boolean().default(false),
  /**
   * The compute receipt proposed to this donor whose answer has not come (lost with the
   * connection, late, or this node restarted): proposed again as it is, so the donor, which may
   * have countersigned it, answers it again instead of refusing a second receipt for the job.
   */
  proposal: z.object({ body: z.unknown(), ownerSig: z.string() }).nullable().default(null),
  /**
   * Until when (this node's clock) the donor said it holds the job (a snooze, its schedule): it
   * is waited for that long on top of the time limit, not counted as late (see heldDeadline).
   */
  heldUntil: z.number().nullable().default(null),
})
type Assignment = z.infer<typeof AssignmentSchema>

const JobRecordSchema = z.object({
  id: hex32,
  nonce: z.string().regex(/^[0-9a-f]{32}$/),
  name: z.string(),
  state: z.enum(['waiting', 'running', 'done', 'failed']),
  replicas: z.number().int().min(1),
  quorum: z.number().int().min(1),
  wallMs: z.number().int().positive(),
  moduleBytes: z.number(),
  inputBytes: z.number(),
  submittedAt: z.number(),
  finishedAt: z.number().nullable(),
  donors: z.array(AssignmentSchema),
  resultHash: hex32.nullable(),
  outputBytes: z.number().nullable(),
  error: ErrorSchema,
})
type JobRecord = z.infer<typeof JobRecordSchema>

const RunRecordSchema = z.object({
  id: hex32,
  submitter: hex32,
  state: z.enum(['queued', 'running', 'suspended', 'done', 'failed']),
  queuedAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  cpuMs: z.number(),
  error: ErrorSchema,
  credited: z.boolean().nullable(),
  resultHash: hex32.nullable(),
})
type RunRecord = z.infer<typeof RunRecordSchema>

const StateSchema = z.object({
  format: z.literal(1),
  submitted: z.array(JobRecordSchema),
  runs: z.array(RunRecordSchema),
  strikes: z.record(z.string(), z.number()),
})
type State = z.infer<typeof StateSchema>

/** What a queued or running job holds in memory on the donor (not persisted). */
interface LiveRun {
  record: RunRecord
  module: Buffer
  input: Buffer
  wallMs: number
  balance: number
  seq: number
  proc: JobProcess | null
  /** What the CPU governor controls: the process, and whether it stopped it. */
  tracked: TrackedJob | null
  suspended: boolean
  /** When the governor last stopped the process, while it still is (Date.now() ms). */
  suspendedSince: number | null
  /** The result message, kept until the submitter has it (it may be away when the job ends). */
  result: Extract<Message, { t: 'result' }> | null
  /** Given back ('cancelled'): its process is being killed, and finishRun tells the submitter. */
  givenBack: boolean
  /** The end of the hold the submitter was last told of ('held'), so it is told once. */
  heldTold: number | null
}

interface Session {
  conn: SwarmConnection
  msg: { send(buf: Buffer): void } | null
  /** Closes the compute channel (after MAX_RULE_BREAKS). */
  close?: () => void
  /** Rule breaks on this connection; lines about them left out since the last one logged. */
  breaks?: number
  quiet?: number
  /** When the last line about a rule break here was logged (Date.now() ms). */
  warnedAt?: number
  identity: string | null
  ledger: string | null
  slots: number
  waiting: Map<string, (m: Extract<Message, { t: 'countersign' }> | null) => void>
  /** The compute protocol version the peer speaks (known when the channel opens). */
  version: number
}

export interface ComputeDeps {
  store: Corestore
  dht: HyperDHT
  identity: { publicKey: Buffer; secretKey: Buffer }
  log: Logger
  dataDir: string
  /** This node's ledger (opened by the hosting layer; one ledger per node). */
  ledger: Ledger
  governor: CpuGovernor
  limits: DonateLimits
  timers?: Partial<ComputeTimers>
  /** Bounds on kept results (MAX_KEPT_RESULTS, MAX_KEPT_RESULT_BYTES by default; tests lower). */
  keep?: { results?: number; bytes?: number }
}

export class Compute extends EventEmitter {
  private swarm!: Swarm
  private readonly timers: ComputeTimers
  private readonly sessions = new Set<Session>()
  private state: State = { format: 1, submitted: [], runs: [], strikes: {} }
  /** Donor jobs queued or running. */
  private readonly live = new Map<string, LiveRun>()
  /** Donor jobs that ended, until the submitter credits or outvotes them (or an hour passes). */
  private readonly ended = new Map<string, LiveRun>()
  private readonly scores: LedgerScores
  private limits: DonateLimits
  private readonly me: string
  private readonly dir: string
  private readonly file: string
  private topic: { server: boolean; client: boolean } | null = null
  private tick: NodeJS.Timeout | null = null
  private saveTimer: NodeJS.Timeout | null = null
  private closed = false
  private seq = 0
  private lastOffer = -1
  private tending = false
  private tendAgain = false
  private readonly onGovernorChange = (): void => this.pump()
  /** Receipts proposed and not yet settled, as `${job}:${donor}`. */
  private readonly proposing = new Set<string>()
  /** Donor side: receipts being decided now, by receipt id; the same one again waits for it. */
  private readonly countersigning = new Map<string, Promise<Countersign>>()
  /** Bounds on the results kept for absent submitters. */
  private readonly keep: { results: number; bytes: number }
  /** Open jobs with no donor at work on them, and since when (Date.now() ms; not persisted). */
  private readonly idleSince = new Map<string, number>()

  constructor(private readonly deps: ComputeDeps) {
    super()
    this.timers = { ...DEFAULT_COMPUTE_TIMERS, ...deps.timers }
    this.limits = deps.limits
    this.keep = {
      results: deps.keep?.results ?? MAX_KEPT_RESULTS,
      bytes: deps.keep?.bytes ?? MAX_KEPT_RESULT_BYTES,
    }
    this.me = deps.identity.publicKey.toString('hex')
    this.dir = path.join(deps.dataDir, 'compute')
    this.file = path.join(this.dir, 'compute.json')
    this.scores = new LedgerScores(deps.store)
  }

  private get log(): Logger {
    return this.deps.log
  }

  async open(): Promise<void> {
    await fs.mkdir(path.join(this.dir, 'jobs'), { recursive: true })
    await this.load()
    this.swarm = new Swarm(this.deps.dht, crypto.keyPair(), this.deps.store, this.log)
    this.swarm.on('connection', (conn: SwarmConnection) => this.onConnection(conn))
    await this.swarm.swarm.listen()
    this.deps.governor.on('change', this.onGovernorChange)
    this.tick = setInterval(() => {
      this.pump()
      this.trimEnded()
      void this.tend()
    }, 1000)
    this.tick.unref()
    await this.updateTopic()
    void this.tend()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.tick) clearInterval(this.tick)
    this.deps.governor.off('change', this.onGovernorChange)
    for (const run of this.live.values()) {
      if (run.tracked) this.deps.governor.untrack(run.tracked)
      run.proc?.kill('the donor stopped', 'cancelled')
      const r = run.record
      if (r.state === 'queued' || r.state === 'running' || r.state === 'suspended') {
        const message = 'the donor stopped before the job ended'
        r.state = 'failed'
        r.error = { kind: 'cancelled', message }
        r.finishedAt = Date.now()
        // Given back, as when donating is held too long: not done here, ask another donor. (Best
        // effort: the connection closes next; without it the submitter finds the donor gone.)
        const s = this.sessionOf(r.submitter)
        if (s) {
          const from = r.startedAt ?? r.queuedAt
          const to = Math.max(r.finishedAt, from + 1)
          const error = { kind: 'cancelled' as const, message }
          this.send(s, {
            t: 'result',
            id: r.id,
            hash: null,
            output: null,
            error,
            cpuMs: 0,
            from,
            to,
          })
        }
      }
    }
    this.live.clear()
    for (const s of this.sessions) for (const w of s.waiting.values()) w(null)
    await this.swarm?.close().catch(() => {})
    await this.save()
  }

  async switchTo(dht: HyperDHT): Promise<void> {
    await this.swarm.switchTo(dht, crypto.keyPair())
  }

  async setPaused(paused: boolean): Promise<void> {
    await this.swarm.setPaused(paused)
  }

  /** Announces and looks up the compute topic again now (the DHT changed shape under it). */
  refresh(): void {
    this.swarm?.refreshAll()
  }

  /** New limits (the CPU governor gets them from the node); joins or leaves the donor topic. */
  setLimits(limits: DonateLimits): void {
    this.limits = limits
    void this.updateTopic()
    this.pump()
  }

  strikes(): Record<string, number> {
    return { ...this.state.strikes }
  }

  // ---------------------------------------------------------------- persistence

  /**
   * What the last start could not read and did about it (a damaged compute.json set aside): shown
   * in `spare status`, not only in the log, since the jobs and receipts in it are gone from view.
   */
  readonly notices: string[] = []

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
    let raw: unknown = null
    try {
      raw = JSON.parse(text)
    } catch {
      // handled below: set aside like any other unreadable state
    }
    const format = (raw as { format?: unknown } | null)?.format
    if (typeof format === 'number' && format > 1) {
      // A newer Spare's jobs and receipts: starting empty would write over them with a format-1
      // file, and the newer Spare would find none when it came back.
      throw new Error(
        `${this.file} was written by a newer Spare (format ${format}; this one reads format 1). Upgrade Spare.`,
      )
    }
    const parsed = StateSchema.safeParse(raw)
    if (!parsed.success) {
      const aside = `${this.file}.corrupt-${Date.now()}`
      await fs.rename(this.file, aside)
      this.log.error(
        { file: this.file, aside },
        'compute state unreadable: set aside, starting empty',
      )
      this.notices.push(
        `${this.file} could not be read: set aside as ${aside}; the compute jobs and receipts in it are not shown or proposed`,
      )
      return
    }
    this.state = parsed.data
    // Runs that were queued or running when the node stopped are gone with their process.
    for (const r of this.state.runs) {
      if (r.state === 'queued' || r.state === 'running' || r.state === 'suspended') {
        r.state = 'failed'
        r.error = { kind: 'cancelled', message: 'the donor stopped before the job ended' }
        r.finishedAt ??= Date.now()
      }
    }
    // Donors of unfinished jobs were connections of the last run: ask again.
    for (const j of this.state.submitted) {
      if (j.state !== 'waiting' && j.state !== 'running') continue
      for (const d of j.donors) {
        if (d.state === 'sent' || d.state === 'running') {
          d.state = 'gone'
          d.error = 'the submitter restarted before it answered'
        }
      }
    }
  }

  private saveSoon(): void {
    if (this.saveTimer || this.closed) return
    this.saveTimer = setTimeout(() => {
      this.saveTimer = null
      this.save().catch((err: Error) => this.log.warn({ err: err.message }, 'compute save failed'))
    }, 200)
  }

  private async save(): Promise<void> {
    if (this.saveTimer) {
      clearTimeout(this.saveTimer)
      this.saveTimer = null
    }
    // Records still in use stay whatever their age: a run queued, running or with its result
    // kept (its receipt is checked against it), a job not yet settled. Otherwise a submitter's
    // burst of jobs (a refused module costs it a hundred bytes) would push other submitters' runs
    // out, and their receipts would be refused. Both are bounded: MAX_QUEUED + MAX_KEPT_RESULTS.
    this.state.submitted = trimHistory(
      this.state.submitted,
      (j) => j.state === 'waiting' || j.state === 'running',
    )
    this.state.runs = trimHistory(
      this.state.runs,
      (r) => this.live.get(r.id)?.record === r || this.ended.get(r.id)?.record === r,
    )
    await writeFileAtomic(this.file, JSON.stringify(this.state))
  }

  private jobFile(id: string, ext: 'wasm' | 'input' | 'output'): string {
    return path.join(this.dir, 'jobs', `${id}.${ext}`)
  }

  // ---------------------------------------------------------------- API

  /** Sends a job to the network; the result comes later (job(), 'job' events). */
  async submit(opts: {
    module: Buffer
    input: Buffer
    replicas: number
    name: string
    wallMs: number
  }): Promise<JobSummary> {
    const check = checkModule(opts.module, { memoryCapBytes: Number.MAX_SAFE_INTEGER })
    if (!check.ok) {
      const err = new Error(`the module can't run as a Spare job (${check.kind}): ${check.message}`)
      ;(err as Error & { code: string }).code = 'BAD_MODULE'
      throw err
    }
    const nonce = crypto.randomBytes(16).toString('hex')
    const id = jobId(opts.module, opts.input, nonce)
    await writeFileAtomic(this.jobFile(id, 'wasm'), opts.module)
    await writeFileAtomic(this.jobFile(id, 'input'), opts.input)
    const job: JobRecord = {
      id,
      nonce,
      name: opts.name,
      state: 'waiting',
      replicas: opts.replicas,
      quorum: Math.floor(opts.replicas / 2) + 1,
      wallMs: opts.wallMs,
      moduleBytes: opts.module.length,
      inputBytes: opts.input.length,
      submittedAt: Date.now(),
      finishedAt: null,
      donors: [],
      resultHash: null,
      outputBytes: null,
      error: null,
    }
    this.state.submitted.push(job)
    await this.save()
    this.log.info({ job: id.slice(0, 12), replicas: job.replicas, name: job.name }, 'job submitted')
    await this.updateTopic()
    void this.tend()
    return summarize(job)
  }

  jobs(): { submitted: JobSummary[]; run: RunSummary[] } {
    return {
      submitted: [...this.state.submitted].reverse().map(summarize),
      run: [...this.state.runs].reverse().map(runSummary),
    }
  }

  async job(id: string): Promise<JobDetail | null> {
    const j = this.state.submitted.find((x) => x.id === id)
    if (!j) return null
    let output: string | null = null
    if (j.state === 'done') {
      const file = this.jobFile(id, 'output')
      const out = await fs.readFile(file).catch(() => null)
      // Cut short or changed on disk: it was handed out as the job's answer without a word.
      if (out && j.resultHash !== null && hashHex(out) !== j.resultHash) {
        throw new Error(
          `the output of job ${id.slice(0, 12)}… (${path.relative(this.deps.dataDir, file)}) was damaged on disk: it no longer matches the result its donors agreed on`,
        )
      }
      output = out?.toString('base64') ?? null
    }
    return { ...summarize(j), output }
  }

  /** Queued and running donor jobs. */
  counts(): { running: number; queued: number } {
    let running = 0
    let queued = 0
    for (const r of this.live.values()) {
      if (r.proc) running++
      else if (r.record.state === 'queued') queued++
    }
    return { running, queued }
  }

  // ---------------------------------------------------------------- topic and connections

  private donating(): boolean {
    return (this.limits.cpuPercent ?? 0) > 0
  }

  private needsDonors(): boolean {
    return this.state.submitted.some(
      (j) =>
        j.state === 'waiting' ||
        j.state === 'running' ||
        // Receipts still to propose, for a day: a donor that never comes back is let go.
        (j.finishedAt !== null &&
          Date.now() - j.finishedAt < 24 * 3600 * 1000 &&
          j.donors.some((d) => d.state === 'agreed' && d.receipt === 'none')),
    )
  }

  private async updateTopic(): Promise<void> {
    // Before open() there is no swarm yet: open() joins as needed.
    if (this.closed || !this.swarm) return
    const want = { server: this.donating(), client: this.needsDonors() }
    const cur = this.topic
    if (cur && cur.server === want.server && cur.client === want.client) return
    if (cur) {
      this.topic = null
      await this.swarm.leave(COMPUTE_TOPIC)
    }
    if (!want.server && !want.client) return
    this.topic = want
    this.swarm
      .join(COMPUTE_TOPIC, want)
      .catch((err: Error) => this.log.warn({ err: err.message }, 'compute join failed'))
  }

  private onConnection(conn: SwarmConnection): void {
    const session: Session = {
      conn,
      msg: null,
      identity: null,
      ledger: null,
      slots: 0,
      waiting: new Map(),
      version: FIRST_PROTOCOL_VERSION,
    }
    this.sessions.add(session)
    conn.on('close', () => {
      this.sessions.delete(session)
      for (const w of session.waiting.values()) w(null)
      session.waiting.clear()
      // A peer may hold two connections for a moment (a reconnect): gone only when none is left.
      if (session.identity && !this.sessionOf(session.identity)) this.donorGone(session.identity)
    })
    const channel = openMessageChannel(Protomux.from(conn), {
      protocol: COMPUTE_PROTOCOL,
      version: COMPUTE_PROTOCOL_VERSION,
      decode: decodeMessage,
      onopen: (peerVersion) => {
        session.version = peerVersion
        this.sendHello(session)
      },
      onclose: () => {
        session.msg = null
      },
      onmessage: (m) => this.onMessage(session, m),
      onbad: (reason) => this.breach(session, `sent a bad compute message: ${reason}`),
      onfail: (err, m) => this.log.warn({ err: err.message, t: m.t }, 'compute message failed'),
    })
    session.msg = channel
    session.close = () => channel?.close()
  }

  private sendHello(s: Session): void {
    this.send(s, {
      t: 'hello',
      identity: this.me,
      ledger: this.deps.ledger.core.key.toString('hex'),
      slots: this.offerSlots(),
      sig: signHello(COMPUTE_HELLO_TAG, s.conn, this.deps.identity.secretKey),
    })
  }

  private send(s: Session, m: Message): void {
    try {
      s.msg?.send(encodeMessage(m))
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'compute send failed')
    }
  }

  /**
   * Newest wins: another session of the identity `s` just proved is a connection of an earlier
   * run of that node (it crashed or lost its network and came back with a fresh transport key;
   * Hyperswarm dedupes only connections between the same two transport keys). That end is dead,
   * and its connection would only time out, about 17 s later; until then sessionOf() could pick
   * it and jobs, results and receipts sent on it were lost. It is dropped now.
   */
  private retireOlder(s: Session): void {
    for (const old of this.sessions) {
      if (old === s || old.identity !== s.identity) continue
      this.sessions.delete(old)
      old.msg = null
      for (const w of old.waiting.values()) w(null)
      old.waiting.clear()
      this.log.info(
        { peer: s.identity?.slice(0, 12) },
        'peer reconnected; older connection dropped',
      )
      old.conn.destroy()
    }
  }

  private sessionOf(identity: string): Session | null {
    for (const s of this.sessions) if (s.identity === identity && s.msg) return s
    return null
  }

  private strike(identity: string | null, reason: string): void {
    this.log.warn({ peer: identity?.slice(0, 12) ?? 'unknown', reason }, 'peer misbehaved')
    if (!identity) return
    this.state.strikes[identity] = (this.state.strikes[identity] ?? 0) + 1
    this.saveSoon()
  }

  /**
   * A message from `s` that breaks the rules: a strike (once the peer said who it is) and a log
   * line, at most one a second per connection (with how many were left out). After
   * MAX_RULE_BREAKS the compute channel closes: a peer could otherwise write log lines and
   * strikes, to disk, as fast as it sends small valid messages.
   */
  private breach(s: Session, reason: string): void {
    const breaks = s.breaks ?? 0
    if (breaks >= MAX_RULE_BREAKS) return
    s.breaks = breaks + 1
    const now = Date.now()
    if (now - (s.warnedAt ?? -Infinity) >= 1000) {
      const quiet = s.quiet ?? 0
      const peer = s.identity?.slice(0, 12) ?? 'unknown'
      this.log.warn({ peer, reason, ...(quiet ? { leftOut: quiet } : {}) }, 'peer misbehaved')
      s.warnedAt = now
      s.quiet = 0
    } else s.quiet = (s.quiet ?? 0) + 1
    if (s.identity) {
      this.state.strikes[s.identity] = (this.state.strikes[s.identity] ?? 0) + 1
      this.saveSoon()
    }
    if (s.breaks === MAX_RULE_BREAKS) {
      this.log.warn(
        { peer: s.identity?.slice(0, 12) ?? 'unknown', leftOut: s.quiet ?? 0 },
        'peer broke the compute rules too often; channel closed',
      )
      s.msg = null
      s.close?.()
    }
  }

  private async onMessage(s: Session, m: Message): Promise<void> {
    if (m.t === 'hello') {
      // One hello per connection (sent when the channel opens). Another would resend every
      // result kept for the peer (up to MAX_KEPT_RESULT_BYTES) for a few hundred bytes each.
      if (s.identity !== null) {
        this.breach(s, 'sent a second compute hello on one connection')
        return
      }
      if (!verifyHello(COMPUTE_HELLO_TAG, s.conn, m.identity, m.sig) || m.identity === this.me) {
        this.breach(s, 'compute hello with a bad signature')
        return
      }
      s.identity = m.identity
      s.ledger = m.ledger
      s.slots = m.slots
      this.retireOlder(s)
      this.resendResults(s)
      // Holds it was told of may have been missed while it was away: told again at the next pump.
      for (const run of this.live.values())
        if (run.record.submitter === m.identity) run.heldTold = null
      void this.tend()
      return
    }
    if (!s.identity) {
      this.breach(s, `sent '${m.t}' before hello`)
      return
    }
    switch (m.t) {
      case 'offer':
        s.slots = m.slots
        void this.tend()
        return
      case 'job':
        return this.onJob(s, m)
      case 'accept':
        return this.onAccept(s, m)
      case 'started':
        return this.onStarted(s, m)
      case 'held':
        return this.onHeld(s, m)
      case 'result':
        return this.onResult(s, m)
      case 'outvoted':
        return this.onOutvoted(s, m)
      case 'cancel':
        return this.onCancel(s, m)
      case 'receipt':
        return this.onReceipt(s, m)
      case 'countersign': {
        const w = s.waiting.get(m.id)
        if (w) w(m)
        return
      }
    }
  }

  // ---------------------------------------------------------------- donor side

  /** Jobs this node would take now: free slots of the governor minus what is queued. */
  private offerSlots(): number {
    if (!this.donating()) return 0
    const { queued } = this.counts()
    return Math.max(0, Math.min(this.deps.governor.slots() - queued, MAX_QUEUED - this.live.size))
  }

  private broadcastOffer(): void {
    const slots = this.offerSlots()
    if (slots === this.lastOffer) return
    this.lastOffer = slots
    for (const s of this.sessions) if (s.identity) this.send(s, { t: 'offer', slots })
  }

  private async onJob(s: Session, m: Extract<Message, { t: 'job' }>): Promise<void> {
    const submitter = s.identity as string
    const refuse = (reason: string): void =>
      this.send(s, { t: 'accept', id: m.id, ok: false, reason })
    if (!this.donating()) return refuse('this node does not donate CPU')
    if (this.state.runs.some((r) => r.id === m.id)) {
      return refuse('this job was sent here before')
    }
    if (this.live.size >= MAX_QUEUED) return refuse('the queue is full')
    let mine = 0
    for (const r of this.live.values()) if (r.record.submitter === submitter) mine++
    if (mine >= MAX_QUEUED_PER_SUBMITTER) return refuse('too many of your jobs are queued here')
    const module = Buffer.from(m.module, 'base64')
    const input = Buffer.from(m.input, 'base64')
    if (jobId(module, input, m.nonce) !== m.id) {
      this.breach(s, 'sent a job whose id does not match its module and input')
      return refuse('the job id does not match its module, input and nonce')
    }
    const record: RunRecord = {
      id: m.id,
      submitter,
      state: 'queued',
      queuedAt: Date.now(),
      startedAt: null,
      finishedAt: null,
      cpuMs: 0,
      error: null,
      credited: null,
      resultHash: null,
    }
    this.state.runs.push(record)
    const run: LiveRun = {
      record,
      module,
      input,
      wallMs: Math.min(Math.max(m.wallMs, 1000), this.limits.jobWallMs),
      balance: 0,
      seq: this.seq++,
      proc: null,
      tracked: null,
      suspended: false,
      suspendedSince: null,
      result: null,
      givenBack: false,
      heldTold: null,
    }
    this.send(s, { t: 'accept', id: m.id, ok: true, reason: null })
    // A module outside the interface is answered at once: it never gets a process.
    const check = checkModule(module, { memoryCapBytes: this.limits.jobMemoryBytes })
    if (!check.ok) {
      // Sent to the submitter just now, and never run: not kept for a resend, where a burst of
      // them (a hundred bytes each) would push kept results out.
      const result = { ok: false as const, kind: check.kind, message: check.message }
      this.finishRun(run, { ...result, cpuMs: 0, wallMs: 0, peakRssBytes: 0 }, false)
      return
    }
    this.live.set(m.id, run)
    this.saveSoon()
    this.emit('changed')
    // Rank by the submitter's ledger: better balance first (unknown: a newcomer's 0).
    if (s.ledger) {
      this.scores
        .balance(submitter, s.ledger)
        .then((b) => {
          run.balance = b
        })
        .catch(() => {})
    }
    this.pump()
  }

  /** Starts queued jobs while the governor has free slots: highest balance, then oldest. */
  private pump(): void {
    if (this.closed) return
    this.giveUpStalled()
    const gov = this.deps.governor
    while (gov.slots() > 0) {
      let next: LiveRun | null = null
      for (const r of this.live.values()) {
        if (r.proc || r.record.state !== 'queued') continue
        if (!next || r.balance > next.balance || (r.balance === next.balance && r.seq < next.seq))
          next = r
      }
      if (!next) break
      this.startRun(next)
    }
    for (const r of this.live.values()) {
      // A run cancelled while its process dies keeps its 'failed' state: finishRun looks for it.
      if (r.proc && r.record.state !== 'failed') {
        r.record.state = r.suspended ? 'suspended' : 'running'
      }
    }
    this.broadcastOffer()
  }

  /**
   * Gives donor jobs back to their submitters ('cancelled': not done here, ask another donor)
   * when this node won't run them soon:
   *   - donating CPU is turned off: every job, at once (running ones too, where the governor
   *     can't stop them): the user wants none run here;
   *   - jobs are held by a snooze or the schedule that is known to last longer than
   *     timers.stalledMs: the queued and suspended ones, at once, rather than after stalledMs;
   *   - a job queued, or held suspended, for over timers.stalledMs without a break, unless the
   *     hold is known to end within stalledMs (a snooze of an hour keeps its jobs to its end).
   * A pause until resumed keeps jobs (as BOINC's "suspend" keeps its tasks): it is usually short.
   * A suspended process keeps its memory (up to the cap plus the runtime's share) and a queued job
   * its module and input, and a submitter that is gone never cancels them.
   */
  private giveUpStalled(): void {
    const now = Date.now()
    const limit = this.timers.stalledMs
    const gov = this.deps.governor
    const off = !this.donating() || gov.blocked() === 'off'
    const until = off ? null : gov.heldUntil()
    const longHold = until !== null && until - now > limit
    // A hold known to end within the bound (BOINC's one-hour snooze) keeps its jobs to the end,
    // however long they waited before: they run again then.
    const endsSoon = until !== null && !longHold
    const span = durationText(limit)
    for (const run of [...this.live.values()]) {
      const r = run.record
      if (r.state === 'failed' || run.givenBack) continue // cancelled, its process on its way out
      const held = !run.proc || run.suspendedSince !== null
      if (off) {
        this.giveBack(run, 'the donor gave the job back: its user turned donating CPU off')
      } else if (longHold && held) {
        const what = gov.blocked() === 'schedule' ? 'outside its schedule' : 'snoozed'
        this.giveBack(
          run,
          `the donor gave the job back: donating there is ${what} for over ${span}`,
        )
      } else if (endsSoon) {
        this.tellHeld(run, until, now)
        continue
      } else if (!run.proc && now - r.queuedAt > limit) {
        this.giveBack(
          run,
          `the donor gave up: the job waited over ${span} in its queue without starting`,
        )
      } else if (run.proc && run.suspendedSince !== null && now - run.suspendedSince > limit) {
        this.giveBack(run, `the donor gave up: the job was held suspended over ${span}`)
      }
    }
  }

  /**
   * Tells a job's submitter the job is kept through a hold that ends at `until`, so it waits for
   * it rather than give up on this donor as late. Once per hold (and again after a reconnect).
   */
  private tellHeld(run: LiveRun, until: number, now: number): void {
    if (run.heldTold === until) return
    const s = this.sessionOf(run.record.submitter)
    // A submitter from before 'held' would strike this donor for it: it is told nothing, and gives
    // up on the job here as it always did.
    if (!s || s.version < HELD_SINCE_VERSION) return
    run.heldTold = until
    this.send(s, { t: 'held', id: run.record.id, forMs: Math.max(0, Math.round(until - now)) })
  }

  /** Ends a queued or running donor job as 'cancelled'; the submitter is told (finishRun). */
  private giveBack(run: LiveRun, message: string): void {
    this.log.info({ job: run.record.id.slice(0, 12), why: message }, 'job given back')
    run.givenBack = true
    if (run.proc) {
      if (run.tracked) this.deps.governor.untrack(run.tracked)
      run.tracked = null
      run.suspendedSince = null
      // finishRun sends the result when the process is gone (its memory with it).
      run.proc.kill(message, 'cancelled')
      return
    }
    this.finishRun(run, {
      ok: false,
      kind: 'cancelled',
      message,
      cpuMs: 0,
      wallMs: 0,
      peakRssBytes: 0,
    })
  }

  private startRun(run: LiveRun): void {
    const proc = startJob(run.module, run.input, {
      memoryBytes: this.limits.jobMemoryBytes,
      wallMs: run.wallMs,
      outputMaxBytes: JOB_OUTPUT_MAX_BYTES,
    })
    run.proc = proc
    run.record.state = 'running'
    run.record.startedAt = Date.now()
    const tracked: TrackedJob = {
      pid: proc.pid,
      cpuMs: () => proc.cpuMs(),
      setSuspended: (suspended) => {
        if (!suspended) run.suspendedSince = null
        else if (!run.suspended || run.suspendedSince === null) run.suspendedSince = Date.now()
        run.suspended = suspended
        proc.setSuspended(suspended)
      },
    }
    if (proc.pid > 0) {
      run.tracked = tracked
      this.deps.governor.track(tracked)
    }
    this.log.info(
      { job: run.record.id.slice(0, 12), submitter: run.record.submitter.slice(0, 12) },
      'job started',
    )
    const s = this.sessionOf(run.record.submitter)
    if (s) this.send(s, { t: 'started', id: run.record.id })
    proc.done
      .then((res) => {
        if (run.tracked) this.deps.governor.untrack(run.tracked)
        run.tracked = null
        run.proc = null
        this.finishRun(run, res)
        this.pump()
      })
      .catch((err: Error) => this.log.error({ err: err.message }, 'job bookkeeping failed'))
    this.emit('changed')
  }

  /** Records a donor job's end and sends its result; `keep`: kept for a resend (finishRun). */
  private finishRun(run: LiveRun, res: RunResult, keep = true): void {
    const r = run.record
    this.live.delete(r.id)
    if (r.state === 'failed' && r.error?.kind === 'cancelled') return
    const now = Date.now()
    r.finishedAt = now
    r.startedAt ??= now
    // The period the receipt will name: at least 1 ms long.
    const from = r.startedAt
    const to = Math.max(now, from + 1)
    r.finishedAt = to
    r.cpuMs = Math.min(Math.round(res.cpuMs), to - from + 1000)
    if (res.ok) {
      r.state = 'done'
      r.resultHash = hashHex(res.output)
      run.result = {
        t: 'result',
        id: r.id,
        hash: r.resultHash,
        output: res.output.toString('base64'),
        error: null,
        cpuMs: r.cpuMs,
        from,
        to,
      }
    } else {
      r.state = 'failed'
      r.error = { kind: res.kind, message: res.message }
      r.credited = false
      run.result = {
        t: 'result',
        id: r.id,
        hash: null,
        output: null,
        error: { kind: res.kind, message: res.message.slice(0, 2000) },
        cpuMs: r.cpuMs,
        from,
        to,
      }
    }
    this.log.info(
      { job: r.id.slice(0, 12), state: r.state, cpuMs: r.cpuMs, error: r.error?.kind ?? null },
      'job ended',
    )
    // The module and input are no longer needed; the result waits for the submitter.
    run.module = Buffer.alloc(0)
    run.input = Buffer.alloc(0)
    const s = this.sessionOf(r.submitter)
    if (s) this.send(s, run.result)
    // Keep the result for a submitter that is away, within bounds.
    this.ended.delete(r.id)
    if (keep) {
      this.ended.set(r.id, run)
      this.trimEnded()
    }
    this.saveSoon()
    this.emit('changed')
    this.broadcastOffer()
  }

  /**
   * Lets go of kept results past KEEP_RESULT_MS; then, while over a cap (count or bytes), the
   * oldest result of the submitter that holds the most of that cap. Each submitter so keeps a fair
   * share: a burst of quick jobs from one lets go of its own results, not others'.
   */
  private trimEnded(): void {
    const size = (run: LiveRun): number => run.result?.output?.length ?? 0
    const now = Date.now()
    const count = new Map<string, number>()
    const bytes = new Map<string, number>()
    let total = 0
    for (const [id, run] of this.ended) {
      if (now - (run.record.finishedAt ?? 0) > KEEP_RESULT_MS) {
        this.ended.delete(id)
        continue
      }
      const who = run.record.submitter
      count.set(who, (count.get(who) ?? 0) + 1)
      bytes.set(who, (bytes.get(who) ?? 0) + size(run))
      total += size(run)
    }
    const largest = (by: Map<string, number>): string | null => {
      let top: string | null = null
      for (const [who, n] of by) if (top === null || n > (by.get(top) ?? 0)) top = who
      return top
    }
    while (this.ended.size > this.keep.results || total > this.keep.bytes) {
      const who = largest(this.ended.size > this.keep.results ? count : bytes)
      let oldest: [string, LiveRun] | null = null
      for (const entry of this.ended) {
        if (entry[1].record.submitter === who) {
          oldest = entry
          break
        }
      }
      if (!who || !oldest) break
      const [id, run] = oldest
      this.ended.delete(id)
      count.set(who, (count.get(who) ?? 1) - 1)
      bytes.set(who, (bytes.get(who) ?? 0) - size(run))
      total -= size(run)
    }
  }

  private resendResults(s: Session): void {
    for (const run of this.ended.values()) {
      // Outputs until credited or outvoted; failures (never credited) for as long as they're kept.
      const unsettled = run.record.credited === null || run.record.state === 'failed'
      if (run.result && run.record.submitter === s.identity && unsettled) {
        this.send(s, run.result)
      }
    }
  }

  private onCancel(s: Session, m: Extract<Message, { t: 'cancel' }>): void {
    const run = this.live.get(m.id)
    if (!run || run.record.submitter !== s.identity) return
    run.record.state = 'failed'
    run.record.error = { kind: 'cancelled', message: 'the submitter withdrew the job' }
    run.record.finishedAt = Date.now()
    run.record.credited = false
    if (run.proc) {
      if (run.tracked) this.deps.governor.untrack(run.tracked)
      run.tracked = null
      run.proc.kill('cancelled by the submitter', 'cancelled')
    } else {
      this.live.delete(m.id)
    }
    this.saveSoon()
    this.pump()
    this.emit('changed')
  }

  private onOutvoted(s: Session, m: Extract<Message, { t: 'outvoted' }>): void {
    const r = this.state.runs.find((x) => x.id === m.id && x.submitter === s.identity)
    if (!r) return
    r.credited = false
    this.log.info({ job: m.id.slice(0, 12) }, 'outvoted: another result won, no credit')
    this.ended.delete(m.id)
    this.saveSoon()
    this.emit('changed')
  }

  private async onReceipt(s: Session, m: Extract<Message, { t: 'receipt' }>): Promise<void> {
    const submitter = s.identity as string
    const answer = (a: Countersign): void =>
      this.send(s, { t: 'countersign', id: m.id, sig: a.sig, reason: a.reason })
    const raw = m.receipt as { body?: unknown; ownerSig?: unknown } | null
    const parsed = ReceiptBodySchema.safeParse(raw?.body)
    if (!parsed.success) {
      this.breach(s, 'compute receipt refused: not a valid receipt')
      return answer({ sig: null, reason: 'not a valid receipt', strike: true })
    }
    const body = parsed.data
    // The same receipt again (same body, so the same nonce): the submitter's answer was lost (the
    // connection closed, it came after the timeout, the submitter restarted) and it asks again.
    // It gets the answer it missed, not a strike; only a different receipt for a job already
    // credited is one.
    const id = receiptId(body)
    const deciding = this.countersigning.get(id)
    if (deciding) return answer({ ...(await deciding), strike: false })
    if (
      body.kind === 'compute' &&
      body.job === m.id &&
      body.host === this.me &&
      body.owner === submitter &&
      this.deps.ledger.has(id)
    ) {
      return answer({ sig: signAs(body, this.deps.identity, 'host'), reason: null, strike: false })
    }
    const run = this.decideReceipt(submitter, m.id, body, raw?.ownerSig)
    this.countersigning.set(id, run)
    let a: Countersign
    try {
      a = await run
    } finally {
      this.countersigning.delete(id)
    }
    if (a.strike) this.breach(s, `compute receipt refused: ${a.reason ?? 'no reason'}`)
    if (a.sig) this.emit('changed')
    answer(a)
  }

  /** Whether to countersign a compute receipt (and append it to the ledger when so). */
  private async decideReceipt(
    submitter: string,
    job: string,
    body: ReceiptBody,
    ownerSig: unknown,
  ): Promise<Countersign> {
    const refuse = (reason: string): Countersign => ({ sig: null, reason, strike: true })
    if (body.kind !== 'compute') return refuse('not a compute receipt')
    const r = this.state.runs.find((x) => x.id === job && x.submitter === submitter)
    if (!r || body.job !== job) return refuse('no such job ran here for you')
    if (r.state !== 'done' || !r.resultHash) return refuse('that job has no result here')
    // The ledger too: it is written before compute.json, which a crash between the two leaves behind.
    if (r.credited === true || this.deps.ledger.hasCompute(job, this.me, submitter)) {
      return refuse(ALREADY_CREDITED)
    }
    if (body.host !== this.me || body.owner !== submitter) return refuse('wrong parties')
    if (body.result !== r.resultHash) return refuse('that is not the result this node computed')
    if (body.cpuMs > r.cpuMs) return refuse('more CPU time than this node used')
    if (body.from !== r.startedAt || body.to !== r.finishedAt) return refuse('wrong period')
    const hostSig = signAs(body, this.deps.identity, 'host')
    const check = verifyReceipt({ body, hostSig, ownerSig })
    if (!check.ok) return refuse(`${check.code}: ${check.reason}`)
    // Taken before the append, so a different receipt for the job arriving meanwhile is refused.
    const before = r.credited
    r.credited = true
    try {
      await this.deps.ledger.append(check.receipt)
    } catch (err) {
      r.credited = before
      return refuse((err as Error).message)
    }
    this.ended.delete(r.id)
    this.saveSoon()
    return { sig: hostSig, reason: null, strike: false }
  }

  // ---------------------------------------------------------------- submitter side

  private async onAccept(s: Session, m: Extract<Message, { t: 'accept' }>): Promise<void> {
    const a = this.assignment(m.id, s.identity as string)
    if (!a || m.ok || (a.state !== 'sent' && a.state !== 'running')) return
    a.state = 'failed'
    a.gaveBack = true
    a.error = `refused: ${m.reason ?? 'no reason given'}`
    this.changedJob(m.id)
  }

  private async onStarted(s: Session, m: Extract<Message, { t: 'started' }>): Promise<void> {
    const a = this.assignment(m.id, s.identity as string)
    if (!a || a.state !== 'sent') return
    a.state = 'running'
    this.changedJob(m.id)
  }

  private onHeld(s: Session, m: Extract<Message, { t: 'held' }>): void {
    const a = this.assignment(m.id, s.identity as string)
    if (!a || (a.state !== 'sent' && a.state !== 'running')) return
    a.heldUntil = Date.now() + Math.min(m.forMs, HELD_REPORT_MAX_MS)
    this.saveSoon()
  }

  /**
   * When a donor at work on a job is given up on: its time limit plus the grace after it was sent,
   * or after the end of a hold it said it keeps the job through (a snooze: the job runs after
   * it), within HELD_EXTRA_MAX_MS of the first.
   */
  private heldDeadline(job: JobRecord, d: Assignment): number {
    const normal = d.sentAt + job.wallMs + this.timers.graceMs
    if (d.heldUntil === null) return normal
    const held = d.heldUntil + job.wallMs + this.timers.graceMs
    return Math.min(Math.max(normal, held), normal + HELD_EXTRA_MAX_MS)
  }

  private async onResult(s: Session, m: Extract<Message, { t: 'result' }>): Promise<void> {
    const donor = s.identity as string
    const job = this.state.submitted.find((j) => j.id === m.id)
    const a = job?.donors.find((d) => d.identity === donor)
    if (!job || !a || a.answer !== null) return
    // A donor given up on ('gone': it or this node went away, or it ran late) may still answer
    // while the job is open: a donor keeps a result for an absent submitter and sends it again
    // when they reconnect, and the work is as good as any.
    const open = (job.state === 'waiting' || job.state === 'running') && job.finishedAt === null
    if (a.state !== 'sent' && a.state !== 'running' && !(a.state === 'gone' && open)) return
    // 'cancelled' from a donor says it did not do the job (it gave up: its donating was held
    // too long): no answer about the job, so no vote. The job goes to another donor.
    if (m.error?.kind === 'cancelled') {
      a.state = 'failed'
      a.gaveBack = true
      a.error = `not done: ${m.error.message}`
      return this.changedJob(job.id)
    }
    // The period is the donor's word, on its clock: how long it is can't be more than the job
    // has been out with it on this node's clock (it started after it was sent, and answered
    // before the answer came), or any donor could pick a period to claim any CPU time.
    const out = Date.now() - a.sentAt + PERIOD_SLACK_MS
    if (m.to <= m.from || m.to - m.from > out || m.cpuMs > m.to - m.from + 1000) {
      this.breach(s, 'a result with an impossible period or CPU time')
      a.state = 'failed'
      a.error = 'its result claimed impossible times'
      return this.changedJob(job.id)
    }
    a.cpuMs = m.cpuMs
    a.from = m.from
    a.to = m.to
    if (m.hash !== null && m.output !== null) {
      const output = Buffer.from(m.output, 'base64')
      if (hashHex(output) !== m.hash) {
        this.breach(s, 'a result whose output does not match its hash')
        a.state = 'failed'
        a.error = 'its output did not match its hash'
        return this.changedJob(job.id)
      }
      a.resultHash = m.hash
      a.answer = m.hash
      a.error = null
      // Keep one copy of each distinct output until the job settles.
      const file = `${this.jobFile(job.id, 'output')}.${m.hash.slice(0, 16)}`
      await writeFileAtomic(file, output)
      // Settled meanwhile: the assignment stays as the settling left it.
      if (job.finishedAt !== null) return
    } else if (m.error) {
      a.answer = `error:${m.error.kind}`
      a.error = `${m.error.kind}: ${m.error.message}`
    } else {
      this.breach(s, 'a result with neither output nor error')
      a.state = 'failed'
      a.error = 'its result had neither output nor error'
      return this.changedJob(job.id)
    }
    a.state = 'answered'
    this.changedJob(job.id)
  }

  private assignment(jobId: string, identity: string): Assignment | null {
    const job = this.state.submitted.find((j) => j.id === jobId)
    return job?.donors.find((d) => d.identity === identity) ?? null
  }

  private donorGone(identity: string): void {
    let changed = false
    for (const job of this.state.submitted) {
      if (job.state !== 'waiting' && job.state !== 'running') continue
      for (const d of job.donors) {
        if (d.identity === identity && (d.state === 'sent' || d.state === 'running')) {
          d.state = 'gone'
          d.error = 'the donor went away before it answered'
          changed = true
        }
      }
    }
    if (changed) {
      this.saveSoon()
      void this.tend()
    }
  }

  private changedJob(id: string): void {
    this.saveSoon()
    const job = this.state.submitted.find((j) => j.id === id)
    if (job) this.emit('job', summarize(job))
    void this.tend()
  }

  /** Settles, assigns and credits every unfinished job. One pass at a time. */
  private async tend(): Promise<void> {
    if (this.closed) return
    if (this.tending) {
      this.tendAgain = true
      return
    }
    this.tending = true
    try {
      do {
        this.tendAgain = false
        for (const job of this.state.submitted) {
          if (job.state === 'waiting' || job.state === 'running') await this.tendJob(job)
          if (job.state === 'done') this.creditDonors(job)
        }
        await this.updateTopic()
      } while (this.tendAgain && !this.closed)
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'compute tend failed')
    } finally {
      this.tending = false
    }
  }

  private async tendJob(job: JobRecord): Promise<void> {
    const now = Date.now()
    // Donors past their wall time plus grace are given up on (a donor may suspend a job for
    // a while under its own limits, so the grace is generous), or past the end of a hold they
    // said they keep the job through.
    for (const d of job.donors) {
      if (d.state === 'sent' || d.state === 'running') {
        if (now > this.heldDeadline(job, d)) {
          d.state = 'gone'
          d.error = 'no answer in time'
          // Held against it, or a donor that offers the most slots and never answers would be
          // chosen first for every job and hold each up this long.
          this.strike(d.identity, 'did not answer a job in time')
          const s = this.sessionOf(d.identity)
          if (s) this.send(s, { t: 'cancel', id: job.id })
        }
      }
    }
    const tally = new Map<string, Assignment[]>()
    for (const d of job.donors) {
      if (d.state !== 'answered' || d.answer === null) continue
      const list = tally.get(d.answer) ?? []
      list.push(d)
      tally.set(d.answer, list)
    }
    let best: [string, Assignment[]] | null = null
    for (const entry of tally) if (!best || entry[1].length > best[1].length) best = entry
    if (best && best[1].length >= job.quorum) return this.settle(job, best[0])

    const answered = job.donors.filter((d) => d.state === 'answered').length
    const active = job.donors.filter((d) => d.state === 'sent' || d.state === 'running').length
    const maxTally = best ? best[1].length : 0
    // Donors that gave the job back unrun use none of the budget: they had no say about it.
    const gaveBack = job.donors.filter((d) => d.gaveBack).length
    const tried = job.donors.length - gaveBack
    const budget = job.replicas + MAX_EXTRA_DONORS - tried
    const backLeft = maxGivenBack(job.replicas) - gaveBack
    const want = Math.min(
      budget,
      backLeft,
      Math.max(job.quorum - maxTally, job.replicas - answered) - active,
    )
    if (want <= 0 && active === 0) {
      if (budget <= 0) {
        // 'no-quorum' says donors disagreed: only when they did.
        const kind = tally.size > 1 ? 'no-quorum' : 'no-donors'
        return this.fail(job, kind, outOfDonorsMessage(job))
      }
      if (backLeft <= 0) return this.fail(job, 'no-donors', outOfDonorsMessage(job))
    }
    if (want > 0) {
      const tried = new Set(job.donors.map((d) => d.identity))
      const candidates = [...this.sessions]
        .filter((s) => s.identity && s.msg && s.slots > 0 && !tried.has(s.identity))
        .sort(
          (a, b) =>
            (this.state.strikes[a.identity!] ?? 0) - (this.state.strikes[b.identity!] ?? 0) ||
            b.slots - a.slots,
        )
      // One connection per donor: a peer may hold two at once (a reconnect, or on purpose), and
      // only one answer per identity counts.
      const picked: Session[] = []
      for (const s of candidates) {
        if (picked.length >= want) break
        if (!picked.some((p) => p.identity === s.identity)) picked.push(s)
      }
      if (picked.length > 0) {
        let module: Buffer
        let input: Buffer
        try {
          module = await fs.readFile(this.jobFile(job.id, 'wasm'))
          input = await fs.readFile(this.jobFile(job.id, 'input'))
        } catch (err) {
          // Gone from the data dir (deleted by hand, a disk restored): the job can never be sent
          // again. Ended once, rather than throwing on every pass and holding up the jobs after.
          const e = err as NodeJS.ErrnoException
          const what = e.code === 'ENOENT' ? 'is missing' : `can't be read (${e.code ?? e.message})`
          const file = path.relative(this.deps.dataDir, e.path ?? this.jobFile(job.id, 'wasm'))
          return this.fail(job, 'invalid', `the job's file ${file} ${what}: it can't be sent`)
        }
        // Cut short or changed on disk (a crash mid-write without an atomic rename, a disk error):
        // every donor would refuse it and strike this node for a job id that does not match.
        if (jobId(module, input, job.nonce) !== job.id) {
          const dir = path.relative(this.deps.dataDir, path.dirname(this.jobFile(job.id, 'wasm')))
          return this.fail(
            job,
            'invalid',
            `the job's files in ${dir} were damaged (they no longer match the job id): it can't be sent`,
          )
        }
        for (const s of picked) {
          const identity = s.identity as string
          s.slots--
          job.donors.push({
            identity,
            state: 'sent',
            resultHash: null,
            cpuMs: null,
            error: null,
            receipt: 'none',
            answer: null,
            sentAt: Date.now(),
            from: null,
            to: null,
            gaveBack: false,
            proposal: null,
            heldUntil: null,
          })
          this.send(s, {
            t: 'job',
            id: job.id,
            nonce: job.nonce,
            module: module.toString('base64'),
            input: input.toString('base64'),
            wallMs: job.wallMs,
          })
          this.log.info({ job: job.id.slice(0, 12), donor: identity.slice(0, 12) }, 'job sent')
        }
        job.state = 'running'
        this.changedJob(job.id)
        return
      }
    }
    if (
      job.donors.every((d) => d.state === 'gone' || d.state === 'failed') &&
      now - Math.max(job.submittedAt, ...job.donors.map((d) => d.sentAt)) > this.timers.noDonorsMs
    ) {
      return this.fail(job, 'no-donors', 'no donor took the job in time')
    }
    // No donor at work on it (some may have answered) and none to send it to: a job that makes
    // no progress for noDonorsMs ends, whatever answers it has, rather than wait forever.
    if (active > 0) {
      this.idleSince.delete(job.id)
    } else {
      const since = this.idleSince.get(job.id) ?? now
      this.idleSince.set(job.id, since)
      if (now - since > this.timers.noDonorsMs) {
        this.idleSince.delete(job.id)
        return this.fail(
          job,
          'no-donors',
          `no donor worked on the job for ${Math.round(this.timers.noDonorsMs / 1000)} s; ` +
            `${answered} answered, ${job.quorum} matching results were needed`,
        )
      }
    }
  }

  private async settle(job: JobRecord, answer: string): Promise<void> {
    const now = Date.now()
    this.idleSince.delete(job.id)
    for (const d of job.donors) {
      const s = this.sessionOf(d.identity)
      if (d.state !== 'answered' && d.state !== 'sent' && d.state !== 'running') continue
      if (d.answer === answer) {
        d.state = answer.startsWith('error:') ? 'failed' : 'agreed'
      } else if (d.state === 'answered') {
        d.state = 'outvoted'
        if (s)
          this.send(s, {
            t: 'outvoted',
            id: job.id,
            agreed: answer.startsWith('error:') ? null : answer,
          })
      } else if (d.state === 'sent' || d.state === 'running') {
        d.state = 'gone'
        d.error = 'withdrawn: a quorum agreed first'
        if (s) this.send(s, { t: 'cancel', id: job.id })
      }
    }
    job.finishedAt = now
    if (answer.startsWith('error:')) {
      const kind = JobErrorKindSchema.parse(answer.slice('error:'.length)) as JobErrorKind
      const first = job.donors.find((d) => d.answer === answer)
      job.state = 'failed'
      job.error = { kind, message: `${job.quorum} donors agree: ${first?.error ?? kind}` }
    } else {
      const out = await fs.readFile(`${this.jobFile(job.id, 'output')}.${answer.slice(0, 16)}`)
      await writeFileAtomic(this.jobFile(job.id, 'output'), out)
      job.state = 'done'
      job.resultHash = answer
      job.outputBytes = out.length
    }
    await this.dropCandidates(job)
    this.log.info(
      {
        job: job.id.slice(0, 12),
        state: job.state,
        agreed: job.quorum,
        error: job.error?.kind ?? null,
      },
      'job settled',
    )
    this.changedJob(job.id)
  }

  private async fail(job: JobRecord, kind: JobErrorKind, message: string): Promise<void> {
    this.idleSince.delete(job.id)
    job.state = 'failed'
    job.finishedAt = Date.now()
    job.error = { kind, message }
    for (const d of job.donors) {
      const s = this.sessionOf(d.identity)
      if (d.state === 'answered') {
        d.state = 'outvoted'
        if (s) this.send(s, { t: 'outvoted', id: job.id, agreed: null })
      } else if (d.state === 'sent' || d.state === 'running') {
        d.state = 'gone'
        d.error = 'withdrawn: the job failed'
        if (s) this.send(s, { t: 'cancel', id: job.id })
      }
    }
    await this.dropCandidates(job)
    this.log.warn({ job: job.id.slice(0, 12), kind, message }, 'job failed')
    this.changedJob(job.id)
  }

  /** Removes the per-answer output copies and the module and input of a settled job. */
  private async dropCandidates(job: JobRecord): Promise<void> {
    const dir = path.join(this.dir, 'jobs')
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      if (name.startsWith(`${job.id}.output.`)) await fs.rm(path.join(dir, name), { force: true })
    }
    await fs.rm(this.jobFile(job.id, 'wasm'), { force: true })
    await fs.rm(this.jobFile(job.id, 'input'), { force: true })
  }

  /** Proposes a compute receipt to each agreeing donor not yet credited (when it is connected). */
  private creditDonors(job: JobRecord): void {
    for (const d of job.donors) {
      if (d.state !== 'agreed' || d.receipt !== 'none' || !d.resultHash) continue
      // The ledger is written before compute.json: after a crash between the two it has the
      // receipt, and another one for the job would be refused by the donor (a strike on this node).
      if (this.deps.ledger.hasCompute(job.id, d.identity, this.me)) {
        d.receipt = 'recorded'
        d.proposal = null
        this.saveSoon()
        this.emit('job', summarize(job))
        continue
      }
      if (d.from === null || d.to === null) continue
      const key = `${job.id}:${d.identity}`
      if (this.proposing.has(key)) continue
      const s = this.sessionOf(d.identity)
      if (!s || s.waiting.has(job.id)) continue
      // A proposal whose answer was lost goes again as it was (see Assignment.proposal).
      const kept = ReceiptBodySchema.safeParse(d.proposal?.body)
      if (
        d.proposal &&
        kept.success &&
        kept.data.kind === 'compute' &&
        kept.data.job === job.id &&
        kept.data.host === d.identity &&
        kept.data.owner === this.me &&
        kept.data.result === d.resultHash
      ) {
        this.proposing.add(key)
        this.proposeReceipt(job, d, s, kept.data, d.proposal.ownerSig, false)
          .catch((err: Error) => this.log.warn({ err: err.message }, 'compute receipt failed'))
          .finally(() => this.proposing.delete(key))
        continue
      }
      let body
      try {
        body = newReceiptBody({
          kind: 'compute',
          host: d.identity,
          owner: this.me,
          job: job.id,
          result: d.resultHash,
          cpuMs: Math.min(d.cpuMs ?? 0, job.wallMs),
          from: d.from,
          to: d.to,
        })
      } catch (err) {
        d.receipt = 'refused' // nothing creditable (impossible times): don't ask again
        d.error = `no receipt: ${(err as Error).message}`
        continue
      }
      // Not awaited: a donor slow to countersign (or that never does) holds up no other job.
      this.proposing.add(key)
      const ownerSig = signAs(body, this.deps.identity, 'owner')
      d.proposal = { body, ownerSig }
      this.proposeReceipt(job, d, s, body, ownerSig, true)
        .catch((err: Error) => this.log.warn({ err: err.message }, 'compute receipt failed'))
        .finally(() => this.proposing.delete(key))
    }
  }

  /**
   * Sends a donor its receipt, waits for its signature and records the countersigned receipt.
   * `fresh`: a new proposal, saved before it is sent, so a node killed before the answer
   * proposes it again as it was.
   */
  private async proposeReceipt(
    job: JobRecord,
    d: Assignment,
    s: Session,
    body: ReceiptBody,
    ownerSig: string,
    fresh: boolean,
  ): Promise<void> {
    if (fresh) await this.save()
    if (this.closed || !s.msg) return
    const reply = await new Promise<Extract<Message, { t: 'countersign' }> | null>((resolve) => {
      const timer = setTimeout(() => {
        s.waiting.delete(job.id)
        resolve(null)
      }, this.timers.receiptTimeoutMs)
      s.waiting.set(job.id, (m) => {
        clearTimeout(timer)
        s.waiting.delete(job.id)
        resolve(m)
      })
      this.send(s, { t: 'receipt', id: job.id, receipt: { body, ownerSig } })
    })
    if (!reply) return
    d.proposal = null
    this.saveSoon()
    if (!reply.sig) {
      if (reply.reason === ALREADY_CREDITED && (await this.takeDonorReceipt(job, d, s))) return
      this.log.warn({ donor: d.identity.slice(0, 12), reason: reply.reason }, 'receipt refused')
      d.receipt = 'refused'
      d.error = `receipt refused: ${reply.reason ?? 'no reason given'}`
      this.changedJob(job.id)
      return
    }
    const check = verifyReceipt({ body, hostSig: reply.sig, ownerSig })
    if (!check.ok) {
      this.breach(s, `countersigned a compute receipt badly: ${check.reason}`)
      return
    }
    try {
      await this.deps.ledger.append(check.receipt)
      d.receipt = 'recorded'
      this.changedJob(job.id)
    } catch (err) {
      // Already here (taken from the donor's ledger meanwhile): recorded.
      if (this.deps.ledger.has(receiptId(body))) {
        d.receipt = 'recorded'
        this.changedJob(job.id)
        return
      }
      this.log.warn({ err: (err as Error).message }, 'compute receipt not recorded')
    }
  }

  /**
   * The donor has a receipt for the job that this node never recorded: it countersigned one whose
   * answer was lost (it came after the timeout, or the connection closed). The donor's ledger is
   * public and has it, signed by both: it is taken from there into this ledger (which checks it).
   */
  private async takeDonorReceipt(job: JobRecord, d: Assignment, s: Session): Promise<boolean> {
    if (!s.ledger) return false
    const report = await this.scores.report(d.identity, s.ledger).catch(() => null)
    for (const r of report?.receipts ?? []) {
      const b = r.body
      if (b.kind !== 'compute' || b.job !== job.id) continue
      if (b.host !== d.identity || b.owner !== this.me || b.result !== d.resultHash) continue
      try {
        await this.deps.ledger.append(r)
      } catch {
        continue // not valid here
      }
      this.log.info({ job: job.id.slice(0, 12) }, "took a compute receipt from the donor's ledger")
      d.receipt = 'recorded'
      d.proposal = null
      this.changedJob(job.id)
      return true
    }
    return false
  }
}

/** The newest KEEP_HISTORY of `list`, and any older one still in use. */
function trimHistory<T>(list: T[], inUse: (x: T) => boolean): T[] {
  const cut = list.length - KEEP_HISTORY
  if (cut <= 0) return list
  return list.filter((x, i) => i >= cut || inUse(x))
}

/** A donor's answer to a compute receipt; `strike`: refused for something the submitter did. */
interface Countersign {
  sig: string | null
  reason: string | null
  strike: boolean
}

/** A donor's reason for refusing a receipt for a job it has one for already. */
const ALREADY_CREDITED = 'that job already has a receipt'

/**
 * Why a job ran out of donors to ask, in words: each thing that happened with the donors asked
 * (disagreement only when there was some), and the quorum that was needed.
 */
function outOfDonorsMessage(job: {
  quorum: number
  donors: Array<Pick<Assignment, 'state' | 'answer' | 'gaveBack'>>
}): string {
  const answers = new Map<string, number>()
  for (const d of job.donors) if (d.answer) answers.set(d.answer, (answers.get(d.answer) ?? 0) + 1)
  const counts = [...answers.values()].sort((a, b) => b - a)
  const donors = (n: number): string => (n === 1 ? '1 donor' : `${n} donors`)
  const parts: string[] = []
  if (counts.length > 1) parts.push(`donors disagreed (${counts.join(' / ')})`)
  else if (counts[0] === 1) parts.push('1 donor answered')
  else if (counts[0] !== undefined) parts.push(`${counts[0]} donors answered alike`)
  const gaveBack = job.donors.filter((d) => d.gaveBack).length
  const away = job.donors.filter((d) => d.state === 'gone' && d.answer === null).length
  const bad = job.donors.filter(
    (d) => d.state === 'failed' && !d.gaveBack && d.answer === null,
  ).length
  if (gaveBack > 0) {
    parts.push(`${donors(gaveBack)} gave the job back before running it (refused or gave it up)`)
  }
  if (away > 0) parts.push(`${donors(away)} went away or did not answer in time`)
  if (bad > 0) parts.push(`${donors(bad)} sent a result that did not check out`)
  if (parts.length === 0) parts.push('no donor answered')
  const needed =
    job.quorum === 1 ? '1 result was needed' : `${job.quorum} matching results were needed`
  return `${parts.join('; ')}; ${needed}`
}

/** '60 min', or '300 ms' for the short bounds tests use. */
function durationText(ms: number): string {
  const mins = Math.round(ms / 60_000)
  return mins >= 1 ? `${mins} min` : `${ms} ms`
}

function summarize(j: JobRecord): JobSummary {
  return {
    id: j.id,
    name: j.name,
    state: j.state,
    replicas: j.replicas,
    quorum: j.quorum,
    moduleBytes: j.moduleBytes,
    inputBytes: j.inputBytes,
    submittedAt: j.submittedAt,
    finishedAt: j.finishedAt,
    donors: j.donors.map((d) => ({
      identity: d.identity,
      state: d.state,
      resultHash: d.resultHash,
      cpuMs: d.cpuMs,
      error: d.error,
      credited: d.receipt === 'recorded',
    })),
    resultHash: j.resultHash,
    outputBytes: j.outputBytes,
    error: j.error,
  }
}

function runSummary(r: RunRecord): RunSummary {
  return {
    id: r.id,
    submitter: r.submitter,
    state: r.state,
    queuedAt: r.queuedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    cpuMs: r.cpuMs,
    error: r.error,
    credited: r.credited,
  }
}
