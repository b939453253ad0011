// The merged state of a two-way folder, computed from the members' logs and nothing else:
//
// - Membership: the creator's log, plus every log a member added ('add'), minus removals. A
//   removal names how much of the removed log is kept ('upTo'); its later ops are refused by
//   everyone. Removals are applied one at a time in a fixed order (author key, then index) and
//   only while their author is still a member, so mutual removals resolve the same everywhere.
// - Files: every valid 'file' op for a path is a version. Versions another version dominates (by
//   version vector) are history; the rest are the path's frontier. One frontier version is the
//   current one: a deterministic total order (a live version beats a deletion, then the later
//   mtime, then the device, then the content) picks it, so concurrent edits resolve the same way
//   on every device. Writers then record the resolution: a merge op (winner content, merged
//   vector) and a conflict copy of each losing content.
import {
  contentKey,
  deviceOf,
  type FileOp,
  type InitOp,
  type InviteOp,
  type Op,
  type RemoveOp,
  type AddOp,
} from './ops.ts'
import { compare, merge, vvKey, type VersionVector } from './vv.ts'
import { conflictName } from './conflict-name.ts'

export interface OpRef {
  writer: string
  seq: number
  op: FileOp
}

interface LogState {
  init: InitOp | null
  /** Membership ops with their index in the log. */
  membership: Array<{ seq: number; op: InviteOp | AddOp | RemoveOp }>
  /** Highest op counter this log used in any version vector (its own device's entry). */
  clock: number
}

export interface Member {
  key: string
  device: string
  /** Ops at this index and beyond are refused (Infinity while the member is not removed). */
  upTo: number
  removed: boolean
  label: string
  blobs: string | null
  addedBy: string | null
}

export interface ResolutionPlan {
  merge: FileOp
  copies: FileOp[]
}

export class SyncState {
  readonly root: string
  private readonly logs = new Map<string, LogState>()
  private readonly history = new Map<string, OpRef[]>()
  private membersCache: Map<string, Member> | null = null
  /** Paths whose frontier may have changed since the caller last drained them. */
  readonly dirty = new Set<string>()

  /**
   * `changed` hears of every path whose versions may have changed (null: every path), as
   * `dirty` records them, for callers that keep something per path up to date.
   */
  constructor(
    rootKey: string,
    private readonly changed: (path: string | null) => void = () => {},
  ) {
    this.root = rootKey
    this.logs.set(rootKey, { init: null, membership: [], clock: 0 })
  }

  knownLogs(): string[] {
    return [...this.logs.keys()]
  }

  hasLog(key: string): boolean {
    return this.logs.has(key)
  }

  /** Starts tracking a log (its ops count only once the log is a member). */
  addLog(key: string): void {
    if (!this.logs.has(key)) this.logs.set(key, { init: null, membership: [], clock: 0 })
  }

  /** Records op `seq` of log `writer`. Ops must be added in order per log. */
  apply(writer: string, seq: number, op: Op): void {
    const log = this.logs.get(writer)
    if (!log) throw new Error('apply to an unknown log')
    switch (op.t) {
      case 'init':
        if (seq === 0) {
          log.init = op
          // A member's label and blobs core come from its init op, which may arrive after the
          // op that added it.
          this.membersCache = null
        }
        break
      case 'file': {
        const own = op.vv[deviceOf(writer)] ?? 0
        if (own > log.clock) log.clock = own
        const ref = { writer, seq, op }
        const list = this.history.get(op.path)
        // Most paths have one version: a literal holds just it, where pushing onto [] reserves
        // room for 17 (152 bytes a path).
        if (list) list.push(ref)
        else this.history.set(op.path, [ref])
        this.dirty.add(op.path)
        this.changed(op.path)
        break
      }
      case 'invite':
      case 'add':
      case 'remove':
        log.membership.push({ seq, op })
        if (op.t === 'add') this.addLog(op.key)
        this.membersCache = null
        // A membership change can change which versions count anywhere.
        for (const p of this.history.keys()) this.dirty.add(p)
        this.changed(null)
        break
    }
  }

  /** The clock a device continues from: above every counter its own log ever used. */
  clockOf(writer: string): number {
    return this.logs.get(writer)?.clock ?? 0
  }

  members(): Map<string, Member> {
    if (this.membersCache) return this.membersCache
    const removals = new Map<string, number>()
    type Reached = { addedBy: string | null; seq: number }
    /** Who is a member given the removals so far (and `also`, when given). */
    const reach = (also?: RemoveOp): Map<string, Reached> => {
      const found = new Map<string, Reached>([[this.root, { addedBy: null, seq: 0 }]])
      const queue = [this.root]
      while (queue.length) {
        const key = queue.shift() as string
        let limit = removals.get(key) ?? Infinity
        if (also?.key === key) limit = Math.min(limit, also.upTo)
        for (const { seq, op } of this.logs.get(key)?.membership ?? []) {
          if (seq >= limit || op.t !== 'add' || found.has(op.key)) continue
          found.set(op.key, { addedBy: key, seq })
          queue.push(op.key)
        }
      }
      return found
    }
    let found = reach()
    type Removal = { author: string; seq: number; op: RemoveOp }
    const removes: Removal[] = []
    for (const key of found.keys()) {
      // One removal per author and target counts: its first.
      const targets = new Set<string>()
      for (const { seq, op } of this.logs.get(key)?.membership ?? []) {
        if (op.t !== 'remove' || targets.has(op.key)) continue
        targets.add(op.key)
        removes.push({ author: key, seq, op })
      }
    }
    removes.sort((a, b) => (a.author === b.author ? a.seq - b.seq : a.author < b.author ? -1 : 1))
    // A removal counts only while its author is a member and the removal comes before its
    // author's cut. Another removal not applied yet may still cut it off: one that cuts its
    // author before it, or an author that added its author before that add. Such a removal
    // waits for the ones that threaten it, so a removed writer's later removals never count (nor
    // those of writers it added after its cut), whatever order the keys sort in. Only a cycle
    // (mutual removals, each after the other's cut) falls back to the fixed order.
    //
    // A removal that would cut the add its own author's membership rests on (it removes a member
    // above its author, from before the add that led to the author) is made up: no member ever
    // read less of that log than the add that admitted it. It is refused.
    const cutsItsOwnAdd = (r: Removal): boolean => {
      for (let via = found.get(r.author); via?.addedBy; via = found.get(via.addedBy)) {
        // Another path may still lead to the author: only if none does.
        if (via.addedBy === r.op.key && r.op.upTo <= via.seq) return !reach(r.op).has(r.author)
      }
      return false
    }
    let pending = removes
    for (;;) {
      pending = pending.filter(
        (r) =>
          found.has(r.author) &&
          found.has(r.op.key) &&
          r.seq < (removals.get(r.author) ?? Infinity) &&
          !cutsItsOwnAdd(r),
      )
      const byTarget = new Map<string, Removal[]>()
      for (const r of pending) {
        const list = byTarget.get(r.op.key)
        if (list) list.push(r)
        else byTarget.set(r.op.key, [r])
      }
      const threatened = (r: Removal): boolean => {
        let key: string | null = r.author
        let seq = r.seq
        while (key !== null) {
          const cutAt = (byTarget.get(key) ?? []).some((o) => o !== r && o.op.upTo <= seq)
          if (cutAt) return true
          const via: Reached | undefined = found.get(key)
          if (!via) return false
          key = via.addedBy
          seq = via.seq
        }
        return false
      }
      const next = pending.find((r) => !threatened(r)) ?? pending[0]
      if (!next) break
      pending = pending.filter((r) => r !== next)
      removals.set(next.op.key, Math.min(next.op.upTo, removals.get(next.op.key) ?? Infinity))
      found = reach()
    }
    const out = new Map<string, Member>()
    for (const [key, { addedBy }] of [...found].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const init = this.logs.get(key)?.init ?? null
      const upTo = removals.get(key) ?? Infinity
      out.set(key, {
        key,
        device: deviceOf(key),
        upTo,
        removed: upTo !== Infinity,
        label: printable(init?.label ?? ''),
        blobs: init?.blobs ?? null,
        addedBy,
      })
    }
    this.membersCache = out
    return out
  }

  /** Invites recorded by members (public key → expiry), and the invites already used. */
  invites(): { open: Map<string, number>; used: Set<string> } {
    const open = new Map<string, number>()
    const used = new Set<string>()
    for (const m of this.members().values()) {
      for (const { seq, op } of this.logs.get(m.key)?.membership ?? []) {
        if (seq >= m.upTo) continue
        // A removed member's invites die with it: it may have kept their seeds to come back.
        if (op.t === 'invite' && !m.removed) open.set(op.pub, op.expires)
        if (op.t === 'add') used.add(op.invite)
      }
    }
    return { open, used }
  }

  isValid(ref: OpRef): boolean {
    const m = this.members().get(ref.writer)
    return !!m && ref.seq < m.upTo
  }

  paths(): IterableIterator<string> {
    return this.history.keys()
  }

  /** Every valid version of a path, oldest first by the time it was recorded. */
  versions(path: string): OpRef[] {
    return (this.history.get(path) ?? [])
      .filter((r) => this.isValid(r))
      .sort((a, b) => a.op.at - b.op.at || cmpRef(a, b))
  }

  /**
   * The path's current versions: valid, undominated, one per distinct vector. Versions with the
   * same vector are one version (two writers settling the same conflict write the same op);
   * should their content differ (no honest device writes that), the one that ranks first counts,
   * since no merge (the pointwise maximum) could ever dominate the other.
   */
  frontier(path: string): OpRef[] {
    const list = this.history.get(path)
    if (!list) return []
    // Most paths have one version: it is the frontier when valid (no vector keys, maps or sorts).
    if (list.length === 1) return this.isValid(list[0] as OpRef) ? [list[0] as OpRef] : []
    const valid = list.filter((r) => this.isValid(r))
    const max = valid.filter(
      (r) => !valid.some((o) => o !== r && compare(r.op.vv, o.op.vv) === 'before'),
    )
    const groups = new Map<string, OpRef>()
    for (const r of max) {
      const k = vvKey(r.op.vv)
      const prev = groups.get(k)
      const order = prev ? rank(r.op, prev.op) : 1
      if (!prev || order > 0 || (order === 0 && cmpRef(r, prev) < 0)) groups.set(k, r)
    }
    return [...groups.values()].sort((a, b) => rank(b.op, a.op))
  }

  /** The version that is current for a path (null when the path was never seen). */
  current(path: string): OpRef | null {
    const list = this.history.get(path)
    if (!list) return null
    if (list.length === 1) return this.isValid(list[0] as OpRef) ? (list[0] as OpRef) : null
    return this.frontier(path)[0] ?? null
  }

  /**
   * What a writer records to settle a path with concurrent versions: null when there is nothing
   * to settle. `now` is the recording time.
   */
  resolution(path: string, now: number): ResolutionPlan | null {
    const front = this.frontier(path)
    if (front.length < 2) return null
    const [win, ...losers] = front as [OpRef, ...OpRef[]]
    const mergedVv: VersionVector = merge(...front.map((r) => r.op.vv))
    const mergeOp: FileOp = { ...win.op, vv: mergedVv, at: now }
    const copies: FileOp[] = []
    const winKey = contentKey(win.op)
    const seen = new Set<string>()
    for (const l of losers) {
      if (l.op.kind !== 'file' && l.op.kind !== 'symlink') continue
      if (contentKey(l.op) === winKey) continue
      const name = conflictName(path, l.op.mtime, l.op.origin)
      if (seen.has(name) || this.history.has(name)) continue
      seen.add(name)
      copies.push({ ...l.op, path: name, at: now })
    }
    return { merge: mergeOp, copies }
  }
}

/**
 * A member's label as it may be shown: any member writes it, and `spare members` prints it to a
 * terminal, so control characters (escape sequences) are replaced, as paths refuse them.
 */
function printable(label: string): string {
  // eslint-disable-next-line no-control-regex
  return label.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd')
}

/** Orders versions: positive when `a` beats `b`. */
export function rank(a: FileOp, b: FileOp): number {
  const la = a.kind === 'deleted' ? 0 : 1
  const lb = b.kind === 'deleted' ? 0 : 1
  if (la !== lb) return la - lb
  if (a.mtime !== b.mtime) return a.mtime - b.mtime
  if (a.origin !== b.origin) return a.origin < b.origin ? -1 : 1
  const ca = contentKey(a)
  const cb = contentKey(b)
  if (ca !== cb) return ca < cb ? -1 : 1
  return 0
}

function cmpRef(a: OpRef, b: OpRef): number {
  if (a.writer !== b.writer) return a.writer < b.writer ? -1 : 1
  return a.seq - b.seq
}
