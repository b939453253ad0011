// Donate: how much disk, bandwidth and CPU this node lends to others, what it keeps for them and
// the jobs it runs, and pausing it all for a while. Refreshed like the Network screen (a timer and
// node.updated), on folder.updated too, and donate.updated shows the node's new status at once.
import { useState } from 'react'
import { Cpu, FolderOpen, RefreshCw } from 'lucide-react'
import type { JobSummary } from '../../../shared/contract.ts'
import { Button, ErrorAlert, PageHeader, Panel, Spinner } from '../components/ui.tsx'
import { errorMessage } from '../lib/errors.ts'
import { formatBytes, formatCount } from '../lib/format.ts'
import { useClient, useNow, useSpareEvent } from '../lib/spare-context.tsx'
import { useNodeData } from '../lib/useNodeData.ts'
import { RunJobs, SubmittedJobs } from './donate/ComputeJobs.tsx'
import { CpuLimitsForm } from './donate/CpuLimitsForm.tsx'
import { CpuUsage } from './donate/CpuUsage.tsx'
import { DiskUsage } from './donate/DiskUsage.tsx'
import { DonatePause } from './donate/DonatePause.tsx'
import { JobDetailDialog } from './donate/JobDetailDialog.tsx'
import { KeptForOthers } from './donate/KeptForOthers.tsx'
import { LimitsForm } from './donate/LimitsForm.tsx'
import { SubmitJobDialog } from './donate/SubmitJobDialog.tsx'

function Count({ n, one, many }: { n: number; one: string; many: string }) {
  return (
    <span className="text-xs text-zinc-500 dark:text-zinc-400">
      {formatCount(n)} {n === 1 ? one : many}
    </span>
  )
}

export function DonateScreen({ refreshMs = 5000 }: { refreshMs?: number }) {
  const client = useClient()
  const donate = useNodeData(() => client.call('donate.get'), {
    refreshMs,
    events: ['node.updated', 'folder.updated'],
  })
  // The node's own word on a change (a pause from the tray, a job starting): no need to ask again.
  useSpareEvent('donate.updated', donate.apply)
  const jobs = useNodeData(() => client.call('compute.jobs'), {
    refreshMs,
    events: ['job.updated', 'donate.updated'],
  })
  const now = useNow(15_000)
  const status = donate.data
  const [submitting, setSubmitting] = useState(false)
  const [open, setOpen] = useState<JobSummary | null>(null)

  function submitted(job: JobSummary) {
    setSubmitting(false)
    // In the list at once, before the refresh that follows brings its donors.
    if (jobs.data && !jobs.data.submitted.some((j) => j.id === job.id)) {
      jobs.apply({ ...jobs.data, submitted: [job, ...jobs.data.submitted] })
    }
    jobs.retry()
    setOpen(job)
  }

  return (
    <>
      <PageHeader
        title="Donate"
        description="Lend spare disk and CPU to other Spare nodes: they keep encrypted copies of their two-way folders here and run small sandboxed jobs, and your ledger records the credit."
        actions={status ? <DonatePause status={status} onChange={donate.apply} /> : null}
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
          <Panel title="Disk and bandwidth limits" titleId="donate-limits-title">
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
          <Panel title="Donated CPU" titleId="donate-cpu-title">
            <CpuUsage status={status} />
          </Panel>
          <Panel title="CPU limits" titleId="donate-cpu-limits-title">
            <CpuLimitsForm status={status} onSaved={donate.apply} />
          </Panel>
          <Panel
            title="Jobs run for others"
            titleId="donate-runs-title"
            actions={jobs.data ? <Count n={jobs.data.run.length} one="job" many="jobs" /> : null}
          >
            {jobs.error ? (
              <ErrorAlert
                className="m-5"
                title={jobs.data ? 'Couldn’t refresh the jobs' : 'Couldn’t load the jobs'}
                action={
                  <Button size="sm" icon={RefreshCw} onClick={jobs.retry}>
                    Try again
                  </Button>
                }
              >
                {errorMessage(jobs.error)}
              </ErrorAlert>
            ) : null}
            {jobs.loading ? (
              <div className="p-5">
                <Spinner label="Loading the jobs…" />
              </div>
            ) : null}
            {jobs.data ? (
              <RunJobs runs={jobs.data.run} donating={!!status.limits.cpuPercent} now={now} />
            ) : null}
          </Panel>
          <Panel
            title="Jobs this node submitted"
            titleId="donate-submitted-title"
            actions={
              <span className="flex items-center gap-3">
                {jobs.data ? <Count n={jobs.data.submitted.length} one="job" many="jobs" /> : null}
                <Button size="sm" icon={Cpu} onClick={() => setSubmitting(true)}>
                  Submit a job
                </Button>
              </span>
            }
          >
            {jobs.data ? (
              <SubmittedJobs jobs={jobs.data.submitted} now={now} onOpen={setOpen} />
            ) : null}
          </Panel>
        </div>
      ) : null}
      {submitting ? (
        <SubmitJobDialog onClose={() => setSubmitting(false)} onSubmitted={submitted} />
      ) : null}
      {open ? (
        <JobDetailDialog job={open} onClose={() => setOpen(null)} refreshMs={refreshMs} />
      ) : null}
    </>
  )
}
