// Receipts as a table: when, what kind, how much, which folder, who hosted for whom, the audits
// passed, and which side the ledger's own node is on.
import type { ReactNode } from 'react'
import { Badge, cx } from '../../components/ui.tsx'
import {
  formatBytes,
  formatCount,
  formatCredit,
  formatDuration,
  formatRelativeMs,
  formatTimeMs,
  isoOf,
  shortId,
} from '../../lib/format.ts'
import { receiptSide, receiptValue, type Receipt } from '../../lib/ledger.ts'

/** One side of a receipt: the ledger's own node by name, any other by the start of its id. */
function Party({ id, self, name }: { id: string; self: boolean; name: string }) {
  return self ? (
    <span title={id}>
      <Badge tone="indigo">{name}</Badge>
    </span>
  ) : (
    <span className="font-mono text-xs" title={id}>
      {shortId(id, 8)}
    </span>
  )
}

function Th({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <th
      scope="col"
      className={cx(
        'px-3 py-2 text-left text-xs font-medium whitespace-nowrap text-zinc-500 first:pl-5 last:pr-5 dark:text-zinc-400',
        className,
      )}
    >
      {children}
    </th>
  )
}

function Td({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <td
      className={cx(
        'px-3 py-2.5 align-top whitespace-nowrap first:pl-5 last:pr-5 tabular-nums',
        className,
      )}
    >
      {children}
    </td>
  )
}

export function ReceiptsTable({
  receipts,
  self,
  selfLabel,
  label,
  now,
}: {
  receipts: readonly Receipt[]
  /** The identity whose side each row names; null when it is not known. */
  self: string | null
  /** "This node" or "Its node": the heading of the side column; its party is named so too. */
  selfLabel: string
  /** The table's accessible name. */
  label: string
  now: number
}) {
  const selfName = selfLabel.toLowerCase()
  return (
    // Focusable, so the keyboard can scroll it sideways in a narrow window.
    <div
      tabIndex={0}
      className="overflow-x-auto focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500"
    >
      <table aria-label={label} className="min-w-full text-sm text-zinc-700 dark:text-zinc-300">
        <thead className="border-b border-zinc-200 dark:border-zinc-800">
          <tr>
            <Th>Time</Th>
            <Th>Kind</Th>
            <Th className="text-right">Bytes</Th>
            <Th className="text-right">Credit</Th>
            <Th>Folder</Th>
            <Th>Host → owner</Th>
            <Th className="text-right">Audits</Th>
            <Th>{selfLabel}</Th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">
          {receipts.map((r) => {
            const b = r.body
            const side = receiptSide(b, self)
            return (
              <tr key={b.nonce}>
                <Td>
                  <time
                    dateTime={isoOf(b.to)}
                    title={`${formatTimeMs(b.from)} – ${formatTimeMs(b.to)}`}
                  >
                    {formatRelativeMs(b.to, now)}
                  </time>
                </Td>
                <Td>
                  {b.kind === 'storage' ? (
                    <>
                      <Badge tone="blue">Storage</Badge>{' '}
                      <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                        for {formatDuration((b.to - b.from) / 1000)}
                      </span>
                    </>
                  ) : (
                    <Badge tone="neutral">Served</Badge>
                  )}
                </Td>
                <Td className="text-right">{formatBytes(b.bytes)}</Td>
                <Td className="text-right">{formatCredit(receiptValue(b))}</Td>
                <Td className="font-mono text-xs">{b.folder}</Td>
                <Td>
                  <Party id={b.host} self={side === 'host'} name={selfName} /> →{' '}
                  <Party id={b.owner} self={side === 'owner'} name={selfName} />
                </Td>
                <Td className="text-right">{formatCount(b.audits)}</Td>
                <Td>
                  {side === 'host' ? (
                    <Badge tone="green">Host: gave</Badge>
                  ) : side === 'owner' ? (
                    <Badge tone="amber">Owner: received</Badge>
                  ) : (
                    <span className="text-zinc-400">—</span>
                  )}
                </Td>
              </tr>
            )
          })}
        </tbody>
      </table>
    </div>
  )
}
