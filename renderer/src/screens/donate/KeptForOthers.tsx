// The folders this node keeps for other nodes: whose, how much of what it agreed to, and when a
// peer last needed them (the least recently needed go first when the donated space shrinks).
import { Inbox } from 'lucide-react'
import type { DonateStatus } from '../../../../shared/contract.ts'
import { Badge } from '../../components/ui.tsx'
import {
  formatBytes,
  formatCount,
  formatRelativeMs,
  formatTimeMs,
  isoOf,
  shortId,
} from '../../lib/format.ts'

type Hosted = DonateStatus['hosting'][number]

function HostedRow({ hosted, now }: { hosted: Hosted; now: number }) {
  return (
    <li
      aria-label={`Folder ${hosted.folder}`}
      className="grid grid-cols-1 gap-x-6 gap-y-1.5 px-5 py-3.5 sm:grid-cols-[minmax(0,1fr)_auto]"
    >
      <div className="min-w-0">
        <p className="flex flex-wrap items-center gap-2 text-sm">
          <span className="font-mono text-zinc-900 dark:text-zinc-100">{hosted.folder}</span>
          {hosted.overAgreed ? (
            <Badge tone="amber">
              <span title="It holds as much as or more than its owner agreed to">Over agreed</span>
            </Badge>
          ) : null}
        </p>
        <p className="mt-0.5 text-xs text-zinc-500 dark:text-zinc-400">
          For{' '}
          <span className="font-mono" title={hosted.owner}>
            {shortId(hosted.owner)}
          </span>
          {' · '}
          {formatCount(hosted.cores)} {hosted.cores === 1 ? 'core' : 'cores'}
          {' · '}kept since{' '}
          <time dateTime={isoOf(hosted.since)} title={formatTimeMs(hosted.since)}>
            {formatRelativeMs(hosted.since, now)}
          </time>
        </p>
      </div>
      <div className="text-sm sm:text-right">
        <p className="font-medium text-zinc-900 tabular-nums dark:text-zinc-100">
          {formatBytes(hosted.bytes)}{' '}
          <span className="font-normal text-zinc-500 dark:text-zinc-400">
            of {formatBytes(hosted.agreedBytes)} agreed
          </span>
        </p>
        <p className="text-xs text-zinc-500 dark:text-zinc-400">
          Last needed{' '}
          <time dateTime={isoOf(hosted.lastNeededAt)} title={formatTimeMs(hosted.lastNeededAt)}>
            {formatRelativeMs(hosted.lastNeededAt, now)}
          </time>
        </p>
      </div>
    </li>
  )
}

export function KeptForOthers({ status, now }: { status: DonateStatus; now: number }) {
  if (status.hosting.length === 0) {
    return (
      <div className="flex items-start gap-3 px-5 py-8">
        <Inbox aria-hidden="true" className="mt-0.5 size-5 shrink-0 text-zinc-400" />
        <p className="text-sm text-zinc-500 dark:text-zinc-400">
          {status.disk.binding === 'none'
            ? 'This node keeps no folders for others. Set a disk limit: nodes looking for hosts for their two-way folders can then ask this one.'
            : 'This node keeps no folders for others yet. Nodes looking for hosts for their two-way folders find it while it is online.'}
        </p>
      </div>
    )
  }
  return (
    <ul
      aria-label="Folders kept for others"
      className="divide-y divide-zinc-200 dark:divide-zinc-800"
    >
      {status.hosting.map((h) => (
        <HostedRow key={`${h.owner}:${h.folder}`} hosted={h} now={now} />
      ))}
    </ul>
  )
}
