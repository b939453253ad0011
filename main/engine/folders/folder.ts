// What owner and reader folders share: the drive, the swarm topic, the summary the API reports,
// and throttled change events.
import { EventEmitter } from 'node:events'
import type Corestore from 'corestore'
import type Hyperdrive from 'hyperdrive'
import type { FolderState, FolderSummary, LocalChange } from '../../../shared/contract.ts'
import type { FolderRecord } from '../settings.ts'
import type { Logger } from '../logger.ts'
import type { Swarm } from '../net/swarm.ts'

export interface FolderContext {
  store: Corestore
  swarm: Swarm
  logger: Logger
  /** Per-folder state directory under the data directory. */
  stateDir: string
  /** Blocks were deleted: the store looks for the disk they held (StoreReclaim). */
  reclaimSoon?: () => void
}

export const MAX_REFUSED = 100

export abstract class Folder extends EventEmitter {
  readonly record: FolderRecord
  protected readonly ctx: FolderContext
  protected readonly log: Logger
  drive: Hyperdrive | null = null
  state: FolderState = 'scanning'
  error: string | null = null
  /** A full scan's progress while it runs (see FolderSummary.scan); null otherwise. */
  protected scanProgress: { done: number; total: number } | null = null
  files = 0
  bytes = 0
  localBytes = 0
  lastSyncAt: Date | null = null
  refused: Array<{ path: string; reason: string }> = []
  protected closing = false
  /** Syncing paused node-wide: reported as the 'paused' state unless the folder is in error. */
  paused = false
  private updateTimer: NodeJS.Timeout | null = null

  constructor(record: FolderRecord, ctx: FolderContext) {
    super()
    this.record = record
    this.ctx = ctx
    this.log = ctx.logger.child({ folder: record.id })
  }

  get id(): string {
    return this.record.id
  }

  abstract open(): Promise<void>
  abstract close(): Promise<void>
  abstract get version(): number
  abstract localChanges(): LocalChange[]

  get peers(): number {
    return this.drive ? this.drive.core.peers.length : 0
  }

  /** True when the peer with this public key replicates this folder with us. */
  hasPeer(remotePublicKey: Buffer): boolean {
    return !!this.drive?.core.peers.some((cp) => cp.remotePublicKey.equals(remotePublicKey))
  }

  summary(): FolderSummary {
    return {
      id: this.record.id,
      name: this.record.name,
      path: this.record.path,
      role: this.record.role,
      state: this.paused && this.state !== 'error' ? 'paused' : this.state,
      error: this.error,
      files: this.files,
      bytes: this.bytes,
      localBytes: Math.min(this.localBytes, this.bytes),
      peers: this.peers,
      version: this.version,
      localChanges: this.localChanges(),
      refused: this.refused.slice(0, MAX_REFUSED),
      lastSyncAt: this.lastSyncAt ? this.lastSyncAt.toISOString() : null,
      kind: 'publish',
      conflicts: 0,
      problems: [],
      members: 0,
      waitingForAccept: false,
      versionsDays: null,
      hosts: [],
      hostsWanted: 0,
      scan: this.scanProgress ? { ...this.scanProgress } : null,
    }
  }

  protected setState(state: FolderState, error: string | null = null): void {
    if (this.state === state && this.error === error) return
    if (state === 'error') this.log.error({ error }, 'folder error')
    else this.log.info({ state }, 'folder state')
    this.state = state
    this.error = error
    this.changed(true)
  }

  /** Takes a path off the `refused` list. */
  protected unrefuse(path: string): void {
    const left = this.refused.filter((r) => r.path !== path)
    if (left.length === this.refused.length) return
    this.refused = left
    this.changed()
  }

  protected refuse(path: string, reason: string): void {
    this.log.warn({ path, reason }, 'refused an entry from the network')
    if (this.refused.some((r) => r.path === path && r.reason === reason)) return
    this.refused.unshift({ path, reason })
    if (this.refused.length > MAX_REFUSED) this.refused.length = MAX_REFUSED
    this.changed()
  }

  /** Emits 'update' at most every 250 ms (or at once when urgent). */
  protected changed(urgent = false): void {
    if (this.closing) return
    if (urgent) {
      if (this.updateTimer) clearTimeout(this.updateTimer)
      this.updateTimer = null
      this.emit('update')
      return
    }
    if (this.updateTimer) return
    this.updateTimer = setTimeout(() => {
      this.updateTimer = null
      if (!this.closing) this.emit('update')
    }, 250)
  }

  protected stopTimers(): void {
    if (this.updateTimer) clearTimeout(this.updateTimer)
    this.updateTimer = null
  }
}

export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code
  return code === 'ENOSPC' || code === 'EDQUOT'
}
