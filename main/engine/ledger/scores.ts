// Other nodes' standing, from their ledgers: fetched by key over whatever swarm replicates this
// node's Corestore, verified, and cached. Used to serve peers with a better balance first (give to
// get) and to choose among hosts and donors.
import type Corestore from 'corestore'
import { verifyLedger, type LedgerReport } from './ledger.ts'
import { waitAtMost } from '../util/wait.ts'

/** How long a fetched report is trusted before it is fetched again. */
export const SCORE_TTL_MS = 10 * 60 * 1000
/** How many reports are kept (the least recently fetched go first). */
export const MAX_CACHED = 2048
/** How long balance() waits for a ledger being checked before it answers from what it knows. */
export const BALANCE_WAIT_MS = 15_000

export class LedgerScores {
  private readonly cache = new Map<string, { at: number; report: LedgerReport | null }>()
  private readonly pending = new Map<string, Promise<LedgerReport | null>>()

  constructor(
    private readonly store: Corestore,
    private readonly opts: {
      ttlMs?: number
      waitMs?: number
      maxCached?: number
      now?: () => number
    } = {},
  ) {}

  private now(): number {
    return this.opts.now?.() ?? Date.now()
  }

  /** The cached report of `identity`'s ledger, if one was fetched (null: fetched, unreadable). */
  cached(identity: string): LedgerReport | null | undefined {
    return this.cache.get(identity)?.report
  }

  /**
   * `identity`'s verified ledger at `ledgerKey`, or null when no peer could serve it. A ledger
   * that belongs to someone else is reported invalid. A report is kept for the TTL; within it the
   * ledger is fetched again only when it has grown (new receipts change the balance), which is
   * checked for at most two seconds.
   */
  async report(identity: string, ledgerKey: string): Promise<LedgerReport | null> {
    const running = this.pending.get(identity)
    if (running) return running
    const p = this.fetch(identity, ledgerKey).finally(() => this.pending.delete(identity))
    this.pending.set(identity, p)
    return p
  }

  /**
   * The balance to rank `identity` by: its ledger's balance; 0 for a ledger nobody could fetch (a
   * newcomer's); -Infinity for a forged or foreign one. The peer decides how fast its ledger
   * comes, and callers decide other peers' requests after this one's: a check still running after
   * `waitMs` goes on for the cache, and the answer is the last report's (0 without one).
   */
  async balance(identity: string, ledgerKey: string): Promise<number> {
    const checking = this.report(identity, ledgerKey).catch(() => null)
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), this.opts.waitMs ?? BALANCE_WAIT_MS)
    })
    const report = await Promise.race([checking, late]).finally(() => clearTimeout(timer))
    return score(report === 'late' ? this.cached(identity) : report)
  }

  private async fetch(identity: string, ledgerKey: string): Promise<LedgerReport | null> {
    const cached = this.cache.get(identity)
    const fresh = cached !== undefined && this.now() - cached.at < (this.opts.ttlMs ?? SCORE_TTL_MS)
    if (fresh && !cached.report) return null
    const core = this.store.get({ key: Buffer.from(ledgerKey, 'hex') })
    let report: LedgerReport | null
    try {
      await core.ready()
      if (fresh && cached.report) {
        await waitAtMost(
          core.update({ wait: true }).catch(() => false),
          2000,
        )
        if (core.length <= cached.report.entries) return cached.report
      } else {
        await core.update({ wait: true }).catch(() => false)
      }
      report = await verifyLedger(core)
      if (report.identity !== identity) report = { ...report, valid: false }
    } catch {
      report = null
    } finally {
      await core.close().catch(() => {})
    }
    // Newest last (a Map keeps insertion order), so the oldest are the first dropped: each peer
    // with a new identity adds one, and identities cost a stranger nothing.
    this.cache.delete(identity)
    this.cache.set(identity, { at: this.now(), report })
    const max = Math.max(1, this.opts.maxCached ?? MAX_CACHED)
    for (const old of this.cache.keys()) {
      if (this.cache.size <= max) break
      this.cache.delete(old)
    }
    return report
  }
}

function score(report: LedgerReport | null | undefined): number {
  if (!report) return 0
  return report.valid ? report.balance : -Infinity
}
