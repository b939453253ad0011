// Receipts as a table: when, what kind, how much, the credit, which folder (or job), who gave to
// whom, the audits passed, and which side the ledger's own node is on. Storage and served receipts
// count bytes; compute receipts the CPU time a donor gave a job, and name the job and its result.
import { Badge } from '../../components/ui.tsx'
import { DataTable, Td, Th } from '../../components/DataTable.tsx'
import {
  formatCount,
  formatCredit,
  formatDuration,
  formatRelativeMs,
  formatTimeMs,
  isoOf,
  shortId,
} from '../../lib/format.ts'
import {
  receiptAmount,
  receiptSide,
  receiptValue,
  type Receipt,
  type ReceiptBody,
} from '../../lib/ledger.ts'

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

const none = <span className="text-zinc-400">—</span>

function Kind({ body }: { body: ReceiptBody }) {
  if (body.kind === 'compute') return <Badge tone="indigo">Compute</Badge>
  if (body.kind === 'served') return <Badge tone="neutral">Served</Badge>
  return (
    <>
      <Badge tone="blue">Storage</Badge>{' '}
      <span className="block text-xs text-zinc-500 dark:text-zinc-400">
        for {formatDuration((body.to - body.from) / 1000)}
      </span>
    </>
  )
}

/** The folder of a storage or served receipt; the job and its result of a compute one. */
function Subject({ body }: { body: ReceiptBody }) {
  if (body.kind !== 'compute') return <span className="font-mono text-xs">{body.folder}</span>
  return (
    <span className="text-xs">
      <span className="block">
        job{' '}
        <span className="font-mono" title={body.job}>
          {shortId(body.job, 12)}
        </span>
      </span>
      <span className="block text-zinc-500 dark:text-zinc-400">
        result{' '}
        <span className="font-mono" title={body.result}>
          {shortId(body.result, 12)}
        </span>
      </span>
    </span>
  )
}

function Side({ body, side }: { body: ReceiptBody; side: 'host' | 'owner' | null }) {
  const compute = body.kind === 'compute'
  if (side === 'host') return <Badge tone="green">{compute ? 'Donor: gave' : 'Host: gave'}</Badge>
  if (side === 'owner') {
    return <Badge tone="amber">{compute ? 'Submitter: received' : 'Owner: received'}</Badge>
  }
  return none
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
  const withJobs = receipts.some((r) => r.body.kind === 'compute')
  return (
    <DataTable
      label={label}
      head={
        <>
          <Th>Time</Th>
          <Th>Kind</Th>
          <Th className="text-right">{withJobs ? 'Bytes or CPU time' : 'Bytes'}</Th>
          <Th className="text-right">Credit</Th>
          <Th>{withJobs ? 'Folder or job' : 'Folder'}</Th>
          <Th>Host → owner</Th>
          <Th className="text-right">Audits</Th>
          <Th>{selfLabel}</Th>
        </>
      }
    >
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
              <Kind body={b} />
            </Td>
            <Td className="text-right">{receiptAmount(b)}</Td>
            <Td className="text-right">{formatCredit(receiptValue(b))}</Td>
            <Td>
              <Subject body={b} />
            </Td>
            <Td>
              <Party id={b.host} self={side === 'host'} name={selfName} /> →{' '}
              <Party id={b.owner} self={side === 'owner'} name={selfName} />
            </Td>
            <Td className="text-right">{b.kind === 'compute' ? none : formatCount(b.audits)}</Td>
            <Td>
              <Side body={b} side={side} />
            </Td>
          </tr>
        )
      })}
    </DataTable>
  )
}
