// Test doubles at the process edge: a fake node behind the real createClient, so component tests
// exercise the contract's result validation too. Every call's params are checked with the
// contract's own schemas, like the real service does. node.status, node.setNetwork, sync.pause and
// sync.resume have built-in handlers (node-wide pause and network mode, as the engine keeps them)
// that a test's own handlers replace. So do the folders.* methods: they work on the fake's own
// in-memory folders (addFolder), two-way ones with members, kept versions, conflicts (with a preview
// of each side from the files on this device, and resolving them), retention and wanted hosts
// behaving as the engine's do (main/engine/node.ts, main/engine/sync/sync-folder.ts).
// donate.get/set keep limits and hosted folders (`donate`) with the engine's disk budget and
// eviction (main/engine/limits/governor.ts); donate.pause/resume keep the pause and emit
// donate.updated, and donate.get's `cpu` says whether jobs may run from readings a test sets
// (`donate.cpu`), blocked in the engine's order (off, paused, schedule, battery, in use, busy).
// compute.jobs/job answer from `compute` (and `outputs`); compute.submit adds a waiting job there. ledger.get/verify answer from `ledger` and the other
// nodes' ledgers a test adds (addRemoteLedger), totals in byte-hours as main/engine/ledger counts.
import { render, type RenderResult } from '@testing-library/react'
import type { ReactElement } from 'react'
import { vi } from 'vitest'
import { createClient, type SpareClient } from '../../../shared/client.ts'
import {
  ApiError,
  describeZodError,
  methods,
  type CpuBlock,
  type DonateStatus,
  type EventName,
  type EventPayload,
  type FolderHost,
  type FolderSummary,
  type JobSummary,
  type Ledger,
  type LedgerReport,
  type Member,
  type MethodName,
  type MethodParams,
  type MethodResult,
  type NodeStatus,
  type Peer,
  type RunSummary,
  type Version,
} from '../../../shared/contract.ts'
import { OPEN_STATE, type ConnectionSource, type ConnectionState } from '../lib/connection.ts'
import type { SpareEnvironment } from '../lib/environment.ts'
import { SpareProvider } from '../lib/spare-context.tsx'

export type Handlers = {
  [M in MethodName]?: (params: MethodParams<M>) => MethodResult<M> | Promise<MethodResult<M>>
}

export interface Call {
  method: string
  params: unknown
}

/** What the fake keeps for a two-way folder, besides its summary. */
export interface FakeSyncState {
  /** Writer devices, including removed ones; the one with `you` is this device. */
  members: Member[]
  /** Every version of every path ('/a/b.txt'), newest first, before retention is applied. */
  versions: Record<string, Version[]>
  /** How long replaced and deleted versions stay listed (folders.configure). */
  versionsDays: number
  /** Writer invites handed out so far: each is single use. */
  writerInvites: string[]
  /**
   * The files on this device's disk, by path ('/a/b.txt'): their text, or null for a binary
   * file (its size is its current version's). A path missing here is not on this device (yet):
   * folders.preview and folders.resolveConflict refuse it as the engine does.
   */
  contents: Record<string, string | null>
}

/** A receipt as ledgers keep them: signed by the host and the owner. */
export type SignedReceipt = Ledger['recent'][number]

/** A folder this node keeps for another node; `overAgreed` is worked out as the engine does. */
export type FakeHosted = Omit<DonateStatus['hosting'][number], 'overAgreed'>

/** The machine and the donor jobs as the engine's CPU governor sees them (donate.get's `cpu`). */
export interface FakeCpuReadings {
  usedPercent: number
  otherPercent: number | null
  idleMs: number | null
  onBattery: boolean | null
  probe: string
  machineCores: number
  running: number
  queued: number
  /** Whether now is inside the daily schedule, when there is one (the fake doesn't read it). */
  inSchedule: boolean
}

/** What the fake keeps for donate.get, donate.set, donate.pause and donate.resume. */
export interface FakeDonateState {
  limits: DonateStatus['limits']
  /** The file system holding the data directory. */
  fs: { total: number; free: number }
  /** Folders kept for others; their bytes add up to the used bytes. */
  hosting: FakeHosted[]
  pause: DonateStatus['pause']
  cpu: FakeCpuReadings
}

/** The engine's defaults (main/engine/limits/governor.ts): nothing donated, BOINC's CPU rules. */
export function defaultLimits(): DonateStatus['limits'] {
  return {
    diskBytes: null,
    diskPercent: null,
    leaveFreeBytes: null,
    upBytesPerSec: null,
    downBytesPerSec: null,
    cpuPercent: null,
    cpuCores: 1,
    onlyIdleMs: null,
    suspendAboveOtherPercent: 25,
    allowOnBattery: false,
    schedule: null,
    jobMemoryBytes: 256 * 1024 * 1024,
    jobWallMs: 10 * 60 * 1000,
  }
}

/** Readings of an idle desktop on mains power. */
export function cpuReadings(overrides: Partial<FakeCpuReadings> = {}): FakeCpuReadings {
  return {
    usedPercent: 0,
    otherPercent: 4,
    idleMs: 5 * 60_000,
    onBattery: false,
    probe: 'Electron powerMonitor',
    machineCores: 8,
    running: 0,
    queued: 0,
    inSchedule: true,
    ...overrides,
  }
}

/** What the fake keeps for ledger.get. */
export interface FakeLedgerState {
  key: string
  identity: string
  /** Valid receipts in the order they were appended. */
  receipts: SignedReceipt[]
  strikes: Record<string, number>
}

/** Another node's ledger that ledger.verify can fetch. */
export interface FakeRemoteLedger {
  identity: string | null
  receipts: SignedReceipt[]
  /** Entries refused by the check (a forged receipt, a replay…), besides the valid ones. */
  errors: Array<{ index: number; reason: string }>
  /** Receipts ending too far ahead of the checker's clock: left uncounted, not errors. */
  ahead?: number
}

interface FakeFolder {
  summary: FolderSummary
  sync: FakeSyncState | null
}

const CONFLICT_NAME = /\.sync-conflict-\d{8}-\d{6}-[0-9A-Za-z]+/
/** How much of a file folders.preview reads (main/engine/sync/sync-folder.ts PREVIEW_BYTES). */
export const PREVIEW_BYTES = 16 * 1024
const DAY_MS = 24 * 3600 * 1000
const HOUR_MS = 3600 * 1000
/** How many receipts ledger.get lists (main/engine/node.ts) and a report holds (ledger.ts). */
const RECENT_RECEIPTS = 20
const REPORT_RECEIPTS = 50

export const LEDGER_KEY = 'c0ffee'.repeat(10) + 'c0de'

export class FakeNode {
  /** Node-wide pause, as the built-in node.status, sync.pause and sync.resume keep it. */
  paused = false
  /** The fake's own folders, used by the built-in folders.* handlers. */
  readonly folders = new Map<string, FakeFolder>()
  private invites = 0
  /** The network set through node.setNetwork; null until then (the status's own network). */
  network: NodeStatus['network'] | null = null
  /** Donation limits and hosted folders, as the built-in donate.get and donate.set keep them. */
  donate: FakeDonateState = {
    limits: defaultLimits(),
    fs: { total: 500e9, free: 200e9 },
    hosting: [],
    pause: null,
    cpu: cpuReadings(),
  }
  /** Jobs this node submitted and jobs it runs for others, as compute.jobs answers them. */
  compute: { submitted: JobSummary[]; run: RunSummary[] } = { submitted: [], run: [] }
  /** The agreed output (base64) of submitted jobs by id, as compute.job answers it. */
  outputs = new Map<string, string>()
  /** This node's ledger, as the built-in ledger.get answers it. */
  ledger: FakeLedgerState = {
    key: LEDGER_KEY,
    identity: nodeStatus().nodeId,
    receipts: [],
    strikes: {},
  }
  /** Other nodes' ledgers by key: what ledger.verify finds on the network. */
  readonly remoteLedgers = new Map<string, FakeRemoteLedger>()
  readonly calls: Call[] = []
  private readonly listeners = new Set<(event: string, data: unknown) => void>()
  readonly client: SpareClient

  constructor(public handlers: Handlers = {}) {
    this.client = createClient({
      call: (method, params) => this.handle(method, params),
      subscribe: (listener) => {
        this.listeners.add(listener)
        return () => this.listeners.delete(listener)
      },
    })
  }

  private async handle(method: string, params: unknown): Promise<unknown> {
    this.calls.push({ method, params })
    if (!(method in methods)) throw new ApiError('NOT_FOUND', `no method ${method}`)
    const name = method as MethodName
    const checked = methods[name].params.safeParse(params)
    if (!checked.success) throw new ApiError('BAD_INPUT', describeZodError(checked.error))
    const handler =
      (this.handlers[name] as ((p: unknown) => unknown) | undefined) ?? this.builtIn(name)
    if (!handler) throw new ApiError('INTERNAL', `the fake node has no handler for ${method}`)
    return await handler(checked.data)
  }

  private builtIn(name: MethodName): ((p: unknown) => unknown) | undefined {
    switch (name) {
      case 'node.status':
        return () =>
          nodeStatus({ paused: this.paused, ...(this.network ? { network: this.network } : {}) })
      case 'node.setNetwork':
        return (p) => this.setNetwork(methods['node.setNetwork'].params.parse(p).network)
      case 'sync.pause':
        return () => this.setPaused(true)
      case 'sync.resume':
        return () => this.setPaused(false)
      case 'folders.list':
        return () => [...this.folders.keys()].map((id) => this.summaryOf(id))
      case 'folders.get':
        return (p) => this.summaryOf(methods['folders.get'].params.parse(p).id)
      case 'folders.share':
        return (p) => this.share(methods['folders.share'].params.parse(p))
      case 'folders.invite':
        return (p) => this.invite(methods['folders.invite'].params.parse(p))
      case 'folders.members':
        return (p) => this.syncOf(methods['folders.members'].params.parse(p).id).sync.members
      case 'folders.removeMember':
        return (p) => this.removeMember(methods['folders.removeMember'].params.parse(p))
      case 'folders.conflicts':
        return (p) => this.conflicts(this.syncOf(methods['folders.conflicts'].params.parse(p).id))
      case 'folders.preview':
        return (p) => this.preview(methods['folders.preview'].params.parse(p))
      case 'folders.resolveConflict':
        return (p) => this.resolveConflict(methods['folders.resolveConflict'].params.parse(p))
      case 'folders.versions':
        return (p) => {
          const { id, path } = methods['folders.versions'].params.parse(p)
          return this.keptVersions(this.syncOf(id).sync, fakeKey(path))
        }
      case 'folders.restore':
        return (p) => this.restore(methods['folders.restore'].params.parse(p))
      case 'folders.configure':
        return (p) => this.configure(methods['folders.configure'].params.parse(p))
      case 'donate.get':
        return () => this.donateStatus()
      case 'donate.set':
        return (p) => this.setDonate(methods['donate.set'].params.parse(p))
      case 'donate.pause':
        return (p) => this.pauseDonating(methods['donate.pause'].params.parse(p).minutes)
      case 'donate.resume':
        return () => this.resumeDonating()
      case 'compute.jobs':
        return () => ({ submitted: [...this.compute.submitted], run: [...this.compute.run] })
      case 'compute.job':
        return (p) => {
          const { id } = methods['compute.job'].params.parse(p)
          const found = this.compute.submitted.find((j) => j.id === id)
          if (!found) throw new ApiError('NOT_FOUND', `no job ${id} (see \`spare compute jobs\`)`)
          return { ...found, output: this.outputs.get(id) ?? null }
        }
      case 'compute.submit':
        return (p) => this.submitJob(methods['compute.submit'].params.parse(p))
      case 'ledger.get':
        return () => this.ownLedger()
      case 'ledger.verify':
        return (p) => this.verifyLedger(methods['ledger.verify'].params.parse(p).key)
      default:
        return undefined
    }
  }

  /** A new job, waiting for donors, as the engine's submitJob answers it (main/engine/compute). */
  private submitJob(p: MethodParams<'compute.submit'>): JobSummary {
    const replicas = p.replicas ?? 2
    const submitted: JobSummary = {
      id: hex(64),
      name: p.name ?? 'job',
      state: 'waiting',
      replicas,
      quorum: Math.floor(replicas / 2) + 1,
      moduleBytes: atob(p.module).length,
      inputBytes: atob(p.input).length,
      submittedAt: Date.now(),
      finishedAt: null,
      donors: [],
      resultHash: null,
      outputBytes: null,
      error: null,
    }
    this.compute.submitted = [submitted, ...this.compute.submitted]
    this.emit('job.updated', submitted)
    return submitted
  }

  /**
   * Adds a folder to the fake's own ones. A two-way folder ('sync') gets `sync` state; without
   * members it has one: this device, a writer unless its role is 'reader' or it waits for accept.
   */
  addFolder(summary: FolderSummary, sync: Partial<FakeSyncState> = {}): FolderSummary {
    let state: FakeSyncState | null = null
    if (summary.kind === 'sync') {
      const own = member({ label: 'this device', you: true, addedBy: null })
      state = {
        members: summary.role === 'reader' || summary.waitingForAccept ? [] : [own],
        versions: {},
        versionsDays: summary.versionsDays ?? 30,
        writerInvites: [],
        contents: {},
        ...sync,
      }
    }
    this.folders.set(summary.id, { summary, sync: state })
    return this.summaryOf(summary.id)
  }

  /** A folder's summary, with its member and conflict counts worked out from its state. */
  summaryOf(id: string): FolderSummary {
    const { summary, sync } = this.need(id)
    if (!sync) return summary
    return {
      ...summary,
      members: sync.members.filter((m) => !m.removed).length,
      conflicts: this.conflicts({ sync }).length,
      versionsDays: sync.versionsDays,
    }
  }

  private need(id: string): FakeFolder {
    const f = this.folders.get(id)
    if (!f) throw new ApiError('NOT_FOUND', `no folder with id ${id} (see \`spare folders\`)`)
    return f
  }

  private syncOf(id: string): { summary: FolderSummary; sync: FakeSyncState } {
    const { summary, sync } = this.need(id)
    if (!sync) {
      throw new ApiError('BAD_INPUT', `${id} is a published folder; only two-way folders have this`)
    }
    return { summary, sync }
  }

  private writable({ summary, sync }: { summary: FolderSummary; sync: FakeSyncState }): boolean {
    return sync.members.some((m) => m.you && !m.removed) && summary.role === 'writer'
  }

  private changed(id: string): FolderSummary {
    const summary = this.summaryOf(id)
    this.emit('folder.updated', summary)
    return summary
  }

  private share({
    path,
    name,
    mode = 'sync',
  }: MethodParams<'folders.share'>): MethodResult<'folders.share'> {
    if (!path.startsWith('/')) {
      throw new ApiError('BAD_INPUT', `the folder path must be absolute: ${path}`)
    }
    for (const f of this.folders.values()) {
      const other = f.summary.path
      if (path === other || path.startsWith(other + '/') || other.startsWith(path + '/')) {
        throw new ApiError(
          'CONFLICT',
          `${path} overlaps the synced folder ${other} (${f.summary.id})`,
        )
      }
    }
    const summary = folder({
      name: name ?? (path.split('/').filter(Boolean).pop() || 'folder'),
      path,
      kind: mode,
      role: mode === 'sync' ? 'writer' : 'owner',
      files: 0,
      bytes: 0,
      localBytes: 0,
      peers: 0,
      version: 0,
    })
    this.addFolder(summary)
    const invite = this.invite({ id: summary.id }).invite
    return { folder: this.changed(summary.id), invite }
  }

  private invite({ id, readOnly }: MethodParams<'folders.invite'>): { invite: string } {
    const f = this.need(id)
    const sync = f.sync
    if (!readOnly && sync) {
      if (!this.writable({ summary: f.summary, sync })) {
        throw new ApiError(
          'CONFLICT',
          'this device is not a writer of the folder (yet); it can give read-only invites (--read-only)',
        )
      }
      // A fresh key pair every time: a writer invite works once.
      const invite = `spare1w${id}${(++this.invites).toString(36).padStart(8, '0')}`
      sync.writerInvites.push(invite)
      return { invite }
    }
    return { invite: `spare1r${id}` }
  }

  private removeMember({ id, member: who }: MethodParams<'folders.removeMember'>): Member {
    const f = this.syncOf(id)
    if (!this.writable(f)) {
      throw new ApiError('CONFLICT', 'only a writer of this folder can remove members')
    }
    const matches = f.sync.members.filter(
      (m) => !m.removed && (m.key.startsWith(who) || m.device === who),
    )
    if (matches.length === 0)
      throw new ApiError('NOT_FOUND', `no member ${who} (see \`spare members\`)`)
    if (matches.length > 1) throw new ApiError('NOT_FOUND', `${who} matches more than one member`)
    const removed = { ...(matches[0] as Member), removed: true }
    f.sync.members = f.sync.members.map((m) => (m.key === removed.key ? removed : m))
    this.changed(id)
    return removed
  }

  /** What the engine lists: every conflict copy that exists, with both sides' current versions. */
  private conflicts({ sync }: { sync: FakeSyncState }): MethodResult<'folders.conflicts'> {
    const side = (v: Version | undefined) =>
      v && v.kind !== 'deleted'
        ? { kind: v.kind, size: v.size, mtime: v.mtime, device: v.device }
        : null
    const out: MethodResult<'folders.conflicts'> = []
    for (const [p, vs] of Object.entries(sync.versions)) {
      if (!CONFLICT_NAME.test(p)) continue
      const copy = side(vs[0])
      if (!copy) continue
      const original = p.replace(CONFLICT_NAME, '')
      out.push({ path: p, original, copy, kept: side(sync.versions[original]?.[0]) })
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : 1))
  }

  /** What the engine does: the first 16 KiB of a file on this device, as text unless binary. */
  private preview({ id, path }: MethodParams<'folders.preview'>): MethodResult<'folders.preview'> {
    const { sync } = this.syncOf(id)
    const key = fakeKey(path)
    const content = sync.contents[key]
    if (content === undefined) {
      throw new ApiError('NOT_FOUND', `${key} is not in the folder on this device`)
    }
    if (content === null) {
      const size = sync.versions[key]?.[0]?.size ?? 0
      return { size, text: null, truncated: size > PREVIEW_BYTES }
    }
    const bytes = new TextEncoder().encode(content)
    const truncated = bytes.length > PREVIEW_BYTES
    const text = truncated ? new TextDecoder().decode(bytes.subarray(0, PREVIEW_BYTES)) : content
    return { size: bytes.length, text, truncated }
  }

  /**
   * What the engine does: 'original' deletes the conflict copy; 'copy' moves it over the file it
   * is a copy of (the replaced version stays listed). Both are changes this device makes.
   */
  private resolveConflict({
    id,
    path,
    keep,
  }: MethodParams<'folders.resolveConflict'>): MethodResult<'folders.resolveConflict'> {
    const f = this.syncOf(id)
    const key = fakeKey(path)
    const found = this.conflicts(f).find((c) => c.path === key)
    if (!found) throw new ApiError('NOT_FOUND', `${key} is not a conflict copy in this folder`)
    const { sync } = f
    const content = sync.contents[key]
    if (content === undefined) {
      throw new ApiError('NOT_FOUND', `${key} is not on this device (yet)`)
    }
    const now = Date.now()
    const push = (p: string, v: Omit<Version, 'id' | 'at' | 'device' | 'current'>) => {
      const own = sync.members.find((m) => m.you)?.device ?? '000000000000'
      const next: Version = {
        ...v,
        id: nextVersionId(sync, own),
        at: now,
        device: own,
        current: true,
      }
      sync.versions[p] = [
        next,
        ...(sync.versions[p] ?? []).map((old) => ({ ...old, current: false })),
      ]
    }
    if (keep === 'copy') {
      const copy = found.copy
      push(found.original, { kind: copy.kind, size: copy.size, mtime: copy.mtime })
      sync.contents[found.original] = content
    }
    push(key, { kind: 'deleted', size: 0, mtime: now })
    delete sync.contents[key]
    const stored = this.need(id)
    stored.summary = { ...stored.summary, version: stored.summary.version + 1 }
    this.changed(id)
    return { path: found.original }
  }

  /** The engine's retention: a replaced version stays listed until `versionsDays` after it was replaced. */
  private keptVersions(sync: FakeSyncState, key: string): Version[] {
    const all = sync.versions[key] ?? []
    const cutoff = Date.now() - sync.versionsDays * DAY_MS
    return all.filter((v, i) => v.current || (all[i - 1]?.at ?? Infinity) >= cutoff)
  }

  private restore({ id, path, version, to }: MethodParams<'folders.restore'>): {
    version: string
    path: string
  } {
    if (to !== undefined && !to.startsWith('/')) {
      throw new ApiError('BAD_INPUT', `the destination must be an absolute path: ${to}`)
    }
    const { summary, sync } = this.syncOf(id)
    if (to !== undefined && (to === summary.path || to.startsWith(summary.path + '/'))) {
      throw new ApiError(
        'BAD_INPUT',
        'restore into the folder without --to; --to is for a copy outside it',
      )
    }
    const key = fakeKey(path)
    const kept = this.keptVersions(sync, key)
    const current = kept.find((v) => v.current)
    const pick = version
      ? kept.find((v) => v.id === version)
      : kept.find(
          (v) => !v.current && v.kind !== 'deleted' && v.kind !== 'dir' && v.size !== current?.size,
        )
    if (!pick) {
      throw new ApiError(
        'NOT_FOUND',
        version
          ? `no kept version ${version} of ${key} (see \`spare versions\`)`
          : `${key} has no earlier version to restore`,
      )
    }
    if (pick.kind === 'deleted' || pick.kind === 'dir') {
      throw new ApiError(
        'NOT_FOUND',
        `version ${pick.id} of ${key} is a ${pick.kind === 'dir' ? 'folder' : 'deletion'}; it has no content`,
      )
    }
    if (to !== undefined) return { version: pick.id, path: to }
    // Into the folder: the restored content becomes a new change by this device.
    const own = sync.members.find((m) => m.you)?.device ?? '000000000000'
    const now = Date.now()
    const restored: Version = {
      ...pick,
      id: nextVersionId(sync, own),
      at: now,
      mtime: now,
      device: own,
      current: true,
    }
    sync.versions[key] = [
      restored,
      ...(sync.versions[key] ?? []).map((v) => ({ ...v, current: false })),
    ]
    const f = this.need(id)
    f.summary = { ...f.summary, version: f.summary.version + 1 }
    this.changed(id)
    return { version: pick.id, path: summary.path + key }
  }

  private configure({
    id,
    versionsDays,
    hostsWanted,
  }: MethodParams<'folders.configure'>): FolderSummary {
    const { sync } = this.syncOf(id)
    if (versionsDays !== undefined) sync.versionsDays = versionsDays
    if (hostsWanted !== undefined) {
      const f = this.need(id)
      f.summary = { ...f.summary, hostsWanted }
    }
    return this.changed(id)
  }

  /**
   * What donate.get answers: limits, usage, the cap of each disk rule, the folders kept, the pause
   * and whether donor jobs may run now.
   */
  donateStatus(): DonateStatus {
    const { limits, fs, hosting, pause, cpu } = this.donate
    const usedBytes = hosting.reduce((n, h) => n + h.bytes, 0)
    const { blockedBy, reason } = fakeCpuBlock(limits, pause, cpu)
    return {
      limits: { ...limits },
      usedBytes,
      fs: { ...fs },
      disk: fakeDiskBudget(limits, usedBytes, fs),
      hosting: hosting.map((h) => ({ ...h, overAgreed: h.bytes >= h.agreedBytes })),
      pause: pause ? { ...pause } : null,
      cpu: {
        blockedBy,
        reason,
        usedPercent: cpu.usedPercent,
        otherPercent: cpu.otherPercent,
        idleMs: cpu.idleMs,
        onBattery: cpu.onBattery,
        probe: cpu.probe,
        machineCores: cpu.machineCores,
        running: cpu.running,
        queued: cpu.queued,
      },
    }
  }

  /** What the engine does: pauses donating (for `minutes`, or until resumed) and says so. */
  private pauseDonating(minutes: number | undefined): DonateStatus {
    this.donate.pause = { until: minutes === undefined ? null : Date.now() + minutes * 60_000 }
    return this.donateChanged()
  }

  private resumeDonating(): DonateStatus {
    this.donate.pause = null
    return this.donateChanged()
  }

  private donateChanged(): DonateStatus {
    const status = this.donateStatus()
    this.emit('donate.updated', status)
    return status
  }

  /**
   * What the engine does: a rate must be more than 0 (its own schema refuses 0 after the
   * contract's), the change is merged into the limits, and when the budget drops below the usage
   * whole hosted folders are evicted (least recently needed, then largest, first) until it fits.
   */
  private setDonate(change: MethodParams<'donate.set'>): DonateStatus {
    for (const key of ['upBytesPerSec', 'downBytesPerSec'] as const) {
      if (change[key] === 0) {
        throw new ApiError('INTERNAL', `${key}: Too small: expected number to be >0`)
      }
    }
    if (typeof change.schedule === 'string') fakeCheckSchedule(change.schedule)
    this.donate.limits = { ...this.donate.limits, ...change }
    let used = this.donate.hosting.reduce((n, h) => n + h.bytes, 0)
    const { budget } = fakeDiskBudget(this.donate.limits, used, this.donate.fs)
    if (used > budget) {
      const order = [...this.donate.hosting].sort(
        (a, b) =>
          a.lastNeededAt - b.lastNeededAt ||
          b.bytes - a.bytes ||
          (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0),
      )
      const evicted = new Set<string>()
      for (const h of order) {
        if (used <= budget) break
        evicted.add(h.folder)
        used -= h.bytes
        this.donate.fs = { ...this.donate.fs, free: this.donate.fs.free + h.bytes }
      }
      this.donate.hosting = this.donate.hosting.filter((h) => !evicted.has(h.folder))
    }
    return this.donateChanged()
  }

  /** What ledger.get answers: totals over the valid receipts, the 20 newest, the strikes. */
  ownLedger(): Ledger {
    const { key, identity, receipts, strikes } = this.ledger
    const totals = ledgerTotals(identity, receipts)
    return {
      key,
      identity,
      given: totals.given,
      received: totals.received,
      balance: totals.given - totals.received,
      receipts: receipts.length,
      recent: [...receipts].reverse().slice(0, RECENT_RECEIPTS),
      strikes: { ...strikes },
    }
  }

  /** Makes another node's ledger reachable for ledger.verify; returns its key. */
  addRemoteLedger(ledger: Partial<FakeRemoteLedger> & { key?: string } = {}): string {
    const key = ledger.key ?? hex(64)
    this.remoteLedgers.set(key, {
      identity: ledger.identity === undefined ? hex(64) : ledger.identity,
      receipts: ledger.receipts ?? [],
      errors: ledger.errors ?? [],
      ahead: ledger.ahead ?? 0,
    })
    return key
  }

  /**
   * What the engine does: fetches the ledger from whichever peer has it (UNAVAILABLE when none
   * does) and checks it: entry 0 and one entry per receipt or refused entry.
   */
  private verifyLedger(key: string): LedgerReport {
    const remote: FakeRemoteLedger | undefined =
      key === this.ledger.key
        ? { identity: this.ledger.identity, receipts: this.ledger.receipts, errors: [] }
        : this.remoteLedgers.get(key)
    if (!remote) throw new ApiError('UNAVAILABLE', 'no peer has that ledger right now')
    const totals = remote.identity
      ? ledgerTotals(remote.identity, remote.receipts)
      : { given: 0, received: 0 }
    const counted = remote.identity ? remote.receipts : []
    return {
      identity: remote.identity,
      key,
      entries: 1 + remote.receipts.length + remote.errors.length + (remote.ahead ?? 0),
      valid: remote.errors.length === 0 && remote.identity !== null,
      errors: remote.errors,
      given: totals.given,
      received: totals.received,
      balance: totals.given - totals.received,
      receiptCount: counted.length,
      ahead: remote.ahead ?? 0,
      receipts: [...counted].reverse().slice(0, REPORT_RECEIPTS),
    }
  }

  /**
   * What the engine does: answers with the node's status and emits folder.updated for every folder
   * whose state changed (paused, unless in error; back to idle on resume) and node.updated. The
   * status and folders come from the test's node.status and folders.list handlers when it has them.
   */
  private async setPaused(paused: boolean): Promise<NodeStatus> {
    const changed = paused !== this.paused
    this.paused = paused
    const statusHandler = this.handlers['node.status']
    const status: NodeStatus = statusHandler
      ? { ...(await statusHandler({})), paused }
      : nodeStatus({ paused })
    const listHandler = this.handlers['folders.list']
    if (changed) {
      const list = listHandler
        ? await listHandler({})
        : [...this.folders.keys()].map((id) => this.summaryOf(id))
      for (const f of list) {
        if (f.state === 'error') continue
        this.emit('folder.updated', { ...f, state: paused ? 'paused' : 'idle' })
      }
    }
    this.emit('node.updated', status)
    return status
  }

  /**
   * What the engine does: rejects a value that is not public, local or HOST:PORT[,HOST:PORT...]
   * with BAD_INPUT, otherwise switches, answers with the node's status and emits node.updated.
   */
  private async setNetwork(value: string): Promise<NodeStatus> {
    const network = parseFakeNetwork(value)
    this.network = network
    const statusHandler = this.handlers['node.status']
    const status: NodeStatus = statusHandler
      ? { ...(await statusHandler({})), network }
      : nodeStatus({ paused: this.paused, network })
    this.emit('node.updated', status)
    return status
  }

  /** Calls of one method, with their params. */
  callsOf(method: MethodName): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params)
  }

  emit<E extends EventName>(event: E, data: EventPayload<E>): void {
    for (const listener of [...this.listeners]) listener(event, data)
  }

  get listenerCount(): number {
    return this.listeners.size
  }
}

/** The next position in device `own`'s log, as a version id. */
function nextVersionId(sync: FakeSyncState, own: string): string {
  const positions = Object.values(sync.versions)
    .flat()
    .filter((v) => v.id.startsWith(own + '.'))
    .map((v) => Number(v.id.slice(own.length + 1)))
  return `${own}.${Math.max(0, ...positions) + 1}`
}

/** The engine's disk budget (BOINC's rule): the smallest cap of the disk limits that are set. */
function fakeDiskBudget(
  limits: DonateStatus['limits'],
  used: number,
  fs: { total: number; free: number },
): DonateStatus['disk'] {
  const byRule = {
    disk: limits.diskBytes,
    percent: limits.diskPercent === null ? null : Math.floor((fs.total * limits.diskPercent) / 100),
    leaveFree:
      limits.leaveFreeBytes === null ? null : used + Math.max(0, fs.free - limits.leaveFreeBytes),
  }
  let budget = 0
  let binding: DonateStatus['disk']['binding'] = 'none'
  for (const rule of ['disk', 'percent', 'leaveFree'] as const) {
    const cap = byRule[rule]
    if (cap === null) continue
    if (binding === 'none' || cap < budget) {
      budget = cap
      binding = rule
    }
  }
  return { budget, byRule, binding }
}

/**
 * A receipt's credit in byte-hours: bytes × hours kept for storage, bytes for served, CPU ms ×
 * 2·10^5 for compute (1 CPU-second is 200 MB·h, main/engine/ledger/receipt.ts).
 */
export function receiptValue(r: SignedReceipt): number {
  const b = r.body
  if (b.kind === 'compute') return b.cpuMs * 2e5
  return b.kind === 'served' ? b.bytes : (b.bytes * (b.to - b.from)) / HOUR_MS
}

const WEEKDAYS = '(?:mon|tue|wed|thu|fri|sat|sun)'
const DAYS = `${WEEKDAYS}(?:-${WEEKDAYS})?(?:,${WEEKDAYS}(?:-${WEEKDAYS})?)*`
const SPAN = '(?:[01]\\d|2[0-4]):[0-5]\\d-(?:[01]\\d|2[0-4]):[0-5]\\d'
const SCHEDULE_RULE = new RegExp(`^(?:${DAYS}\\s+)?${SPAN}$`, 'i')

/**
 * The engine's schedule grammar (main/engine/limits/schedule.ts), simplified: "[DAYS ]HH:MM-HH:MM"
 * rules separated by ";"; refused as donate.set refuses it, naming the schedule.
 */
function fakeCheckSchedule(schedule: string): void {
  for (const rule of schedule.split(';').map((r) => r.trim())) {
    if (!SCHEDULE_RULE.test(rule)) {
      throw new ApiError(
        'BAD_INPUT',
        `schedule: Invalid schedule '${rule}': not DAYS HH:MM-HH:MM (for example 'mon-fri 18:00-08:00; sat,sun 00:00-24:00')`,
      )
    }
  }
}

/** Why donor jobs may not run, in the engine's order, and the sentence donate.get gives. */
function fakeCpuBlock(
  limits: DonateStatus['limits'],
  pause: DonateStatus['pause'],
  cpu: FakeCpuReadings,
): { blockedBy: CpuBlock | null; reason: string } {
  if (!limits.cpuPercent) {
    return { blockedBy: 'off', reason: 'No CPU is donated: set a share of CPU time to donate.' }
  }
  if (pause) {
    return {
      blockedBy: 'paused',
      reason: pause.until === null ? 'Donating is paused until resumed.' : 'Donating is snoozed.',
    }
  }
  if (limits.schedule !== null && !cpu.inSchedule) {
    return { blockedBy: 'schedule', reason: `Outside the schedule (${limits.schedule}).` }
  }
  if (cpu.onBattery && !limits.allowOnBattery) {
    return { blockedBy: 'battery', reason: 'On battery power: jobs wait for mains power.' }
  }
  if (limits.onlyIdleMs !== null && cpu.idleMs !== null && cpu.idleMs < limits.onlyIdleMs) {
    return { blockedBy: 'in-use', reason: 'The computer is in use: jobs wait until it is idle.' }
  }
  const above = limits.suspendAboveOtherPercent
  if (above !== null && cpu.otherPercent !== null && cpu.otherPercent > above) {
    return {
      blockedBy: 'busy',
      reason: `Other programs use ${cpu.otherPercent} % of the CPU, more than ${above} %.`,
    }
  }
  return {
    blockedBy: null,
    reason: `Jobs may use ${limits.cpuPercent} % of CPU time on ${limits.cpuCores} ${limits.cpuCores === 1 ? 'core' : 'cores'}.`,
  }
}

/** Credit given (as host) and received (as owner) by `identity` over `receipts`. */
function ledgerTotals(
  identity: string,
  receipts: SignedReceipt[],
): { given: number; received: number } {
  let given = 0
  let received = 0
  for (const r of receipts) {
    if (r.body.host === identity) given += receiptValue(r)
    else if (r.body.owner === identity) received += receiptValue(r)
  }
  return { given, received }
}

let hexSeq = 0
/** A distinct lowercase hex string of `length` characters. */
export function hex(length: number): string {
  hexSeq++
  const unit = hexSeq.toString(16).padStart(4, '0') + 'f'
  return unit.repeat(Math.ceil(length / unit.length)).slice(0, length)
}

/** A path as a user types it ('a/b', '/a/b', './a/b') → the folder's key ('/a/b'), as the engine does. */
function fakeKey(file: string): string {
  const parts = file
    .replace(/\\/g, '/')
    .split('/')
    .filter((p) => p !== '' && p !== '.')
  if (parts.length === 0 || parts.includes('..')) {
    throw new ApiError('BAD_INPUT', `not a path inside the folder: ${file}`)
  }
  return '/' + parts.join('/')
}

/** The engine's network parsing, simplified: enough to tell a valid value from a malformed one. */
function parseFakeNetwork(value: string): NodeStatus['network'] {
  const v = value.trim()
  if (v === 'public') return { mode: 'public', bootstrap: [] }
  if (v === 'local') return { mode: 'local', bootstrap: ['127.0.0.1:49737'] }
  const bootstrap = v.split(',').map((part) => part.trim())
  for (const item of bootstrap) {
    const m = /^([a-zA-Z0-9.-]+):(\d{1,5})$/.exec(item)
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ApiError(
        'BAD_INPUT',
        `"${item}" is not HOST:PORT (the network is public, local or HOST:PORT[,HOST:PORT...])`,
      )
    }
  }
  return { mode: 'custom', bootstrap }
}

/** A connection whose state a test sets by hand. */
export class FakeConnection implements ConnectionSource {
  private state: ConnectionState = OPEN_STATE
  private readonly listeners = new Set<() => void>()
  readonly retryNow = vi.fn()
  getState = () => this.state
  subscribe = (listener: () => void) => {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }
  set(patch: Partial<ConnectionState>): void {
    this.state = { ...this.state, ...patch }
    for (const l of [...this.listeners]) l()
  }
}

export interface RenderOptions {
  node?: FakeNode
  connection?: FakeConnection
  pickFolder?: (() => Promise<string | null>) | null
  shell?: 'app' | 'web'
}

export function renderWithSpare(
  ui: ReactElement,
  options: RenderOptions = {},
): RenderResult & { node: FakeNode; connection: FakeConnection; env: SpareEnvironment } {
  const node = options.node ?? new FakeNode()
  const connection = options.connection ?? new FakeConnection()
  const env: SpareEnvironment = {
    client: node.client,
    connection,
    pickFolder: options.pickFolder ?? null,
    shell: options.shell ?? 'web',
  }
  const result = render(<SpareProvider env={env}>{ui}</SpareProvider>)
  return { ...result, node, connection, env }
}

/** A promise and its settle functions, to hold a call open. */
export function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

let seq = 0
export function folder(overrides: Partial<FolderSummary> = {}): FolderSummary {
  seq++
  return {
    id: seq.toString(16).padStart(16, '0'),
    name: `Folder ${seq}`,
    path: `/home/ada/folder-${seq}`,
    role: 'owner',
    kind: 'publish',
    conflicts: 0,
    problems: [],
    members: 0,
    waitingForAccept: false,
    versionsDays: null,
    hosts: [],
    hostsWanted: 0,
    scan: null,
    state: 'idle',
    error: null,
    files: 12,
    bytes: 3_400_000,
    localBytes: 3_400_000,
    peers: 1,
    version: 7,
    localChanges: [],
    refused: [],
    lastSyncAt: null,
    ...overrides,
  }
}

export function nodeStatus(overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    nodeId: 'b1f0c9a4e2d7b3f85a6c1e0d9f4b2a7c3e8d5f1a0b6c9e2d4f7a8b1c3e5d7f90',
    version: '0.1.0',
    network: { mode: 'local', bootstrap: ['127.0.0.1:49737'] },
    peers: 2,
    folders: 3,
    paused: false,
    uptime: 3_725,
    dataDir: '/home/ada/.local/share/spare',
    ...overrides,
  }
}

export function peer(overrides: Partial<Peer> = {}): Peer {
  seq++
  return {
    id: `peer${seq.toString(16).padStart(60, 'a')}`,
    folders: [],
    connectedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
    bytesUp: 1_500_000,
    bytesDown: 42_000,
    ...overrides,
  }
}

/** A writer of a two-way folder. */
export function member(overrides: Partial<Member> = {}): Member {
  seq++
  const key = seq.toString(16).padStart(4, '0').repeat(16)
  return {
    device: key.slice(0, 12),
    key,
    label: `device-${seq}`,
    removed: false,
    you: false,
    addedBy: null,
    ...overrides,
  }
}

/** One kept version of a path in a two-way folder. */
export function version(overrides: Partial<Version> = {}): Version {
  seq++
  const at = Date.now() - seq * 60_000
  return {
    id: `${'a1b2c3d4e5f6'}.${seq}`,
    kind: 'file',
    size: 1_200,
    mtime: at,
    at,
    device: 'a1b2c3d4e5f6',
    current: false,
    ...overrides,
  }
}

/** A host keeping one of this device's two-way folders (FolderSummary.hosts). */
export function folderHost(overrides: Partial<FolderHost> = {}): FolderHost {
  return {
    host: hex(64),
    bytes: 1_000_000_000,
    agreedBytes: 2_000_000_000,
    connected: true,
    since: Date.now() - 3 * DAY_MS,
    lastAudit: { at: Date.now() - 10 * 60_000, ok: true, reason: null },
    auditsPassed: 12,
    ...overrides,
  }
}

/** A folder this node keeps for another node (donate.get's hosting). */
export function hosted(overrides: Partial<FakeHosted> = {}): FakeHosted {
  return {
    folder: hex(16),
    owner: hex(64),
    cores: 2,
    bytes: 4_000_000_000,
    agreedBytes: 10_000_000_000,
    since: Date.now() - 7 * DAY_MS,
    lastNeededAt: Date.now() - 2 * HOUR_MS,
    ...overrides,
  }
}

type StorageReceiptBody = Extract<SignedReceipt['body'], { kind: 'storage' | 'served' }>
type ComputeReceiptBody = Extract<SignedReceipt['body'], { kind: 'compute' }>

/** A storage (or served) receipt signed by both sides; `to` and `from` default to the last hour. */
export function receipt(overrides: Partial<StorageReceiptBody> = {}): SignedReceipt {
  const to = overrides.to ?? Date.now() - 60_000
  return {
    body: {
      v: 1,
      kind: 'storage',
      host: hex(64),
      owner: hex(64),
      folder: hex(16),
      bytes: 1_000_000_000,
      from: to - HOUR_MS,
      to,
      audits: 3,
      nonce: hex(32),
      ...overrides,
    },
    hostSig: hex(128),
    ownerSig: hex(128),
  }
}

/** A compute receipt: CPU time `host` (the donor) gave `owner` (the submitter) for a job. */
export function computeReceipt(overrides: Partial<ComputeReceiptBody> = {}): SignedReceipt {
  const to = overrides.to ?? Date.now() - 60_000
  return {
    body: {
      v: 1,
      kind: 'compute',
      host: hex(64),
      owner: hex(64),
      job: hex(64),
      result: hex(64),
      cpuMs: 125_000,
      from: to - 5 * 60_000,
      to,
      nonce: hex(32),
      ...overrides,
    },
    hostSig: hex(128),
    ownerSig: hex(128),
  }
}

/** A job this node submitted (compute.jobs' `submitted`), done by three agreeing donors. */
export function job(overrides: Partial<JobSummary> = {}): JobSummary {
  const submittedAt = Date.now() - 20 * 60_000
  const resultHash = hex(64)
  return {
    id: hex(64),
    name: 'primes.wasm',
    state: 'done',
    replicas: 3,
    quorum: 2,
    moduleBytes: 40_000,
    inputBytes: 1_200,
    submittedAt,
    finishedAt: submittedAt + 5 * 60_000,
    donors: [1, 2, 3].map(() => ({
      identity: hex(64),
      state: 'agreed' as const,
      resultHash,
      cpuMs: 90_000,
      error: null,
      credited: true,
    })),
    resultHash,
    outputBytes: 64,
    error: null,
    ...overrides,
  }
}

/** A job this node runs (or ran) for someone else (compute.jobs' `run`). */
export function run(overrides: Partial<RunSummary> = {}): RunSummary {
  const queuedAt = Date.now() - 10 * 60_000
  return {
    id: hex(64),
    submitter: hex(64),
    state: 'done',
    queuedAt,
    startedAt: queuedAt + 1_000,
    finishedAt: queuedAt + 3 * 60_000,
    cpuMs: 150_000,
    error: null,
    credited: true,
    ...overrides,
  }
}
