// Donated disk: keeping other people's encrypted folders available, and asking others to keep
// ours. One Hosting object per node, on its own Hyperswarm (the hosting swarm), so that all of a
// donor's hosting traffic runs through the governor's rate limits: every hosting connection
// carries its Hypercore replication inside a throttled pipe.
//
// Donor side: with a disk limit set, the node announces itself on the hosting topic. Owners (any
// writer of a two-way folder) connect, read its hello (identity, ledger key, free bytes) and ask
// it to keep the folder's cores up to an agreed size. The host opens them by key only: it never
// has the folder's encryption key, so it stores and serves ciphertext it cannot read. It fetches
// in batches and checks the budget before each one, so its usage never runs past the limit by
// more than one batch in flight; a folder that grows past what was agreed gets no more space until
// the owner asks again. Lowering the limit evicts whole folders (planEviction: lowest priority,
// then least recently needed).
//
// Owner side: each two-way folder wants R hosts (default 2). The owner picks among the hosts it
// meets by their ledger (valid ledger first, then the most given, then the most free space),
// audits each regularly (a random block it holds, a fresh nonce: the host must answer
// BLAKE2b(nonce | block) in time) and replaces a host that fails twice or stays away too long.
// Every receipt period the host proposes a storage receipt; the owner countersigns it only if it
// matches what the owner saw (period after the last one, bytes within what was agreed, audits no
// more than passed) and both append it to their ledgers. Refused receipts count against the peer.
import { EventEmitter } from 'node:events'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import crypto from 'hypercore-crypto'
import Protomux, { type ProtomuxMessage } from 'protomux'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import type HyperDHT from 'hyperdht'
import type { SwarmConnection } from 'hyperswarm'
import { z } from 'zod'
import type { Logger } from '../logger.ts'
import { Swarm } from '../net/swarm.ts'
import { Governor, planEviction, type DonateLimits, type DonateStatus } from '../limits/governor.ts'
import { throttledPipe, type PipeStream } from '../limits/throttle.ts'
import { Ledger, verifyLedger, type LedgerReport } from '../ledger/ledger.ts'
import {
  ReceiptBodySchema,
  newReceiptBody,
  signAs,
  verifyReceipt,
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
/** A newcomer's ledger may be this far below zero (byte-hours) and still be served. */
export const STARTING_ALLOWANCE = 50e9
/** Blocks fetched per batch: usage may pass the agreed size by at most one batch (≤ 4 MiB). */
const BATCH_BLOCKS = 16

export interface HostingTimers {
  /** How often the owner looks for hosts and audits each (ms). */
  auditMs: number
  /** How long a host has to answer an audit (ms). */
  auditTimeoutMs: number
  /** How often a host proposes a storage receipt (ms). */
  receiptMs: number
  /** A host not seen for this long is replaced (ms). */
  goneMs: number
}

export const DEFAULT_TIMERS: HostingTimers = {
  auditMs: 10 * 60 * 1000,
  auditTimeoutMs: 10_000,
  receiptMs: 60 * 60 * 1000,
  goneMs: 24 * 3600 * 1000,
}

/**
 * Timers from SPARE_HOSTING_TIMERS ("audit=2000,timeout=2000,receipt=3000,gone=8000", ms), for
 * tests and tuning; anything missing or malformed keeps its default.
 */
export function parseTimers(text: string | undefined): Partial<HostingTimers> {
  const out: Partial<HostingTimers> = {}
  const names: Record<string, keyof HostingTimers> = {
    audit: 'auditMs',
    timeout: 'auditTimeoutMs',
    receipt: 'receiptMs',
    gone: 'goneMs',
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
  /** A random block this device holds among `have` (core → length the host claims to hold). */
  auditSample(
    have: Record<string, number>,
  ): Promise<{ core: string; index: number; block: Buffer } | null>
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
  /** What the host says it holds: core → contiguous length (audits sample within it). */
  have: z.record(z.string(), z.number()),
})
type HostRecord = z.infer<typeof HostRecordSchema>

const StateSchema = z.object({
  format: z.literal(1),
  hosted: z.array(HostedSchema).default([]),
  hosts: z.record(z.string(), z.array(HostRecordSchema)).default({}),
  banned: z.record(z.string(), z.array(z.string())).default({}),
  strikes: z.record(z.string(), z.number()).default({}),
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
}

interface HostedCore {
  core: Hypercore
  held: number
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
}

export class Hosting extends EventEmitter {
  readonly governor: Governor
  ledger!: Ledger
  private swarm!: Swarm
  private readonly timers: HostingTimers
  private readonly sessions = new Set<Session>()
  private state: State = { format: 1, hosted: [], hosts: {}, banned: {}, strikes: {} }
  private readonly cores = new Map<string, HostedCore>()
  private readonly ledgerScores = new Map<string, { at: number; report: LedgerReport | null }>()
  private readonly topics = new Map<string, { server: boolean; client: boolean }>()
  private tick: NodeJS.Timeout | null = null
  private closed = false
  private ticking = false
  private saveTimer: NodeJS.Timeout | null = null
  private readonly me: string
  private readonly file: string

  constructor(private readonly deps: HostingDeps) {
    super()
    this.timers = { ...DEFAULT_TIMERS, ...deps.timers }
    this.governor = new Governor({ dir: deps.dataDir, limits: deps.limits })
    this.me = deps.identity.publicKey.toString('hex')
    this.file = path.join(deps.dataDir, 'hosting.json')
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
    await this.updateTopics()
    void this.onTick()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.tick) clearInterval(this.tick)
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

  // ---------------------------------------------------------------- persistence

  private async load(): Promise<void> {
    let text: string
    try {
      text = await fs.readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw err
    }
    let raw: unknown
    try {
      raw = JSON.parse(text)
    } catch {
      raw = null
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
    for (const t of this.deps.memberTopics()) add(t, { server: false, client: true })
    for (const h of this.state.hosted)
      add(Buffer.from(h.topic, 'hex'), { server: true, client: false })
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
    const teardown = throttledPipe(
      inner as unknown as PipeStream, // streamx Duplexes: what throttledPipe expects
      conn as unknown as PipeStream,
      this.governor.up,
      this.governor.down,
    )
    const session: Session = {
      conn,
      msg: null,
      identity: null,
      ledger: null,
      free: 0,
      nextId: 1,
      waiting: new Map(),
      teardown,
    }
    this.sessions.add(session)
    conn.on('close', () => {
      this.sessions.delete(session)
      for (const w of session.waiting.values()) w({ t: 'proof', id: -1, hash: null } as Message)
      session.waiting.clear()
    })
    const mux = Protomux.from(inner.noiseStream.userData)
    const channel = mux.createChannel({
      protocol: HOSTING_PROTOCOL,
      onopen: () => this.sendHello(session),
      onclose: () => {
        session.msg = null
      },
    })
    if (!channel) return
    session.msg = channel.addMessage({
      onmessage: (buf: Buffer) => {
        let m: Message
        try {
          m = decodeMessage(buf)
        } catch (err) {
          this.strike(session.identity, `sent a bad message: ${(err as Error).message}`)
          return
        }
        this.onMessage(session, m).catch((err: Error) =>
          this.log.warn({ err: err.message, t: m.t }, 'hosting message failed'),
        )
      },
    })
    channel.open()
  }

  private send(s: Session, m: Message): void {
    s.msg?.send(encodeMessage(m))
  }

  private request(s: Session, m: Message & { id: number }, timeoutMs: number): Promise<Message> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        s.waiting.delete(m.id)
        resolve({ t: 'proof', id: m.id, hash: null })
      }, timeoutMs)
      s.waiting.set(m.id, (reply) => {
        clearTimeout(timer)
        s.waiting.delete(m.id)
        resolve(reply)
      })
      this.send(s, m)
    })
  }

  private sendHello(s: Session): void {
    void (async () => {
      const { budget } = await this.governor.budget(this.usedBytes())
      const free = Math.max(0, budget - this.usedBytes())
      const sig = crypto.sign(
        this.helloMessage(s.conn.publicKey, s.conn.remotePublicKey),
        this.deps.identity.secretKey,
      )
      this.send(s, {
        t: 'hello',
        identity: this.me,
        ledger: this.ledger.core.key.toString('hex'),
        free,
        sig: sig.toString('hex'),
      })
    })().catch(() => {})
  }

  private helloMessage(from: Buffer, to: Buffer): Buffer {
    return Buffer.concat([Buffer.from(HELLO_TAG), from, to])
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

  private async onMessage(s: Session, m: Message): Promise<void> {
    if (m.t === 'hello') {
      const ok = crypto.verify(
        this.helloMessage(s.conn.remotePublicKey, s.conn.publicKey),
        Buffer.from(m.sig, 'hex'),
        Buffer.from(m.identity, 'hex'),
      )
      if (!ok || m.identity === this.me) {
        this.strike(null, 'hello with a bad signature')
        return
      }
      s.identity = m.identity
      s.ledger = m.ledger
      s.free = m.free
      for (const r of Object.values(this.state.hosts).flat()) {
        if (r.host === m.identity) r.lastSeen = Date.now()
      }
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
        await this.onRequest(s, m)
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

  private async requesterBalance(s: Session): Promise<number> {
    if (!s.identity || !s.ledger) return 0
    const cached = this.ledgerScores.get(s.identity)
    if (cached && Date.now() - cached.at < 10 * 60 * 1000) {
      return cached.report?.valid ? cached.report.balance : -Infinity
    }
    const core = this.deps.store.get({ key: Buffer.from(s.ledger, 'hex') })
    let report: LedgerReport | null
    try {
      await core.ready()
      await core.update({ wait: true }).catch(() => false)
      report = await verifyLedger(core)
      if (report.identity !== s.identity) report = { ...report, valid: false }
    } catch {
      report = null
    } finally {
      await core.close().catch(() => {})
    }
    this.ledgerScores.set(s.identity, { at: Date.now(), report })
    // A ledger nobody could fetch counts as a newcomer's; a forged one as nothing.
    if (!report) return 0
    return report.valid ? report.balance : -Infinity
  }

  private async onRequest(s: Session, m: Extract<Message, { t: 'request' }>): Promise<void> {
    const owner = s.identity as string
    const reply = (ok: boolean, reason: string | null): void =>
      this.send(s, { t: 'reply', id: m.id, ok, reason })
    const existing = this.state.hosted.find((h) => h.folder === m.folder)
    if (existing && existing.owner !== owner) {
      // Another writer of the same folder: it may widen what is kept, within the budget.
      existing.owner = owner
    }
    const balance = await this.requesterBalance(s)
    if (balance + STARTING_ALLOWANCE < 0) {
      reply(false, 'your ledger balance is too low: give before you get')
      return
    }
    const used = this.usedBytes()
    const already = existing ? this.heldOf(existing) : 0
    const extra = Math.max(0, m.bytes - Math.max(already, existing?.agreedBytes ?? 0))
    const { budget } = await this.governor.budget(used)
    const committed = this.state.hosted.reduce(
      (n, h) => n + Math.max(h.agreedBytes, this.heldOf(h)),
      0,
    )
    if (committed + extra > budget) {
      reply(false, `this host is full (it can take ${Math.max(0, budget - committed)} more bytes)`)
      return
    }
    const now = Date.now()
    if (existing) {
      existing.agreedBytes = Math.max(existing.agreedBytes, m.bytes)
      for (const k of m.cores) if (!existing.cores.includes(k)) existing.cores.push(k)
      existing.lastNeededAt = now
      existing.priority = balance
      this.openHosted(existing)
    } else {
      const h: Hosted = {
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
      }
      this.state.hosted.push(h)
      this.openHosted(h)
      this.log.info(
        { folder: m.folder, owner: owner.slice(0, 12), bytes: m.bytes },
        'hosting a folder',
      )
    }
    this.saveSoon()
    reply(true, null)
    await this.updateTopics()
    this.emit('changed')
  }

  private openHosted(h: Hosted): void {
    for (const key of h.cores) {
      if (this.cores.has(key)) continue
      // By key only, no encryption key: the host stores and serves ciphertext.
      const core = this.deps.store.get({ key: Buffer.from(key, 'hex') })
      const entry: HostedCore = { core, held: 0, pumping: false }
      this.cores.set(key, entry)
      core.on('append', () => this.pump(h, entry))
      core.on('upload', () => {
        h.lastNeededAt = Date.now()
      })
      core
        .ready()
        .then(async () => {
          const info = await core.info().catch(() => null)
          entry.held = info
            ? info.byteLength * (core.length ? core.contiguousLength / core.length : 0)
            : 0
          this.pump(h, entry)
        })
        .catch(() => {})
    }
  }

  /** Fetches a hosted core in batches while the budget and the agreed size allow. */
  private pump(h: Hosted, entry: HostedCore): void {
    if (entry.pumping || this.closed) return
    entry.pumping = true
    void (async () => {
      try {
        const core = entry.core
        await core.update({ wait: true }).catch(() => false)
        while (!this.closed && core.contiguousLength < core.length) {
          if (!this.state.hosted.includes(h)) return
          const start = core.contiguousLength
          const end = Math.min(core.length, start + BATCH_BLOCKS)
          const estimate = core.length
            ? Math.ceil((core.byteLength / core.length) * (end - start))
            : 0
          if (this.heldOf(h) + estimate > h.agreedBytes + estimate) {
            this.log.info({ folder: h.folder }, 'a hosted folder reached the agreed size')
            this.tellOwner(h, null)
            return
          }
          if (!(await this.governor.canAccept(this.usedBytes(), estimate))) {
            this.log.info({ folder: h.folder }, 'hosting budget reached')
            await this.enforceBudget()
            return
          }
          const before = core.contiguousLength
          await core.download({ start, end }).done()
          const info = await core.info().catch(() => null)
          if (info && core.length)
            entry.held = Math.round(info.byteLength * (core.contiguousLength / core.length))
          if (core.contiguousLength === before) return
          this.emit('changed')
        }
        this.tellOwner(h, null)
      } catch (err) {
        this.log.debug({ err: (err as Error).message }, 'hosted core fetch stopped')
      } finally {
        entry.pumping = false
      }
    })()
  }

  private tellOwner(h: Hosted, evicted: string | null): void {
    const s = this.sessionOf(h.owner)
    if (!s) return
    const have: Record<string, number> = {}
    for (const k of h.cores) {
      const c = this.cores.get(k)
      if (c && c.core.contiguousLength > 0) have[k] = c.core.contiguousLength
    }
    this.send(s, { t: 'status', folder: h.folder, bytes: this.heldOf(h), have, evicted })
  }

  /** Evicts whole hosted folders until usage fits the budget. */
  private async enforceBudget(): Promise<void> {
    const used = this.usedBytes()
    const { budget } = await this.governor.budget(used)
    const victims = planEviction(
      this.state.hosted.map((h) => ({
        id: h.folder,
        bytes: this.heldOf(h),
        lastNeededAt: h.lastNeededAt,
        priority: h.priority,
      })),
      used,
      budget,
    )
    for (const id of victims) await this.dropHosted(id, null, 'evicted: the donated space shrank')
  }

  private async dropHosted(folder: string, by: string | null, why: string): Promise<void> {
    const h = this.state.hosted.find((x) => x.folder === folder)
    if (!h || (by && h.owner !== by)) return
    this.tellOwner(h, why)
    this.state.hosted = this.state.hosted.filter((x) => x !== h)
    const stillUsed = new Set(this.state.hosted.flatMap((x) => x.cores))
    for (const key of h.cores) {
      if (stillUsed.has(key)) continue
      const entry = this.cores.get(key)
      this.cores.delete(key)
      if (entry) {
        await entry.core.purge().catch(() => entry.core.close().catch(() => {}))
      }
    }
    this.log.info({ folder, why }, 'stopped hosting a folder')
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
      if (now - h.lastReceiptTo < this.timers.receiptMs) continue
      const s = this.sessionOf(h.owner)
      if (!s) continue
      const body = newReceiptBody({
        kind: 'storage',
        host: this.me,
        owner: h.owner,
        folder: h.folder,
        bytes: this.heldOf(h),
        from: h.lastReceiptTo,
        to: now,
        audits: h.auditsAnswered,
      })
      const hostSig = signAs(body, this.deps.identity, 'host')
      const id = s.nextId++
      const reply = await this.request(
        s,
        { t: 'receipt', id, receipt: { body, hostSig, ownerSig: null } },
        this.timers.auditTimeoutMs,
      )
      if (reply.t !== 'countersign' || !reply.sig) {
        const reason = reply.t === 'countersign' ? reply.reason : 'no answer'
        this.log.info({ folder: h.folder, reason }, 'the owner did not countersign a receipt')
        continue
      }
      const signed: SignedReceipt = { body, hostSig, ownerSig: reply.sig }
      try {
        await this.ledger.append(signed)
        h.lastReceiptTo = now
        h.auditsAnswered = 0
        this.saveSoon()
        this.emit('changed')
      } catch (err) {
        this.strike(
          h.owner,
          `countersigned a receipt that does not verify: ${(err as Error).message}`,
        )
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
    const refuse = (reason: string): void => {
      this.strike(s.identity, `receipt refused: ${reason}`)
      this.send(s, { t: 'countersign', id: m.id, sig: null, reason })
    }
    const env = z
      .object({ body: z.unknown(), hostSig: z.string(), ownerSig: z.null() })
      .safeParse(m.receipt)
    if (!env.success) return refuse('malformed receipt')
    const parsed = ReceiptBodySchema.safeParse(env.data.body)
    if (!parsed.success) return refuse('malformed receipt body')
    // With this node's signature added, the whole receipt must verify (the host's half included).
    const mine = signAs(parsed.data, this.deps.identity, 'owner')
    const check = verifyReceipt({ body: parsed.data, hostSig: env.data.hostSig, ownerSig: mine })
    if (!check.ok) return refuse(check.reason)
    const body = parsed.data
    if (body.host !== s.identity) return refuse('the receipt names another host')
    if (body.owner !== this.me) return refuse('the receipt names another owner')
    if (body.kind !== 'storage') return refuse('only storage receipts are countersigned here')
    const r = (this.state.hosts[body.folder] ?? []).find((x) => x.host === s.identity)
    if (!r) return refuse('that host does not keep that folder for this node')
    if (body.from < r.lastReceiptTo) return refuse('the period overlaps one already signed')
    if (body.to > Date.now() + 60_000) return refuse('the period ends in the future')
    // What the host may claim: no more than was agreed, nor than the folder's cores hold.
    const folder = this.deps.folders().find((f) => f.id === body.folder)
    const cap = Math.min(r.agreedBytes, folder ? folder.sizeBytes() : r.agreedBytes)
    if (body.bytes > cap * 1.05 + 1_000_000) {
      return refuse('the receipt claims more bytes than the folder holds or was agreed')
    }
    if (body.audits > r.auditsSinceReceipt)
      return refuse('the receipt claims more audits than passed')
    const sig = mine
    const signed: SignedReceipt = { body, hostSig: env.data.hostSig, ownerSig: sig }
    await this.ledger.append(signed)
    r.lastReceiptTo = body.to
    r.auditsSinceReceipt = 0
    this.saveSoon()
    this.send(s, { t: 'countersign', id: m.id, sig, reason: null })
    this.emit('changed')
  }

  private async hostScore(s: Session): Promise<number> {
    const balance = await this.requesterBalance(s)
    if (balance === -Infinity) return -Infinity
    const report = s.identity ? this.ledgerScores.get(s.identity)?.report : null
    return report ? report.given : 0
  }

  private async onTick(): Promise<void> {
    if (this.ticking || this.closed) return
    this.ticking = true
    try {
      await this.proposeReceipts()
      for (const f of this.deps.folders()) await this.tendFolder(f)
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

    const size = f.sizeBytes()
    const cores = f.coreKeys()
    // Room to grow a little before asking again.
    const wantBytes = Math.ceil(size * 1.25) + 1024 * 1024
    // Ask current hosts for more room before the folder outgrows what they agreed to.
    for (const r of records) {
      const s = this.sessionOf(r.host)
      if (!s) continue
      r.lastSeen = now
      if (size > r.agreedBytes * 0.8 || cores.length !== r.coreCount) {
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
        }
      }
    }
    // New hosts while fewer than wanted.
    if (records.length < f.hostsWanted) {
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
        }
        records.push(r)
        this.log.info({ folder: f.id, host: r.host.slice(0, 12) }, 'a host keeps the folder')
        this.emit('changed')
      }
    }
    this.state.hosts[f.id] = records
    // Audits.
    for (const r of records) {
      if (r.lastAudit && now - r.lastAudit.at < this.timers.auditMs) continue
      const s = this.sessionOf(r.host)
      if (!s) continue
      // A host gets a grace period to fetch; after it, claiming nothing is no excuse.
      if (Object.keys(r.have).length === 0 && now - r.since < 2 * this.timers.auditMs) continue
      await this.audit(f, r, s)
    }
    this.saveSoon()
  }

  private async audit(f: HostableFolder, r: HostRecord, s: Session): Promise<void> {
    let have = r.have
    if (Object.keys(have).length === 0) {
      // It claims nothing: audit it on anything it agreed to keep.
      have = Object.fromEntries(f.coreKeys().map((k) => [k, Number.MAX_SAFE_INTEGER]))
    }
    const sample = await f.auditSample(have)
    if (!sample) return
    const nonce = randomBytes(16).toString('hex')
    const started = Date.now()
    const reply = await this.request(
      s,
      { t: 'audit', id: s.nextId++, core: sample.core, index: sample.index, nonce },
      this.timers.auditTimeoutMs,
    )
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
    r.lastAudit = { at: Date.now(), ok: reason === null, reason }
    this.send(s, { t: 'audit-result', folder: f.id, ok: reason === null })
    if (reason === null) {
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
