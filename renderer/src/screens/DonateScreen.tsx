// Donate: how much disk and bandwidth this node lends to others, and what it keeps for them.
// Refreshed like the Network screen (a timer and node.updated), and on folder.updated too.
import { FolderOpen, RefreshCw } from 'lucide-react'
import { Button, ErrorAlert, PageHeader, Panel, Spinner } from '../components/ui.tsx'
import { errorMessage } from '../lib/errors.ts'
import { formatBytes, formatCount } from '../lib/format.ts'
import { useClient, useNow } from '../lib/spare-context.tsx'
import { useNodeData } from '../lib/useNodeData.ts'
import { DiskUsage } from './donate/DiskUsage.tsx'
import { KeptForOthers } from './donate/KeptForOthers.tsx'
import { LimitsForm } from './donate/LimitsForm.tsx'

export function DonateScreen({ refreshMs = 5000 }: { refreshMs?: number }) {
  const client = useClient()
  const donate = useNodeData(() => client.call('donate.get'), {
    refreshMs,
    events: ['node.updated', 'folder.updated'],
  })
  const now = useNow(15_000)
  const status = donate.data

  return (
    <>
      <PageHeader
        title="Donate"
        description="Lend spare disk to other Spare nodes: they keep encrypted copies of their two-way folders here, and your ledger records the credit."
      />
      {donate.error ? (
        <ErrorAlert
          className="mb-4"
          title={
            status ? 'Couldn’t refresh the donation status' : 'Couldn’t load the donation status'
          }
          action={
            <Button size="sm" icon={RefreshCw} onClick={donate.retry}>
              Try again
            </Button>
          }
        >
          {errorMessage(donate.error)}
        </ErrorAlert>
      ) : null}
      {donate.loading ? <Spinner label="Loading the donation status…" /> : null}
      {status ? (
        <div className="space-y-6">
          <Panel title="Donated disk" titleId="donate-usage-title">
            <DiskUsage status={status} />
          </Panel>
          <Panel title="Limits" titleId="donate-limits-title">
            <LimitsForm status={status} onSaved={donate.apply} />
          </Panel>
          <Panel
            title="Kept for others"
            titleId="donate-hosting-title"
            actions={
              <span className="flex items-center gap-1.5 text-xs text-zinc-500 dark:text-zinc-400">
                <FolderOpen aria-hidden="true" className="size-3.5" />
                {formatCount(status.hosting.length)}{' '}
                {status.hosting.length === 1 ? 'folder' : 'folders'} ·{' '}
                {formatBytes(status.usedBytes)}
              </span>
            }
          >
            <KeptForOthers status={status} now={now} />
          </Panel>
        </div>
      ) : null}
    </>
  )
}
