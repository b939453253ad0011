// Ledger: this node's signed record of what it gave and received, the peers whose receipts or
// messages it refused, and checking another node's ledger by its key.
import { RefreshCw, ScrollText, ShieldAlert, ShieldCheck } from 'lucide-react'
import type { Ledger } from '../../../shared/contract.ts'
import { CopyButton } from '../components/CopyButton.tsx'
import {
  Badge,
  Button,
  ErrorAlert,
  PageHeader,
  Panel,
  Spinner,
  Stat,
  cx,
} from '../components/ui.tsx'
import { errorMessage } from '../lib/errors.ts'
import { formatCount, formatCpuTime, formatCredit, shortId } from '../lib/format.ts'
import { cpuTotals } from '../lib/ledger.ts'
import { useClient, useNow } from '../lib/spare-context.tsx'
import { useNodeData } from '../lib/useNodeData.ts'
import { ReceiptsTable } from './ledger/ReceiptsTable.tsx'
import { VerifyForm } from './ledger/VerifyForm.tsx'

function IdRow({
  label,
  value,
  testId,
  copyLabel,
  hint,
}: {
  label: string
  value: string
  testId: string
  copyLabel: string
  hint?: string
}) {
  return (
    <div>
      <p className="text-xs font-medium text-zinc-500 dark:text-zinc-400">{label}</p>
      <div className="mt-1 flex items-start gap-1">
        <p
          data-testid={testId}
          className="min-w-0 font-mono text-sm break-all text-zinc-900 dark:text-zinc-100"
        >
          {value}
        </p>
        <CopyButton value={value} label={copyLabel} />
      </div>
      {hint ? <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">{hint}</p> : null}
    </div>
  )
}

function LedgerPanel({ ledger }: { ledger: Ledger }) {
  return (
    <Panel title="This node’s ledger" titleId="ledger-own-title">
      <div className="space-y-5 p-5">
        <IdRow
          label="Ledger key"
          value={ledger.key}
          testId="ledger-key"
          copyLabel="Copy ledger key"
          hint="Anyone with this key can fetch this ledger and check every receipt in it."
        />
        <IdRow
          label="Identity"
          value={ledger.identity}
          testId="ledger-identity"
          copyLabel="Copy identity"
        />
        <dl className="grid grid-cols-2 gap-x-4 gap-y-4 sm:grid-cols-4">
          <Stat label="Given">{formatCredit(ledger.given)}</Stat>
          <Stat label="Received">{formatCredit(ledger.received)}</Stat>
          <Stat label="Balance">
            <span
              className={cx(
                ledger.balance > 0 && 'text-emerald-700 dark:text-emerald-300',
                ledger.balance < 0 && 'text-amber-700 dark:text-amber-300',
              )}
            >
              {formatCredit(ledger.balance, { signed: true })}
            </span>
          </Stat>
          <Stat label="Receipts">{formatCount(ledger.receipts)}</Stat>
        </dl>
        <p className="text-xs text-zinc-500 dark:text-zinc-400">
          Credit is counted in byte-hours: 1 GB kept for an hour, or 1 GB served, is 1 GB·h; a
          second of CPU time for a job is 200 MB·h. Given is what this node did for others, as a
          host or a donor; received is what others did for this node’s folders and jobs.
        </p>
      </div>
    </Panel>
  )
}

function Strikes({ strikes }: { strikes: Ledger['strikes'] }) {
  const peers = Object.entries(strikes).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
  if (peers.length === 0) {
    return (
      <div className="flex items-start gap-3 px-5 py-6">
        <ShieldCheck aria-hidden="true" className="mt-0.5 size-5 shrink-0 text-zinc-400" />
        <p className="text-sm text-zinc-500 dark:text-zinc-400">
          No peer has sent this node a forged, one-sided or overclaiming receipt or a bad message.
        </p>
      </div>
    )
  }
  return (
    <>
      <p className="px-5 pt-4 text-xs text-zinc-500 dark:text-zinc-400">
        Peers that sent forged, one-sided or overclaiming receipts or bad messages. Their receipts
        were refused and never entered the ledger.
      </p>
      <ul aria-label="Peers with strikes" className="divide-y divide-zinc-200 dark:divide-zinc-800">
        {peers.map(([id, count]) => (
          <li
            key={id}
            aria-label={`Peer ${id}`}
            className="flex flex-wrap items-center gap-x-3 gap-y-1 px-5 py-3"
          >
            <ShieldAlert aria-hidden="true" className="size-4 shrink-0 text-red-500" />
            <span className="font-mono text-sm text-zinc-900 dark:text-zinc-100" title={id}>
              {shortId(id, 16)}
            </span>
            <Badge tone="red">
              {formatCount(count)} {count === 1 ? 'strike' : 'strikes'}
            </Badge>
          </li>
        ))}
      </ul>
    </>
  )
}

/** The CPU time in the compute receipts listed, given and received: none, no line. */
function CpuLine({ ledger }: { ledger: Ledger }) {
  const cpu = cpuTotals(ledger.recent, ledger.identity)
  if (cpu.count === 0) return null
  return (
    <p data-testid="ledger-cpu" className="px-5 pt-2 pb-1 text-xs text-zinc-500 dark:text-zinc-400">
      CPU time in the {formatCount(cpu.count)} compute {cpu.count === 1 ? 'receipt' : 'receipts'}{' '}
      below:{' '}
      <strong className="font-medium text-zinc-700 dark:text-zinc-300">
        {formatCpuTime(cpu.givenMs)} given
      </strong>
      ,{' '}
      <strong className="font-medium text-zinc-700 dark:text-zinc-300">
        {formatCpuTime(cpu.receivedMs)} received
      </strong>
      .
    </p>
  )
}

export function LedgerScreen({ refreshMs = 5000 }: { refreshMs?: number }) {
  const client = useClient()
  const ledger = useNodeData(() => client.call('ledger.get'), {
    refreshMs,
    // A job's result is credited when its quorum agrees.
    events: ['node.updated', 'folder.updated', 'job.updated'],
  })
  const now = useNow(15_000)
  const data = ledger.data

  return (
    <>
      <PageHeader
        title="Ledger"
        description="What this node gave and received, each receipt signed by both sides, and checking another node’s ledger."
      />
      {ledger.error ? (
        <ErrorAlert
          className="mb-4"
          title={data ? 'Couldn’t refresh the ledger' : 'Couldn’t load the ledger'}
          action={
            <Button size="sm" icon={RefreshCw} onClick={ledger.retry}>
              Try again
            </Button>
          }
        >
          {errorMessage(ledger.error)}
        </ErrorAlert>
      ) : null}
      {ledger.loading ? <Spinner label="Loading the ledger…" /> : null}
      <div className="space-y-6">
        {data ? (
          <>
            <LedgerPanel ledger={data} />
            <Panel
              title="Recent receipts"
              titleId="ledger-receipts-title"
              actions={
                <span className="text-xs text-zinc-500 dark:text-zinc-400">
                  {data.recent.length < data.receipts
                    ? `Newest ${formatCount(data.recent.length)} of ${formatCount(data.receipts)}`
                    : `${formatCount(data.receipts)} ${data.receipts === 1 ? 'receipt' : 'receipts'}`}
                </span>
              }
            >
              {data.recent.length === 0 ? (
                <div className="flex items-start gap-3 px-5 py-8">
                  <ScrollText aria-hidden="true" className="mt-0.5 size-5 shrink-0 text-zinc-400" />
                  <p className="text-sm text-zinc-500 dark:text-zinc-400">
                    No receipts yet. A receipt is written when a host and a folder’s owner both sign
                    what was kept or served, or a donor and a job’s submitter both sign the CPU time
                    of a result: donate disk or CPU, or let hosts keep your two-way folders.
                  </p>
                </div>
              ) : (
                <div className="pt-1">
                  <CpuLine ledger={data} />
                  <ReceiptsTable
                    receipts={data.recent}
                    self={data.identity}
                    selfLabel="This node"
                    label="Recent receipts"
                    now={now}
                  />
                </div>
              )}
            </Panel>
            <Panel title="Refused peers" titleId="ledger-strikes-title">
              <Strikes strikes={data.strikes} />
            </Panel>
          </>
        ) : null}
        <Panel title="Verify another node’s ledger" titleId="ledger-verify-title">
          <VerifyForm now={now} />
        </Panel>
      </div>
    </>
  )
}
