// The one governor for donated resources: how much disk the cores a node hosts for others may
// use, and how fast hosting traffic may flow. Every hosting path asks it; nothing else decides.
//
// Disk (BOINC's rule). A node donates disk only when at least one disk limit is set: donating is
// opt-in, and with no disk limit the budget is 0. Each limit that is set caps what hosted data
// may use, and the smallest cap wins:
//   disk       diskBytes                         "at most 50 GB"
//   percent    total × diskPercent / 100         "at most 20% of the disk"
//   leaveFree  used + max(0, free − leaveFree)   "always leave 10 GB free"
// leaveFree lets hosted data grow only while the disk keeps that much free. When the disk is
// already fuller than that (the user's own files grew), the cap is the current usage: hosting
// stops growing, but leaveFree alone never evicts. Equal caps name the first of disk, percent,
// leaveFree as binding.
//
// Usage never runs past the budget by more than one batch of blocks in flight: a hosting path
// asks canAccept(used, batchBytes) before it requests a batch, and requests only when it fits.
//
// Eviction (planEviction). When the budget drops below usage (a lower limit, a fuller disk
// under a percent limit), whole cores are evicted until usage fits, in this order:
//   1. lowest priority first,
//   2. then least recently needed (oldest lastNeededAt) first,
//   3. then largest first (frees the most for the fewest re-replications),
//   4. then by id, so the plan is deterministic.
// It stops as soon as usage ≤ budget; cores already within the budget are never touched.
//
// Rates. Two token buckets, `up` (bytes this node serves) and `down` (bytes it fetches for
// hosting), shared by every hosting connection (see throttle.ts); setLimits() retunes them in
// place, so waiting transfers pick up the new rate.
import { promises as fs } from 'node:fs'
import { z } from 'zod'
import { parseSchedule } from './schedule.ts'
import { TokenBucket } from './throttle.ts'
import { MAX_BYTES } from './units.ts'

const bytes = z.number().int().min(0).max(MAX_BYTES)
const rate = z.number().positive().max(MAX_BYTES)

export const DonateLimitsSchema = z
  .object({
    /** Hosted data may use at most this many bytes. */
    diskBytes: bytes.nullable().default(null),
    /** Hosted data may use at most this percentage of the disk's size (0 < p ≤ 100). */
    diskPercent: z.number().gt(0).max(100).nullable().default(null),
    /** Hosted data grows only while the disk keeps at least this many bytes free. */
    leaveFreeBytes: bytes.nullable().default(null),
    /** Upload rate of hosting traffic in bytes per second. */
    upBytesPerSec: rate.nullable().default(null),
    /** Download rate of hosting traffic in bytes per second. */
    downBytesPerSec: rate.nullable().default(null),
    // CPU (limits/cpu.ts applies these). Donating CPU is opt-in: null or 0 runs nothing.
    /** % of CPU time each donor job may use: a duty cycle, like BOINC's. */
    cpuPercent: z.number().min(0).max(100).nullable().default(null),
    /** Donor jobs at once, one core each. One by default: a fresh install never takes them all. */
    cpuCores: z.number().int().min(1).max(1024).default(1),
    /** Run jobs only after this long without user input (ms); null: also while in use. */
    onlyIdleMs: z
      .number()
      .int()
      .min(0)
      .max(7 * 24 * 3600 * 1000)
      .nullable()
      .default(null),
    /** Suspend jobs while other programs use more than this % of the machine (BOINC: 25). */
    suspendAboveOtherPercent: z.number().min(0).max(100).nullable().default(25),
    /** Run on battery power too. Off by default, as in BOINC. */
    allowOnBattery: z.boolean().default(false),
    /** When jobs may run (see limits/schedule.ts); null: at any hour. */
    schedule: z
      .string()
      .max(500)
      .nullable()
      .superRefine((text, ctx) => {
        if (text === null) return
        try {
          parseSchedule(text)
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message })
        }
      })
      .default(null),
    /** Memory one job may use (bytes). */
    jobMemoryBytes: z
      .number()
      .int()
      .min(16 * 1024 * 1024)
      .max(64 * 1024 ** 3)
      .default(256 * 1024 * 1024),
    /** Wall time one job may take on this donor (ms). */
    jobWallMs: z
      .number()
      .int()
      .min(1000)
      .max(24 * 3600 * 1000)
      .default(10 * 60 * 1000),
  })
  .strict()
/** null means no limit of that kind. */
export type DonateLimits = z.infer<typeof DonateLimitsSchema>

/** No limits at all: no disk is donated (opt-in) and traffic is not throttled. */
export function noLimits(): DonateLimits {
  return DonateLimitsSchema.parse({})
}

export interface FsStats {
  /** Size of the file system in bytes. */
  total: number
  /** Bytes available to this (unprivileged) user. */
  free: number
}

export type StatFs = (dir: string) => Promise<FsStats>

export type DiskRule = 'disk' | 'percent' | 'leaveFree'

export interface DiskBudget {
  /** Bytes hosted data may use: the smallest set cap, 0 when none is set. */
  budget: number
  /** The cap each rule gives, null for a rule that is not set. */
  byRule: Record<DiskRule, number | null>
  /** The rule whose cap is the budget; 'none' when no disk limit is set. */
  binding: DiskRule | 'none'
}

/** BOINC's rule: the smallest cap of the disk limits that are set (see the top of the file). */
export function diskBudget(limits: DonateLimits, used: number, fsStats: FsStats): DiskBudget {
  const byRule: Record<DiskRule, number | null> = {
    disk: limits.diskBytes,
    percent:
      limits.diskPercent === null ? null : Math.floor((fsStats.total * limits.diskPercent) / 100),
    leaveFree:
      limits.leaveFreeBytes === null
        ? null
        : used + Math.max(0, fsStats.free - limits.leaveFreeBytes),
  }
  let budget = 0
  let binding: DiskBudget['binding'] = 'none'
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

/** The default statfs: the file system holding `dir` (which must exist). */
export async function statfs(dir: string): Promise<FsStats> {
  const s = await fs.statfs(dir)
  return { total: s.blocks * s.bsize, free: s.bavail * s.bsize }
}

export interface GovernorOptions {
  /** A directory on the disk that hosted data lives on (the data directory). */
  dir: string
  limits?: DonateLimits
  /** Injectable for tests; defaults to fs.promises.statfs. */
  statfs?: StatFs
}

export interface DonateStatus {
  limits: DonateLimits
  usedBytes: number
  fs: FsStats
  disk: DiskBudget
}

export class Governor {
  /** Paces bytes this node uploads for hosting. */
  readonly up: TokenBucket
  /** Paces bytes this node downloads for hosting. */
  readonly down: TokenBucket
  private current: DonateLimits
  private readonly dir: string
  private readonly statfs: StatFs

  constructor(opts: GovernorOptions) {
    this.dir = opts.dir
    this.statfs = opts.statfs ?? statfs
    this.current = DonateLimitsSchema.parse(opts.limits ?? {})
    this.up = new TokenBucket(this.current.upBytesPerSec)
    this.down = new TokenBucket(this.current.downBytesPerSec)
  }

  get limits(): DonateLimits {
    return { ...this.current }
  }

  /** Validates and applies new limits; the rate buckets are retuned in place. */
  setLimits(limits: DonateLimits): void {
    this.current = DonateLimitsSchema.parse(limits)
    this.up.setRate(this.current.upBytesPerSec)
    this.down.setRate(this.current.downBytesPerSec)
  }

  /** The disk budget for hosted data that currently uses `usedBytes`. */
  async budget(usedBytes: number): Promise<DiskBudget> {
    return diskBudget(this.current, usedBytes, await this.statfs(this.dir))
  }

  /** Whether a batch of `extraBytes` more may be fetched: used + extra stays within the budget. */
  async canAccept(usedBytes: number, extraBytes: number): Promise<boolean> {
    const { budget } = await this.budget(usedBytes)
    return usedBytes + extraBytes <= budget
  }

  /** Limits, usage and the cap of each rule: what `spare donate` shows. */
  async status(usedBytes: number): Promise<DonateStatus> {
    const fsStats = await this.statfs(this.dir)
    return {
      limits: this.limits,
      usedBytes,
      fs: fsStats,
      disk: diskBudget(this.current, usedBytes, fsStats),
    }
  }

  /** Releases every transfer waiting on the rate buckets. */
  destroy(): void {
    this.up.destroy()
    this.down.destroy()
  }
}

export interface HostedItem {
  id: string
  bytes: number
  /** When a peer last needed this core (ms since the epoch). */
  lastNeededAt: number
  /** Higher is more important to keep. */
  priority: number
}

/**
 * The cores to evict so that usage fits the budget, in eviction order (see the policy at the top
 * of the file). Empty when usage already fits; every id when even evicting all does not suffice.
 */
export function planEviction(items: HostedItem[], usedBytes: number, budget: number): string[] {
  if (usedBytes <= budget) return []
  const order = [...items].sort(
    (a, b) =>
      a.priority - b.priority ||
      a.lastNeededAt - b.lastNeededAt ||
      b.bytes - a.bytes ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )
  const evict: string[] = []
  let used = usedBytes
  for (const item of order) {
    if (used <= budget) break
    evict.push(item.id)
    used -= item.bytes
  }
  return evict
}
