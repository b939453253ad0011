import { describe, expect, it } from 'vitest'
import type { DonateStatus, FolderSummary, NodeStatus } from '../../shared/contract.ts'
import {
  DONATE_ACTION_CALL,
  applyEvent,
  clockTime,
  conflictsSince,
  donateActionFailedNotification,
  folderConflictNotification,
  folderErrorNotification,
  initialTrayState,
  SYNC_ACTION_METHOD,
  snapshotFromRaw,
  snoozeEndsIn,
  statusLine,
  syncActionFailedNotification,
  trayIcon,
  trayMenu,
  trayTooltip,
  withDonateStatus,
  withNodeStatus,
  withOpenAtLogin,
  withPhase,
  withSnapshot,
  type TrayState,
} from '../../main/app/tray-state.ts'

let nextId = 0
function folder(overrides: Partial<FolderSummary> = {}): FolderSummary {
  const id = (nextId++).toString(16).padStart(16, '0')
  return {
    id,
    name: `Folder ${id.slice(-2)}`,
    path: `/home/alice/${id}`,
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
    files: 1,
    bytes: 10,
    localBytes: 10,
    peers: 0,
    version: 1,
    localChanges: [],
    refused: [],
    lastSyncAt: null,
    ...overrides,
  }
}

function status(peers: number, paused = false): NodeStatus {
  return {
    nodeId: 'n'.repeat(52),
    version: '0.1.0',
    network: { mode: 'local', bootstrap: [] },
    peers,
    folders: 0,
    paused,
    uptime: 1,
    dataDir: '/tmp/x',
  }
}

/** donate.get's answer (or donate.updated's payload) with the given pause. */
function donateStatus(pause: DonateStatus['pause']): DonateStatus {
  return {
    limits: {
      diskBytes: null,
      diskPercent: null,
      leaveFreeBytes: null,
      upBytesPerSec: null,
      downBytesPerSec: null,
      cpuPercent: 25,
      cpuCores: 1,
      onlyIdleMs: null,
      suspendAboveOtherPercent: 25,
      allowOnBattery: false,
      schedule: null,
      jobMemoryBytes: 256 * 2 ** 20,
      jobWallMs: 600_000,
    },
    usedBytes: 0,
    fs: { total: 100e9, free: 50e9 },
    disk: { budget: 0, byRule: { disk: null, percent: null, leaveFree: null }, binding: 'none' },
    hosting: [],
    pause,
    cpu: {
      blockedBy: pause ? 'paused' : null,
      reason: pause ? 'Donating is paused.' : 'Jobs may run.',
      usedPercent: 0,
      otherPercent: 3,
      idleMs: 60_000,
      onBattery: false,
      probe: 'Electron powerMonitor',
      machineCores: 4,
      running: 0,
      queued: 0,
    },
  }
}

function running(folders: FolderSummary[], peers = 0, paused = false): TrayState {
  return withSnapshot(withPhase(initialTrayState(), 'running'), folders, { peers, paused }).state
}

const actionsOf = (s: TrayState) => trayMenu(s).flatMap((i) => ('action' in i ? [i.action] : []))

describe('icon and status line', () => {
  it('follows the node lifecycle', () => {
    const s = initialTrayState()
    expect(trayIcon(s)).toBe('paused')
    expect(statusLine(s)).toBe('Starting…')
    expect(trayIcon(withPhase(s, 'stopping'))).toBe('paused')
    const failed = withPhase(s, 'failed', 'the data folder is locked by another Spare')
    expect(trayIcon(failed)).toBe('error')
    expect(statusLine(failed)).toBe('Could not start: the data folder is locked by another Spare')
    expect(withPhase(failed, 'starting').nodeError).toBeNull()
  })

  it('says "up to date" when every folder is idle', () => {
    const s = running([folder(), folder(), folder()], 2)
    expect(trayIcon(s)).toBe('idle')
    expect(statusLine(s)).toBe('3 folders · 2 peers · up to date')
    expect(trayTooltip(s)).toBe('Spare: 3 folders · 2 peers · up to date')
    expect(statusLine(running([folder()], 1))).toBe('1 folder · 1 peer · up to date')
    expect(statusLine(running([]))).toBe('no folders yet · 0 peers · up to date')
  })

  it('prefers error over syncing over idle', () => {
    const syncing = running([folder(), folder({ state: 'syncing' }), folder({ state: 'scanning' })])
    expect(trayIcon(syncing)).toBe('syncing')
    expect(statusLine(syncing)).toBe('3 folders · 0 peers · syncing 2 folders')
    const broken = running([
      folder({ state: 'syncing' }),
      folder({ state: 'error', error: 'disk full' }),
    ])
    expect(trayIcon(broken)).toBe('error')
    expect(statusLine(broken)).toBe('2 folders · 0 peers · 1 error')
  })

  it('shows the paused icon and "Syncing paused" while syncing is paused', () => {
    const s = running([folder({ state: 'paused' }), folder({ state: 'paused' })], 0, true)
    expect(s.paused).toBe(true)
    expect(trayIcon(s)).toBe('paused')
    expect(statusLine(s)).toBe('Syncing paused')
    expect(trayTooltip(s)).toBe('Spare: Syncing paused')
    expect(statusLine(running([], 0, true))).toBe('Syncing paused')
    // The node's flag decides, not the folders' states (a folder may still report 'syncing').
    expect(trayIcon(running([folder({ state: 'syncing' })], 0, true))).toBe('paused')
    expect(trayIcon(running([folder({ state: 'paused' })], 0, false))).toBe('idle')
  })

  it('still prefers error over paused', () => {
    const s = running(
      [folder({ state: 'paused' }), folder({ state: 'error', error: 'x' })],
      0,
      true,
    )
    expect(trayIcon(s)).toBe('error')
    expect(statusLine(s)).toBe('Syncing paused')
    expect(trayIcon(withPhase(s, 'failed', 'boom'))).toBe('error')
    expect(trayIcon(withPhase(s, 'stopping'))).toBe('paused')
    expect(statusLine(withPhase(s, 'stopping'))).toBe('Stopping…')
  })
})

describe('menu', () => {
  it('is built from the state alone', () => {
    const s = withOpenAtLogin(running([folder()], 1), true)
    const menu = trayMenu(s)
    expect(menu[0]).toEqual({ kind: 'label', label: '1 folder · 1 peer · up to date' })
    expect(actionsOf(s)).toEqual([
      'open',
      'pause-sync',
      'pause-donate',
      'snooze-donate',
      'toggle-open-at-login',
      'quit',
    ])
    const login = menu.find((i) => i.kind === 'checkbox')
    expect(login).toMatchObject({ label: 'Start at login', checked: true, enabled: true })
    // Same state, same menu.
    expect(trayMenu(s)).toEqual(menu)
  })

  it('offers "Pause syncing", or "Resume syncing" while paused, right after "Open Spare"', () => {
    const syncing = trayMenu(running([folder()]))
    expect(syncing.slice(2, 4)).toEqual([
      { kind: 'action', action: 'open', label: 'Open Spare', enabled: true },
      { kind: 'action', action: 'pause-sync', label: 'Pause syncing', enabled: true },
    ])
    const paused = running([folder({ state: 'paused' })], 0, true)
    expect(trayMenu(paused)[0]).toEqual({ kind: 'label', label: 'Syncing paused' })
    expect(trayMenu(paused).slice(2, 4)).toEqual([
      { kind: 'action', action: 'open', label: 'Open Spare', enabled: true },
      { kind: 'action', action: 'resume-sync', label: 'Resume syncing', enabled: true },
    ])
    expect(actionsOf(paused)).toEqual([
      'open',
      'resume-sync',
      'pause-donate',
      'snooze-donate',
      'toggle-open-at-login',
      'quit',
    ])
    expect(JSON.stringify(trayMenu(paused))).not.toMatch(/Pause syncing/)
    expect(SYNC_ACTION_METHOD).toEqual({ 'pause-sync': 'sync.pause', 'resume-sync': 'sync.resume' })
  })

  it('disables pausing and resuming while the node is not running', () => {
    for (const phase of ['starting', 'stopping', 'stopped', 'failed'] as const) {
      const item = trayMenu(withPhase(initialTrayState(), phase)).find(
        (i) => 'action' in i && i.action === 'pause-sync',
      )
      expect(item, phase).toMatchObject({ label: 'Pause syncing', enabled: false })
    }
    const paused = withPhase(running([], 0, true), 'stopping')
    expect(trayMenu(paused).find((i) => 'action' in i && i.action === 'resume-sync')).toMatchObject(
      { label: 'Resume syncing', enabled: false },
    )
  })

  it('lists folders in error under the status line, at most three', () => {
    const failed = Array.from({ length: 5 }, (_, i) =>
      folder({ name: `F${i}`, state: 'error', error: 'permission denied' }),
    )
    const labels = trayMenu(running(failed))
      .filter((i) => i.kind === 'label')
      .map((i) => i.label)
    expect(labels).toEqual([
      '5 folders · 0 peers · 5 errors',
      'F0: permission denied',
      'F1: permission denied',
      'F2: permission denied',
      'and 2 more',
    ])
  })

  it('disables the login item where it is unsupported, and Quit while stopping', () => {
    const s = initialTrayState({ openAtLogin: false, supported: false })
    expect(trayMenu(s).find((i) => i.kind === 'checkbox')).toMatchObject({ enabled: false })
    const quit = trayMenu(withPhase(s, 'stopping')).find(
      (i) => 'action' in i && i.action === 'quit',
    )
    expect(quit).toMatchObject({ enabled: false })
  })
})

describe('donating', () => {
  const until = new Date(2030, 0, 2, 14, 5).getTime()
  const donateItems = (s: TrayState) =>
    trayMenu(s).filter((i) => 'action' in i && i.action.endsWith('-donate'))

  it('offers "Pause donating" and "Snooze donating for 1 hour" in a group of their own', () => {
    const menu = trayMenu(running([folder()]))
    expect(menu.slice(4, 7)).toEqual([
      { kind: 'separator' },
      { kind: 'action', action: 'pause-donate', label: 'Pause donating', enabled: true },
      {
        kind: 'action',
        action: 'snooze-donate',
        label: 'Snooze donating for 1 hour',
        enabled: true,
      },
    ])
    expect(menu[7]).toEqual({ kind: 'separator' })
    expect(DONATE_ACTION_CALL).toEqual({
      'pause-donate': { method: 'donate.pause', params: {} },
      'snooze-donate': { method: 'donate.pause', params: { minutes: 60 } },
      'resume-donate': { method: 'donate.resume', params: {} },
    })
  })

  it('offers "Resume donating" while paused, with until when it is snoozed', () => {
    const paused = withDonateStatus(running([folder()]), donateStatus({ until: null }))
    expect(paused.donatePause).toEqual({ until: null })
    expect(donateItems(paused)).toEqual([
      { kind: 'action', action: 'resume-donate', label: 'Resume donating', enabled: true },
    ])
    const snoozed = withDonateStatus(paused, donateStatus({ until }))
    expect(snoozed.donatePause).toEqual({ until })
    expect(donateItems(snoozed)).toEqual([
      {
        kind: 'action',
        action: 'resume-donate',
        label: 'Resume donating (paused until 14:05)',
        enabled: true,
      },
    ])
    expect(clockTime(until)).toBe('14:05')
    expect(clockTime(new Date(2030, 0, 2, 9, 7).getTime())).toBe('09:07')
    // Another way of writing times, for another locale.
    expect(trayMenu(snoozed, () => '2:05 PM')).toContainEqual(
      expect.objectContaining({ label: 'Resume donating (paused until 2:05 PM)' }),
    )
    // Syncing is another matter.
    expect(actionsOf(snoozed)).toContain('pause-sync')
    expect(trayIcon(snoozed)).toBe('idle')
  })

  it('disables the donate items while the node is not running', () => {
    for (const phase of ['starting', 'stopping', 'stopped', 'failed'] as const) {
      const s = withPhase(initialTrayState(), phase)
      expect(
        donateItems(s).map((i) => 'enabled' in i && i.enabled),
        phase,
      ).toEqual([false, false])
      const paused = withDonateStatus(s, donateStatus({ until: null }))
      expect(
        donateItems(paused).map((i) => 'enabled' in i && i.enabled),
        phase,
      ).toEqual([false])
    }
  })

  it('follows the pause from donate.updated and the answers of donate.get/pause/resume', () => {
    let s = running([folder()])
    expect(s.donatePause).toBeNull()
    const paused = applyEvent(s, 'donate.updated', donateStatus({ until }))
    expect(paused.newlyFailed).toEqual([])
    s = paused.state
    expect(s.donatePause).toEqual({ until })
    // The same pause again (a CPU reading changed) changes nothing: same object, no rebuild.
    expect(applyEvent(s, 'donate.updated', donateStatus({ until })).state).toBe(s)
    expect(withDonateStatus(s, donateStatus({ until }))).toBe(s)
    s = withDonateStatus(s, donateStatus(null))
    expect(s.donatePause).toBeNull()
    expect(withDonateStatus(s, donateStatus(null))).toBe(s)
    // Malformed: the state stays.
    expect(withDonateStatus(s, { pause: { until: 'soon' } })).toBe(s)
    expect(withDonateStatus(s, {})).toBe(s)
    expect(withDonateStatus(s, null)).toBe(s)
    expect(applyEvent(s, 'donate.updated', 'paused').state).toBe(s)
  })

  it('says how long until a snooze ends', () => {
    const s = running([])
    expect(snoozeEndsIn(s, until)).toBeNull()
    expect(snoozeEndsIn(withDonateStatus(s, donateStatus({ until: null })), until)).toBeNull()
    const snoozed = withDonateStatus(s, donateStatus({ until }))
    expect(snoozeEndsIn(snoozed, until - 60_000)).toBe(60_000)
    expect(snoozeEndsIn(snoozed, until + 5_000)).toBe(0)
  })

  it('says which of pause, snooze or resume failed', () => {
    expect(donateActionFailedNotification('snooze-donate', 'the node is closing')).toEqual({
      title: 'Spare: could not snooze donating',
      body: 'the node is closing',
    })
    expect(donateActionFailedNotification('pause-donate', '').title).toBe(
      'Spare: could not pause donating',
    )
    expect(donateActionFailedNotification('resume-donate', '')).toEqual({
      title: 'Spare: could not resume donating',
      body: 'Open Spare for details.',
    })
  })
})

describe('events', () => {
  it('adds, updates and removes folders and tracks peers', () => {
    const a = folder()
    let s = running([a])
    const b = folder({ state: 'syncing' })
    s = applyEvent(s, 'folder.updated', b).state
    expect(s.folders.map((f) => f.id)).toEqual([a.id, b.id])
    s = applyEvent(s, 'folder.updated', { ...a, state: 'scanning' }).state
    expect(s.folders[0]?.state).toBe('scanning')
    s = applyEvent(s, 'folder.removed', { id: b.id }).state
    expect(s.folders.map((f) => f.id)).toEqual([a.id])
    s = applyEvent(s, 'node.updated', status(4)).state
    expect(s.peers).toBe(4)
  })

  it('follows NodeStatus.paused from node.updated events and call answers', () => {
    let s = running([folder()], 1)
    expect(s.paused).toBe(false)
    const paused = applyEvent(s, 'node.updated', status(0, true))
    expect(paused.newlyFailed).toEqual([])
    s = paused.state
    expect(s).toMatchObject({ paused: true, peers: 0 })
    expect(trayIcon(s)).toBe('paused')
    expect(actionsOf(s)).toContain('resume-sync')
    // The same status again changes nothing (same object), so the tray isn't rebuilt.
    expect(applyEvent(s, 'node.updated', status(0, true)).state).toBe(s)
    expect(withNodeStatus(s, status(0, true))).toBe(s)
    // sync.resume's answer is a NodeStatus too.
    s = withNodeStatus(s, status(3, false))
    expect(s).toMatchObject({ paused: false, peers: 3 })
    expect(trayIcon(s)).toBe('idle')
    expect(withNodeStatus(s, { paused: 'yes' })).toBe(s)
    expect(withNodeStatus(s, null)).toBe(s)
  })

  it('takes the paused flag from the snapshot', () => {
    const s = withPhase(initialTrayState(), 'running')
    const snap = snapshotFromRaw(s, [folder({ state: 'paused' })], status(0, true))
    expect(snap?.state.paused).toBe(true)
    expect(snap?.newlyFailed).toEqual([])
    expect(snap && trayIcon(snap.state)).toBe('paused')
    // A status from before the pause field existed is malformed now.
    const { paused: _dropped, ...old } = status(1)
    expect(snapshotFromRaw(s, [], old)).toBeNull()
  })

  it('reports a folder once, when it enters the error state', () => {
    const a = folder()
    let s = running([a])
    const broken = { ...a, state: 'error' as const, error: 'disk full' }
    const first = applyEvent(s, 'folder.updated', broken)
    expect(first.newlyFailed).toEqual([
      { id: a.id, name: a.name, state: 'error', error: 'disk full', conflicts: 0 },
    ])
    s = first.state
    expect(applyEvent(s, 'folder.updated', broken).newlyFailed).toEqual([])
    s = applyEvent(s, 'folder.updated', { ...a, state: 'idle' }).state
    expect(applyEvent(s, 'folder.updated', broken).newlyFailed).toHaveLength(1)
    // A new folder that arrives broken counts too.
    expect(applyEvent(s, 'folder.updated', folder({ state: 'error' })).newlyFailed).toHaveLength(1)
  })

  it('reports new conflicts once per rise, not those there at start-up', () => {
    const notes = folder({ name: 'Notes', kind: 'sync', role: 'writer', conflicts: 2 })
    const photos = folder({ name: 'Photos', kind: 'sync', role: 'writer' })
    // Start-up: the first snapshot only says how many there are.
    const start = withSnapshot(withPhase(initialTrayState(), 'running'), [notes, photos], {
      peers: 0,
      paused: false,
    })
    expect(start.newConflicts).toEqual([])
    let s = start.state
    expect(s.folders.map((f) => f.conflicts)).toEqual([2, 0])

    // The same count again (any other change to the folder) is nothing new.
    const same = applyEvent(s, 'folder.updated', { ...notes, state: 'syncing' })
    expect(same.newConflicts).toEqual([])
    s = same.state

    // One more: reported once, with the folder as it is now.
    const rise = applyEvent(s, 'folder.updated', { ...notes, conflicts: 3 })
    expect(rise.newConflicts).toEqual([
      { folder: expect.objectContaining({ id: notes.id, name: 'Notes', conflicts: 3 }), added: 1 },
    ])
    s = rise.state
    expect(applyEvent(s, 'folder.updated', { ...notes, conflicts: 3 }).newConflicts).toEqual([])

    // Resolved ones lower the count; a conflict after that is new again.
    s = applyEvent(s, 'folder.updated', { ...notes, conflicts: 0 }).state
    expect(s.folders.find((f) => f.id === notes.id)?.conflicts).toBe(0)
    expect(applyEvent(s, 'folder.updated', { ...notes, conflicts: 1 }).newConflicts).toEqual([
      { folder: expect.objectContaining({ id: notes.id, conflicts: 1 }), added: 1 },
    ])

    // Several at once in another folder: one report with how many.
    const several = applyEvent(s, 'folder.updated', { ...photos, conflicts: 3 })
    expect(several.newConflicts).toEqual([
      { folder: expect.objectContaining({ id: photos.id }), added: 3 },
    ])

    // A folder the tray didn't know (just added or joined) brings its count along silently.
    const joined = folder({ name: 'Joined', kind: 'sync', conflicts: 4 })
    const arrived = applyEvent(s, 'folder.updated', joined)
    expect(arrived.newConflicts).toEqual([])
    expect(
      applyEvent(arrived.state, 'folder.updated', { ...joined, conflicts: 5 }).newConflicts,
    ).toHaveLength(1)
    // Removed and added again: known afresh.
    const removed = applyEvent(arrived.state, 'folder.removed', { id: joined.id }).state
    expect(applyEvent(removed, 'folder.updated', joined).newConflicts).toEqual([])

    // Other events never report conflicts.
    expect(applyEvent(s, 'node.updated', status(4)).newConflicts).toEqual([])
  })

  it('reports conflicts that rose while the node was restarting, from the new snapshot', () => {
    const notes = folder({ name: 'Notes', kind: 'sync', conflicts: 1 })
    let s = running([notes])
    s = withPhase(s, 'stopping')
    s = withPhase(s, 'running')
    const again = withSnapshot(s, [{ ...notes, conflicts: 1 }], { peers: 0, paused: false })
    expect(again.newConflicts).toEqual([])
    const more = withSnapshot(s, [{ ...notes, conflicts: 3 }], { peers: 0, paused: false })
    expect(more.newConflicts).toEqual([
      { folder: expect.objectContaining({ id: notes.id }), added: 2 },
    ])
    expect(snapshotFromRaw(s, [{ ...notes, conflicts: 2 }], status(0))?.newConflicts).toHaveLength(
      1,
    )
  })

  it('compares conflict counts by folder id (conflictsSince)', () => {
    const tf = (id: string, conflicts: number) => ({
      id,
      name: id,
      state: 'idle' as const,
      error: null,
      conflicts,
    })
    expect(conflictsSince([], [tf('a', 3)])).toEqual([])
    expect(conflictsSince([tf('a', 1), tf('b', 5)], [tf('b', 6), tf('a', 1)])).toEqual([
      { folder: tf('b', 6), added: 1 },
    ])
    expect(conflictsSince([tf('a', 4)], [tf('a', 2)])).toEqual([])
  })

  it('ignores malformed and unknown events (same state object)', () => {
    const s = running([folder()])
    expect(applyEvent(s, 'folder.updated', { id: 'nope' }).state).toBe(s)
    expect(applyEvent(s, 'folder.removed', { id: 'ffffffffffffffff' }).state).toBe(s)
    expect(applyEvent(s, 'node.updated', { peers: -1 }).state).toBe(s)
    expect(applyEvent(s, 'something.else', {}).state).toBe(s)
  })

  it('takes a snapshot from raw answers and refuses malformed ones', () => {
    const s = withPhase(initialTrayState(), 'running')
    const snap = snapshotFromRaw(s, [folder({ state: 'error', error: 'x' })], status(2))
    expect(snap?.state.peers).toBe(2)
    expect(snap?.newlyFailed).toHaveLength(1)
    expect(snapshotFromRaw(s, [{ bogus: true }], status(2))).toBeNull()
    expect(snapshotFromRaw(s, [], { peers: 1 })).toBeNull()
  })
})

describe('notification', () => {
  it('names the folder and the error', () => {
    const n = folderErrorNotification({
      id: 'x',
      name: 'Photos',
      state: 'error',
      error: 'disk full',
      conflicts: 0,
    })
    expect(n.title).toBe('Spare: "Photos" stopped syncing')
    expect(n.body).toBe('disk full')
  })

  it('says a conflict is new, that both versions are kept, and how many when several', () => {
    const notes = { id: 'x', name: 'Notes', state: 'idle' as const, error: null, conflicts: 1 }
    expect(folderConflictNotification({ folder: notes, added: 1 })).toEqual({
      title: 'Spare: new conflict in "Notes"',
      body: 'A file was changed on two devices at once; both versions are kept. Open Spare to compare them and keep one.',
    })
    const three = folderConflictNotification({ folder: { ...notes, conflicts: 3 }, added: 3 })
    expect(three.title).toBe('Spare: 3 new conflicts in "Notes"')
    expect(three.body).toMatch(/^3 files were changed on two devices at once; both versions of/)
    expect(three.body).not.toMatch(/in all/)
    // With older ones still there, the total too.
    expect(
      folderConflictNotification({ folder: { ...notes, conflicts: 5 }, added: 2 }).body,
    ).toMatch(/Open Spare to compare them and keep one\. 5 conflicts in all\.$/)
    expect(
      folderConflictNotification({ folder: { ...notes, name: 'x'.repeat(80) }, added: 1 }).title
        .length,
    ).toBeLessThan(70)
  })

  it('says which of pause or resume failed', () => {
    expect(syncActionFailedNotification('pause-sync', 'the node is closing')).toEqual({
      title: 'Spare: could not pause syncing',
      body: 'the node is closing',
    })
    expect(syncActionFailedNotification('resume-sync', '').title).toBe(
      'Spare: could not resume syncing',
    )
    expect(syncActionFailedNotification('resume-sync', '').body).toBe('Open Spare for details.')
  })
})
