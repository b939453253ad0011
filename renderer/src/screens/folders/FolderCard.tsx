// One synced folder: who owns it, where it is, how far it has synced, what it refused and which
// names are a problem. A two-way folder's card also opens its details: members, conflicts,
// versions.
import { useState, type ReactNode } from 'react'
import {
  ArrowLeftRight,
  ArrowRight,
  Ban,
  ChevronDown,
  ChevronRight,
  Crown,
  Eye,
  FileWarning,
  FolderClosed,
  FolderSync,
  Hourglass,
  PencilLine,
  SquarePen,
  Unplug,
  UserPlus,
} from 'lucide-react'
import type { FolderState, FolderSummary, LocalChange } from '../../../../shared/contract.ts'
import { Badge, Button, ErrorAlert, Stat, cx, type BadgeTone } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { FolderDetail } from './FolderDetail.tsx'
import {
  formatBytes,
  formatCount,
  formatDateTime,
  formatRelative,
  percent,
} from '../../lib/format.ts'

const STATE_LABEL: Record<FolderState, { label: string; tone: BadgeTone }> = {
  scanning: { label: 'Scanning', tone: 'amber' },
  syncing: { label: 'Syncing', tone: 'blue' },
  idle: { label: 'Idle', tone: 'green' },
  error: { label: 'Error', tone: 'red' },
  paused: { label: 'Paused', tone: 'neutral' },
}

const CHANGE_TONE: Record<LocalChange['kind'], BadgeTone> = {
  added: 'green',
  modified: 'blue',
  deleted: 'red',
}

function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`
}

function StateBadge({ state }: { state: FolderState }) {
  const { label, tone } = STATE_LABEL[state]
  return (
    <Badge tone={tone}>
      <span
        aria-hidden="true"
        className={cx(
          'size-1.5 rounded-full bg-current',
          (state === 'syncing' || state === 'scanning') && 'animate-pulse',
        )}
      />
      {label}
    </Badge>
  )
}

export function SyncProgress({ folder }: { folder: FolderSummary }) {
  const pct = percent(folder.localBytes, folder.bytes)
  const text = `${formatBytes(folder.localBytes)} of ${formatBytes(folder.bytes)}`
  return (
    <div className="space-y-1.5">
      <div className="flex items-baseline justify-between gap-2 text-xs">
        <span className="font-medium text-sky-700 dark:text-sky-300">{pct} % synced</span>
        <span className="text-zinc-500 tabular-nums dark:text-zinc-400">{text}</span>
      </div>
      <div
        role="progressbar"
        aria-label={`Sync progress of ${folder.name}`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        aria-valuetext={`${pct} % (${text})`}
        className="h-1.5 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
      >
        <div
          className="h-full rounded-full bg-sky-500 transition-[width] duration-500"
          style={{ width: `${pct}%` }}
        />
      </div>
    </div>
  )
}

function Disclosure({
  summary,
  tone,
  icon: Icon,
  children,
}: {
  summary: string
  tone: 'amber' | 'zinc'
  icon: typeof Ban
  children: ReactNode
}) {
  return (
    <details className="group rounded-lg border border-zinc-200 dark:border-zinc-800">
      <summary
        className={cx(
          'flex cursor-pointer list-none items-center gap-2 rounded-lg px-3 py-2 text-sm font-medium select-none focus-visible:outline-2 focus-visible:outline-indigo-500 [&::-webkit-details-marker]:hidden',
          tone === 'amber'
            ? 'text-amber-800 hover:bg-amber-50 dark:text-amber-300 dark:hover:bg-amber-950/40'
            : 'text-zinc-700 hover:bg-zinc-50 dark:text-zinc-300 dark:hover:bg-zinc-800/60',
        )}
      >
        <ChevronRight
          aria-hidden="true"
          className="size-4 shrink-0 transition-transform group-open:rotate-90"
        />
        <Icon aria-hidden="true" className="size-4 shrink-0" />
        {summary}
      </summary>
      <div className="border-t border-zinc-200 px-3 py-2 dark:border-zinc-800">{children}</div>
    </details>
  )
}

export interface FolderCardProps {
  folder: FolderSummary
  now: number
  /** Fetches an invite and shows it; a rejection is shown on the card. */
  onInvite: (folder: FolderSummary) => Promise<void>
  onStopSyncing: (folder: FolderSummary) => void
}

function localChangesNote(folder: FolderSummary): string {
  if (folder.kind === 'sync' && folder.waitingForAccept)
    return 'Your own edits in this folder. They stay on this device until a writer accepts it.'
  if (folder.kind === 'sync')
    return 'Your own edits in this folder. This device is read-only here: they stay on it and are never sent to the other devices.'
  return 'Your own edits in this folder. They stay on this device and are never sent to the owner.'
}

function RoleBadge({ folder }: { folder: FolderSummary }) {
  if (folder.role === 'owner') {
    return (
      <Badge tone="indigo">
        <Crown aria-hidden="true" className="size-3" />
        Owner
      </Badge>
    )
  }
  if (folder.role === 'writer') {
    return (
      <Badge tone="indigo">
        <SquarePen aria-hidden="true" className="size-3" />
        Writer
      </Badge>
    )
  }
  return (
    <Badge tone="neutral">
      <Eye aria-hidden="true" className="size-3" />
      Reader
    </Badge>
  )
}

function KindBadge({ folder }: { folder: FolderSummary }) {
  return folder.kind === 'sync' ? (
    <Badge tone="blue">
      <ArrowLeftRight aria-hidden="true" className="size-3" />
      Two-way
    </Badge>
  ) : (
    <Badge tone="neutral">
      <ArrowRight aria-hidden="true" className="size-3" />
      One-way
    </Badge>
  )
}

export function FolderCard({ folder, now, onInvite, onStopSyncing }: FolderCardProps) {
  const [inviting, setInviting] = useState(false)
  const [inviteError, setInviteError] = useState<unknown>(null)
  const [open, setOpen] = useState(false)
  const headingId = `folder-${folder.id}-name`
  const detailId = `folder-${folder.id}-detail`
  const twoWay = folder.kind === 'sync'
  const lastSync = folder.lastSyncAt ? formatRelative(folder.lastSyncAt, now) : null

  async function invite() {
    setInviting(true)
    setInviteError(null)
    try {
      await onInvite(folder)
    } catch (err) {
      setInviteError(err)
    } finally {
      setInviting(false)
    }
  }

  return (
    <article
      aria-label={folder.name}
      data-folder-id={folder.id}
      data-state={folder.state}
      className="rounded-xl border border-zinc-200 bg-white p-5 shadow-xs transition-shadow hover:shadow-sm dark:border-zinc-800 dark:bg-zinc-900/60"
    >
      <div className="flex flex-wrap items-start gap-x-4 gap-y-3">
        <div
          aria-hidden="true"
          className={cx(
            'flex size-10 shrink-0 items-center justify-center rounded-lg',
            folder.role !== 'reader'
              ? 'bg-indigo-50 text-indigo-600 dark:bg-indigo-950/60 dark:text-indigo-300'
              : 'bg-teal-50 text-teal-600 dark:bg-teal-950/60 dark:text-teal-300',
          )}
        >
          {folder.state === 'syncing' ? (
            <FolderSync className="size-5" />
          ) : (
            <FolderClosed className="size-5" />
          )}
        </div>
        <div className="min-w-0 flex-1 basis-56">
          <div className="flex flex-wrap items-center gap-2">
            <h2
              id={headingId}
              title={folder.name}
              className="truncate text-base font-semibold text-zinc-900 dark:text-zinc-50"
            >
              {folder.name}
            </h2>
            <RoleBadge folder={folder} />
            <KindBadge folder={folder} />
            <StateBadge state={folder.state} />
            {folder.conflicts > 0 ? (
              <Badge tone="amber">{plural(folder.conflicts, 'conflict', 'conflicts')}</Badge>
            ) : null}
          </div>
          <p
            className="mt-0.5 font-mono text-xs break-all text-zinc-500 dark:text-zinc-400"
            title={folder.path}
          >
            {folder.path}
          </p>
        </div>
        <div className="flex flex-wrap gap-2">
          {folder.role === 'owner' || twoWay ? (
            <Button
              size="sm"
              icon={UserPlus}
              busy={inviting}
              onClick={() => void invite()}
              aria-describedby={headingId}
            >
              Invite
            </Button>
          ) : null}
          {twoWay ? (
            <Button
              size="sm"
              variant="ghost"
              icon={open ? ChevronDown : ChevronRight}
              aria-expanded={open}
              aria-controls={detailId}
              aria-describedby={headingId}
              onClick={() => setOpen((o) => !o)}
            >
              Details
            </Button>
          ) : null}
          <Button
            size="sm"
            variant="subtleDanger"
            icon={Unplug}
            onClick={() => onStopSyncing(folder)}
            aria-describedby={headingId}
          >
            Stop syncing
          </Button>
        </div>
      </div>

      {inviteError ? (
        <ErrorAlert className="mt-4" title="Couldn’t create an invite">
          {errorMessage(inviteError)}
        </ErrorAlert>
      ) : null}

      {folder.state === 'error' ? (
        <ErrorAlert className="mt-4" title="This folder has a problem">
          {folder.error ?? 'The node reported an error for this folder.'}
        </ErrorAlert>
      ) : null}

      {folder.waitingForAccept ? (
        <p
          role="status"
          className="mt-4 flex items-start gap-2.5 rounded-lg border border-sky-200 bg-sky-50 px-3 py-2.5 text-sm text-sky-900 dark:border-sky-900/70 dark:bg-sky-950/50 dark:text-sky-100"
        >
          <Hourglass aria-hidden="true" className="mt-0.5 size-4 shrink-0" />
          <span>
            <strong className="font-medium">
              Waiting for a writer to come online and accept this device.
            </strong>{' '}
            Until then, changes made here stay on this device.
          </span>
        </p>
      ) : null}

      {folder.state === 'syncing' ? (
        <div className="mt-4">
          <SyncProgress folder={folder} />
        </div>
      ) : null}
      {folder.state === 'scanning' ? (
        <p className="mt-4 text-xs text-amber-700 dark:text-amber-300">
          Looking through the folder for changes…
          {folder.scan && folder.scan.total > 0 ? (
            <span className="tabular-nums">
              {' '}
              {formatCount(folder.scan.done)} of {formatCount(folder.scan.total)} paths
            </span>
          ) : null}
        </p>
      ) : null}

      <dl
        className={cx(
          'mt-4 grid grid-cols-2 gap-x-4 gap-y-3 border-t border-zinc-100 pt-4 sm:grid-cols-3 dark:border-zinc-800',
          twoWay ? 'lg:grid-cols-6' : 'lg:grid-cols-5',
        )}
      >
        <Stat label="Files">{formatCount(folder.files)}</Stat>
        <Stat label="Size">
          {folder.localBytes < folder.bytes && folder.state !== 'syncing' ? (
            <>
              {formatBytes(folder.localBytes)}{' '}
              <span className="font-normal text-zinc-500 dark:text-zinc-400">
                of {formatBytes(folder.bytes)}
              </span>
            </>
          ) : (
            formatBytes(folder.bytes)
          )}
        </Stat>
        {twoWay ? <Stat label="Writers">{formatCount(folder.members)}</Stat> : null}
        <Stat label="Peers">{formatCount(folder.peers)}</Stat>
        <Stat label="Version">{formatCount(folder.version)}</Stat>
        <Stat label="Last sync">
          {folder.lastSyncAt ? (
            <time dateTime={folder.lastSyncAt} title={formatDateTime(folder.lastSyncAt)}>
              {lastSync ?? folder.lastSyncAt}
            </time>
          ) : (
            <span className="font-normal text-zinc-500 dark:text-zinc-400">Never</span>
          )}
        </Stat>
      </dl>

      {folder.localChanges.length > 0 || folder.refused.length > 0 || folder.problems.length > 0 ? (
        <div className="mt-4 space-y-2">
          {folder.localChanges.length > 0 ? (
            <Disclosure
              tone="zinc"
              icon={PencilLine}
              summary={plural(folder.localChanges.length, 'local change', 'local changes')}
            >
              <p className="mb-2 text-xs text-zinc-500 dark:text-zinc-400">
                {localChangesNote(folder)}
              </p>
              <ul
                aria-label={`Local changes in ${folder.name}`}
                className="divide-y divide-zinc-100 dark:divide-zinc-800"
              >
                {folder.localChanges.map((change) => (
                  <li
                    key={`${change.kind}:${change.path}`}
                    className="flex items-center justify-between gap-3 py-1.5"
                  >
                    <span className="min-w-0 font-mono text-xs break-all">{change.path}</span>
                    <Badge tone={CHANGE_TONE[change.kind]}>{change.kind}</Badge>
                  </li>
                ))}
              </ul>
            </Disclosure>
          ) : null}
          {folder.problems.length > 0 ? (
            <Disclosure
              tone="amber"
              icon={FileWarning}
              summary={plural(folder.problems.length, 'name problem', 'name problems')}
            >
              <p className="mb-2 text-xs text-zinc-500 dark:text-zinc-400">
                Names that can’t exist on another operating system (Windows, macOS), names that
                differ only in case, and files Spare can’t read. Other devices may not get these:
                rename them here to fix it.
              </p>
              <ul
                aria-label={`Problems in ${folder.name}`}
                className="divide-y divide-zinc-100 dark:divide-zinc-800"
              >
                {folder.problems.map((problem, i) => (
                  <li key={`${i}:${problem.path}`} className="py-1.5">
                    <p className="font-mono text-xs break-all">{problem.path}</p>
                    <p className="text-xs text-amber-800 dark:text-amber-300">{problem.reason}</p>
                  </li>
                ))}
              </ul>
            </Disclosure>
          ) : null}
          {folder.refused.length > 0 ? (
            <Disclosure
              tone="amber"
              icon={Ban}
              summary={plural(folder.refused.length, 'entry refused', 'entries refused')}
            >
              <p className="mb-2 text-xs text-zinc-500 dark:text-zinc-400">
                Entries from the network that Spare would not write to disk, most recent first.
              </p>
              <ul
                aria-label={`Refused entries in ${folder.name}`}
                className="divide-y divide-zinc-100 dark:divide-zinc-800"
              >
                {folder.refused.map((entry, i) => (
                  <li key={`${i}:${entry.path}`} className="py-1.5">
                    <p className="font-mono text-xs break-all">{entry.path}</p>
                    <p className="text-xs text-amber-800 dark:text-amber-300">{entry.reason}</p>
                  </li>
                ))}
              </ul>
            </Disclosure>
          ) : null}
        </div>
      ) : null}

      {twoWay ? (
        <div id={detailId} hidden={!open}>
          {open ? <FolderDetail folder={folder} /> : null}
        </div>
      ) : null}
    </article>
  )
}
