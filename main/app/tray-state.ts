// The tray's one state object and everything derived from it, as pure functions (the ipfs-desktop
// pattern: every change produces a new state, and the tray's icon, tooltip and menu are rebuilt from
// it as a whole). No electron import: tested in test/unit/app-tray-state.test.ts; main/app/tray.ts
// turns the result into a real Tray and Menu.
import {
  DonateStatusSchema,
  events,
  methods,
  type DonateStatus,
  type FolderState,
  type FolderSummary,
  type NodeStatus,
} from '../../shared/contract.ts'

/** Where the node is in its lifecycle (node-controller.ts). */
export type NodePhase = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed'

export interface TrayFolder {
  id: string
  name: string
  state: FolderState
  error: string | null
  /** FolderSummary.conflicts: conflict copies in the folder (two-way folders). */
  conflicts: number
}

export interface TrayState {
  phase: NodePhase
  /** Why the node failed to start, when phase is 'failed'. */
  nodeError: string | null
  /** Every folder, in the order the node listed them (new ones appended). */
  folders: readonly TrayFolder[]
  peers: number
  /** NodeStatus.paused: syncing is paused node-wide (sync.pause, `spare pause`, the tray). */
  paused: boolean
  /** DonateStatus.pause: donating paused until `until` (null: until resumed); null: not paused. */
  donatePause: { until: number | null } | null
  openAtLogin: boolean
  /** False where the login item can't be set (e.g. Linux when not packaged). */
  loginItemSupported: boolean
}

export function initialTrayState(
  login: { openAtLogin: boolean; supported: boolean } = { openAtLogin: false, supported: true },
): TrayState {
  return {
    phase: 'starting',
    nodeError: null,
    folders: [],
    peers: 0,
    paused: false,
    donatePause: null,
    openAtLogin: login.openAtLogin,
    loginItemSupported: login.supported,
  }
}

/** The tray icons in build/tray/ (tray-NAME.png and tray-NAME@2x.png). */
export type TrayIconName = 'idle' | 'syncing' | 'paused' | 'error'
export const TRAY_ICON_NAMES: readonly TrayIconName[] = ['idle', 'syncing', 'paused', 'error']

/**
 * Error wins over paused, paused over syncing, syncing over idle. While the node isn't running
 * (starting, stopping) nothing syncs either, which is what the 'paused' icon says; a failed start
 * is an error.
 */
export function trayIcon(state: TrayState): TrayIconName {
  if (state.phase === 'failed') return 'error'
  if (state.phase !== 'running') return 'paused'
  if (state.folders.some((f) => f.state === 'error')) return 'error'
  if (state.paused) return 'paused'
  if (state.folders.some((f) => f.state === 'syncing' || f.state === 'scanning')) return 'syncing'
  return 'idle'
}

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`
}

function shorten(text: string, max: number): string {
  const oneLine = text.replace(/\s+/g, ' ').trim()
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`
}

/**
 * The first line of the menu, e.g. "3 folders · 2 peers · up to date", or "Syncing paused" (the
 * folders in error are still listed under it).
 */
export function statusLine(state: TrayState): string {
  switch (state.phase) {
    case 'starting':
      return 'Starting…'
    case 'stopping':
      return 'Stopping…'
    case 'stopped':
      return 'Stopped'
    case 'failed':
      return shorten(`Could not start: ${state.nodeError ?? 'unknown error'}`, 80)
    case 'running':
      break
  }
  if (state.paused) return 'Syncing paused'
  const folders =
    state.folders.length === 0 ? 'no folders yet' : count(state.folders.length, 'folder', 'folders')
  const peers = count(state.peers, 'peer', 'peers')
  const failed = state.folders.filter((f) => f.state === 'error').length
  const busy = state.folders.filter((f) => f.state === 'syncing' || f.state === 'scanning').length
  const summary =
    failed > 0
      ? `${count(failed, 'error', 'errors')}`
      : busy > 0
        ? `syncing ${count(busy, 'folder', 'folders')}`
        : 'up to date'
  return `${folders} · ${peers} · ${summary}`
}

export function trayTooltip(state: TrayState): string {
  return `Spare: ${statusLine(state)}`
}

/**
 * What a menu item does; main/app/main.ts maps each to a handler. Pausing and resuming are two
 * actions, not one toggle, so that a click does what its label said even if the state moved on.
 */
export type TrayAction =
  | 'open'
  | 'pause-sync'
  | 'resume-sync'
  | 'pause-donate'
  | 'snooze-donate'
  | 'resume-donate'
  | 'toggle-open-at-login'
  | 'quit'

/** The service method behind each of the pause actions. */
export const SYNC_ACTION_METHOD = {
  'pause-sync': 'sync.pause',
  'resume-sync': 'sync.resume',
} as const satisfies Partial<Record<TrayAction, keyof typeof methods>>

/** BOINC's snooze: one hour. */
export const DONATE_SNOOZE_MINUTES = 60

export type DonateAction = 'pause-donate' | 'snooze-donate' | 'resume-donate'

/** The service call behind each of the donate actions: donate.pause (no minutes: until resumed). */
export const DONATE_ACTION_CALL = {
  'pause-donate': { method: 'donate.pause', params: {} },
  'snooze-donate': { method: 'donate.pause', params: { minutes: DONATE_SNOOZE_MINUTES } },
  'resume-donate': { method: 'donate.resume', params: {} },
} as const satisfies Record<DonateAction, { method: keyof typeof methods; params: object }>

/** A time of day as the tray's labels show it: "14:05", local time. */
export function clockTime(ms: number): string {
  const d = new Date(ms)
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`
}

export type TrayMenuItem =
  | { kind: 'label'; label: string }
  | { kind: 'separator' }
  | { kind: 'action'; action: TrayAction; label: string; enabled: boolean }
  | { kind: 'checkbox'; action: TrayAction; label: string; checked: boolean; enabled: boolean }

/** Folders in error are listed by name under the status line, at most this many. */
const MAX_ERROR_LINES = 3

/** The donate items: Pause and Snooze, or Resume with until when it is paused. */
function donateItems(state: TrayState, formatTime: (ms: number) => string): TrayMenuItem[] {
  const enabled = state.phase === 'running'
  const pause = state.donatePause
  if (pause !== null) {
    return [
      {
        kind: 'action',
        action: 'resume-donate',
        label:
          pause.until === null
            ? 'Resume donating'
            : `Resume donating (paused until ${formatTime(pause.until)})`,
        enabled,
      },
    ]
  }
  return [
    { kind: 'action', action: 'pause-donate', label: 'Pause donating', enabled },
    {
      kind: 'action',
      action: 'snooze-donate',
      label: `Snooze donating for ${DONATE_SNOOZE_MINUTES / 60} hour`,
      enabled,
    },
  ]
}

export function trayMenu(
  state: TrayState,
  formatTime: (ms: number) => string = clockTime,
): TrayMenuItem[] {
  const items: TrayMenuItem[] = [{ kind: 'label', label: statusLine(state) }]
  if (state.phase === 'running') {
    const failed = state.folders.filter((f) => f.state === 'error')
    for (const f of failed.slice(0, MAX_ERROR_LINES)) {
      items.push({ kind: 'label', label: shorten(`${f.name}: ${f.error ?? 'error'}`, 60) })
    }
    if (failed.length > MAX_ERROR_LINES) {
      items.push({ kind: 'label', label: `and ${failed.length - MAX_ERROR_LINES} more` })
    }
  }
  items.push(
    { kind: 'separator' },
    { kind: 'action', action: 'open', label: 'Open Spare', enabled: true },
    state.paused
      ? {
          kind: 'action',
          action: 'resume-sync',
          label: 'Resume syncing',
          enabled: state.phase === 'running',
        }
      : {
          kind: 'action',
          action: 'pause-sync',
          label: 'Pause syncing',
          enabled: state.phase === 'running',
        },
    { kind: 'separator' },
    ...donateItems(state, formatTime),
    { kind: 'separator' },
    {
      kind: 'checkbox',
      action: 'toggle-open-at-login',
      label: 'Start at login',
      checked: state.openAtLogin,
      enabled: state.loginItemSupported,
    },
    { kind: 'separator' },
    {
      kind: 'action',
      action: 'quit',
      label: 'Quit Spare',
      enabled: state.phase !== 'stopping',
    },
  )
  return items
}

// ---- State transitions ----

/** A folder whose conflict count went up, and by how much. */
export interface NewConflicts {
  folder: TrayFolder
  added: number
}

export interface TrayUpdate {
  state: TrayState
  /** Folders that have just entered the 'error' state: one desktop notification each. */
  newlyFailed: TrayFolder[]
  /** Folders with new conflicts since the tray last knew them: one notification each. */
  newConflicts: NewConflicts[]
}

function toTrayFolder(f: FolderSummary): TrayFolder {
  return { id: f.id, name: f.name, state: f.state, error: f.error, conflicts: f.conflicts }
}

function failedSince(prev: readonly TrayFolder[], next: readonly TrayFolder[]): TrayFolder[] {
  const before = new Map(prev.map((f) => [f.id, f.state]))
  return next.filter((f) => f.state === 'error' && before.get(f.id) !== 'error')
}

/**
 * The folders of `next` whose conflict count is higher than in `prev`. A folder `prev` doesn't
 * have (the first snapshot after start-up, a folder just added or joined) sets its count without
 * being reported: conflicts that were already there are not new. The same count again, or a lower
 * one (a conflict resolved), reports nothing; a rise after that does.
 */
export function conflictsSince(
  prev: readonly TrayFolder[],
  next: readonly TrayFolder[],
): NewConflicts[] {
  const before = new Map(prev.map((f) => [f.id, f.conflicts]))
  const out: NewConflicts[] = []
  for (const folder of next) {
    const was = before.get(folder.id)
    if (was !== undefined && folder.conflicts > was) {
      out.push({ folder, added: folder.conflicts - was })
    }
  }
  return out
}

export function withPhase(
  state: TrayState,
  phase: NodePhase,
  nodeError: string | null = null,
): TrayState {
  return { ...state, phase, nodeError: phase === 'failed' ? nodeError : null }
}

export function withOpenAtLogin(state: TrayState, openAtLogin: boolean): TrayState {
  return { ...state, openAtLogin }
}

/** The node's full picture (folders.list and node.status right after it started). */
export function withSnapshot(
  state: TrayState,
  folders: readonly FolderSummary[],
  status: Pick<NodeStatus, 'peers' | 'paused'>,
): TrayUpdate {
  const next = folders.map(toTrayFolder)
  return {
    state: { ...state, folders: next, peers: status.peers, paused: status.paused },
    newlyFailed: failedSince(state.folders, next),
    newConflicts: conflictsSince(state.folders, next),
  }
}

/** withSnapshot from the raw answers of folders.list and node.status; null if either is malformed. */
export function snapshotFromRaw(
  state: TrayState,
  foldersRaw: unknown,
  statusRaw: unknown,
): TrayUpdate | null {
  const folders = methods['folders.list'].result.safeParse(foldersRaw)
  const status = methods['node.status'].result.safeParse(statusRaw)
  if (!folders.success || !status.success) return null
  return withSnapshot(state, folders.data, status.data)
}

/**
 * Applies a NodeStatus: a node.updated payload, or the answer of sync.pause / sync.resume. One that
 * doesn't parse, or changes nothing the tray shows, leaves the state as it is (same object).
 */
export function withNodeStatus(state: TrayState, statusRaw: unknown): TrayState {
  const parsed = events['node.updated'].safeParse(statusRaw)
  if (!parsed.success) return state
  const { peers, paused } = parsed.data
  if (peers === state.peers && paused === state.paused) return state
  return { ...state, peers, paused }
}

const DonatePauseOnly = DonateStatusSchema.pick({ pause: true })

/**
 * Applies a DonateStatus: a donate.updated payload, or the answer of donate.get, donate.pause or
 * donate.resume. Only its pause is read; one that doesn't parse, or leaves the pause as it was,
 * leaves the state as it is (same object).
 */
export function withDonateStatus(state: TrayState, statusRaw: unknown): TrayState {
  const parsed = DonatePauseOnly.safeParse(statusRaw)
  if (!parsed.success) return state
  const pause: DonateStatus['pause'] = parsed.data.pause
  const before = state.donatePause
  if (pause === null ? before === null : before !== null && before.until === pause.until) {
    return state
  }
  return { ...state, donatePause: pause === null ? null : { until: pause.until } }
}

/**
 * How long until a snooze ends (ms), when the tray should ask the node again in case no
 * donate.updated comes; null when donating isn't snoozed.
 */
export function snoozeEndsIn(state: TrayState, now: number): number | null {
  const until = state.donatePause?.until
  if (until === undefined || until === null) return null
  return Math.max(0, until - now)
}

/**
 * Applies one service event. Payloads are checked against the contract's event schemas; an event
 * that doesn't parse, or that the tray doesn't care about, leaves the state as it is (same object).
 */
export function applyEvent(state: TrayState, event: string, data: unknown): TrayUpdate {
  const unchanged: TrayUpdate = { state, newlyFailed: [], newConflicts: [] }
  const changed = (next: TrayState): TrayUpdate =>
    next === state ? unchanged : { state: next, newlyFailed: [], newConflicts: [] }
  switch (event) {
    case 'folder.updated': {
      const parsed = events['folder.updated'].safeParse(data)
      if (!parsed.success) return unchanged
      const folder = toTrayFolder(parsed.data)
      const exists = state.folders.some((f) => f.id === folder.id)
      const folders = exists
        ? state.folders.map((f) => (f.id === folder.id ? folder : f))
        : [...state.folders, folder]
      return {
        state: { ...state, folders },
        newlyFailed: failedSince(state.folders, [folder]),
        newConflicts: conflictsSince(state.folders, [folder]),
      }
    }
    case 'folder.removed': {
      const parsed = events['folder.removed'].safeParse(data)
      if (!parsed.success) return unchanged
      const folders = state.folders.filter((f) => f.id !== parsed.data.id)
      if (folders.length === state.folders.length) return unchanged
      return changed({ ...state, folders })
    }
    case 'node.updated':
      return changed(withNodeStatus(state, data))
    case 'donate.updated':
      return changed(withDonateStatus(state, data))
    default:
      return unchanged
  }
}

/** The desktop notification for a pause or resume from the tray that the node refused. */
export function syncActionFailedNotification(
  action: keyof typeof SYNC_ACTION_METHOD,
  message: string,
): { title: string; body: string } {
  return {
    title:
      action === 'pause-sync'
        ? 'Spare: could not pause syncing'
        : 'Spare: could not resume syncing',
    body: shorten(message || 'Open Spare for details.', 200),
  }
}

/** The desktop notification for a pause, snooze or resume of donating that the node refused. */
export function donateActionFailedNotification(
  action: DonateAction,
  message: string,
): { title: string; body: string } {
  const what = { 'pause-donate': 'pause', 'snooze-donate': 'snooze', 'resume-donate': 'resume' }
  return {
    title: `Spare: could not ${what[action]} donating`,
    body: shorten(message || 'Open Spare for details.', 200),
  }
}

/** The desktop notification for a folder that entered the error state. */
export function folderErrorNotification(folder: TrayFolder): { title: string; body: string } {
  return {
    title: `Spare: "${shorten(folder.name, 40)}" stopped syncing`,
    body: shorten(folder.error ?? 'The folder hit an error. Open Spare for details.', 200),
  }
}

/** The desktop notification for new conflicts in a folder: both versions are kept, compare them. */
export function folderConflictNotification({ folder, added }: NewConflicts): {
  title: string
  body: string
} {
  const name = shorten(folder.name, 40)
  const total =
    folder.conflicts > added ? ` ${count(folder.conflicts, 'conflict', 'conflicts')} in all.` : ''
  if (added === 1) {
    return {
      title: `Spare: new conflict in "${name}"`,
      body: `A file was changed on two devices at once; both versions are kept. Open Spare to compare them and keep one.${total}`,
    }
  }
  return {
    title: `Spare: ${added} new conflicts in "${name}"`,
    body: `${added} files were changed on two devices at once; both versions of each are kept. Open Spare to compare them and keep one.${total}`,
  }
}
