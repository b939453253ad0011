// Jobs, from compute.jobs: the ones this node runs (or ran) for other nodes (whose, how far, the CPU
// time they took, whether the result was credited) and the ones it submitted (how many donors
// agreed or were outvoted, the agreed result). Empty lists say what to do next.
import type { ReactNode } from 'react'
import { Inbox, Terminal } from 'lucide-react'
import type {
  JobErrorKind,
  JobSummary,
  MethodResult,
  RunSummary,
} from '../../../../shared/contract.ts'
import { CopyButton } from '../../components/CopyButton.tsx'
import { DataTable, Td, Th } from '../../components/DataTable.tsx'
import { Badge, type BadgeTone } from '../../components/ui.tsx'
import {
  formatBytes,
  formatCount,
  formatCpuTime,
  formatRelativeMs,
  formatTimeMs,
  isoOf,
  shortId,
} from '../../lib/format.ts'

export type ComputeJobsData = MethodResult<'compute.jobs'>

export const SUBMIT_COMMAND = 'spare compute submit MODULE.wasm --input FILE'

const RUN_STATE: Record<RunSummary['state'], { label: string; tone: BadgeTone }> = {
  queued: { label: 'Waiting', tone: 'neutral' },
  running: { label: 'Running', tone: 'blue' },
  suspended: { label: 'Suspended', tone: 'amber' },
  done: { label: 'Done', tone: 'green' },
  failed: { label: 'Failed', tone: 'red' },
}

export const JOB_STATE: Record<JobSummary['state'], { label: string; tone: BadgeTone }> = {
  waiting: { label: 'Waiting for donors', tone: 'neutral' },
  running: { label: 'Running', tone: 'blue' },
  done: { label: 'Done', tone: 'green' },
  failed: { label: 'Failed', tone: 'red' },
}

/** What went wrong, in words. */
export const JOB_ERROR: Record<JobErrorKind, string> = {
  invalid: 'Not a WebAssembly module',
  'forbidden-import': 'Imports something not allowed',
  'too-large': 'Too large',
  trap: 'The program failed',
  timeout: 'Took too long',
  memory: 'Needed too much memory',
  crashed: 'The runner crashed',
  'no-quorum': 'Donors disagreed',
  'no-donors': 'No donor took it',
  cancelled: 'Cancelled',
}

const none = <span className="text-zinc-400">—</span>

function JobError({ error }: { error: RunSummary['error'] }) {
  if (!error) return none
  return (
    <span className="block max-w-xs truncate text-red-700 dark:text-red-300" title={error.message}>
      {JOB_ERROR[error.kind]}: {error.message}
    </span>
  )
}

function Credited({ run }: { run: RunSummary }) {
  if (run.credited === true) return <Badge tone="green">Yes</Badge>
  if (run.credited === false) {
    return (
      <span title="Its result didn’t match the other donors’: no credit">
        <Badge tone="amber">No: outvoted</Badge>
      </span>
    )
  }
  if (run.state === 'failed') return <Badge>No</Badge>
  return <span className="text-zinc-500 dark:text-zinc-400">Pending</span>
}

function When({ ms, now }: { ms: number; now: number }) {
  return (
    <time dateTime={isoOf(ms)} title={formatTimeMs(ms)}>
      {formatRelativeMs(ms, now)}
    </time>
  )
}

function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="flex items-start gap-3 px-5 py-6">
      <Inbox aria-hidden="true" className="mt-0.5 size-5 shrink-0 text-zinc-400" />
      <div className="min-w-0 space-y-2 text-sm text-zinc-500 dark:text-zinc-400">{children}</div>
    </div>
  )
}

export function RunJobs({
  runs,
  donating,
  now,
}: {
  runs: readonly RunSummary[]
  /** CPU is donated (a CPU-time limit is set). */
  donating: boolean
  now: number
}) {
  if (runs.length === 0) {
    return (
      <Empty>
        <p>
          {donating
            ? 'No jobs run for others yet. Nodes that submit jobs find this one while it is online, and it runs them within your CPU limits.'
            : 'This node runs no jobs for others. Set how much CPU time to donate in the CPU limits: nodes that submit jobs can then send theirs here.'}
        </p>
      </Empty>
    )
  }
  return (
    <DataTable
      label="Jobs run for others"
      head={
        <>
          <Th>Submitter</Th>
          <Th>State</Th>
          <Th className="text-right">CPU time</Th>
          <Th>Credited</Th>
          <Th>Since</Th>
          <Th>Error</Th>
        </>
      }
    >
      {runs.map((r) => {
        const state = RUN_STATE[r.state]
        return (
          <tr key={`${r.id}:${r.submitter}`} aria-label={`Job ${r.id}`}>
            <Td>
              <span className="font-mono text-xs" title={r.submitter}>
                {shortId(r.submitter, 8)}
              </span>
            </Td>
            <Td>
              <Badge tone={state.tone}>{state.label}</Badge>
            </Td>
            <Td className="text-right">{formatCpuTime(r.cpuMs)}</Td>
            <Td>
              <Credited run={r} />
            </Td>
            <Td>
              <When ms={r.finishedAt ?? r.startedAt ?? r.queuedAt} now={now} />
            </Td>
            <Td>
              <JobError error={r.error} />
            </Td>
          </tr>
        )
      })}
    </DataTable>
  )
}

type DonorState = JobSummary['donors'][number]['state']

/** How each donor state is counted, in this order. */
const DONOR_STATE: Record<DonorState, string> = {
  agreed: 'agreed',
  outvoted: 'outvoted',
  answered: 'answered',
  running: 'running',
  sent: 'sent',
  failed: 'failed',
  gone: 'gone',
}

/** "3 agreed", "2 agreed · 1 outvoted", "1 running · 2 sent": the donors by state. */
export function donorsText(job: JobSummary): string {
  const counts = new Map<DonorState, number>()
  for (const d of job.donors) counts.set(d.state, (counts.get(d.state) ?? 0) + 1)
  const parts = (Object.keys(DONOR_STATE) as DonorState[])
    .filter((s) => counts.has(s))
    .map((s) => `${formatCount(counts.get(s) ?? 0)} ${DONOR_STATE[s]}`)
  return parts.length > 0 ? parts.join(' · ') : 'None yet'
}

export function SubmittedJobs({
  jobs,
  now,
  onOpen,
}: {
  jobs: readonly JobSummary[]
  now: number
  /** Shows a job's detail: its donors and output. */
  onOpen: (job: JobSummary) => void
}) {
  if (jobs.length === 0) {
    return (
      <Empty>
        <p>
          This node hasn’t submitted any jobs. To run a WebAssembly program on other nodes’ spare
          CPU, use Submit a job, or submit it from a terminal:
        </p>
        <p className="flex items-center gap-1">
          <Terminal aria-hidden="true" className="size-4 shrink-0 text-zinc-400" />
          <code
            data-testid="submit-command"
            className="rounded bg-zinc-100 px-1.5 py-0.5 font-mono text-xs break-all text-zinc-800 dark:bg-zinc-800 dark:text-zinc-200"
          >
            {SUBMIT_COMMAND}
          </code>
          <CopyButton value={SUBMIT_COMMAND} label="Copy the command" />
        </p>
        <p>
          Several donors run it; the result a majority of them agree on is kept, and shows here.
        </p>
      </Empty>
    )
  }
  return (
    <DataTable
      label="Jobs this node submitted"
      head={
        <>
          <Th>Name</Th>
          <Th>State</Th>
          <Th>Donors</Th>
          <Th>Result</Th>
          <Th>Submitted</Th>
          <Th>Error</Th>
        </>
      }
    >
      {jobs.map((j) => {
        const state = JOB_STATE[j.state]
        return (
          <tr key={j.id} aria-label={`Job ${j.id}`}>
            <Td>
              <button
                type="button"
                onClick={() => onOpen(j)}
                title="Show its donors and output"
                className="block text-left font-medium text-zinc-900 underline-offset-2 hover:underline focus-visible:outline-2 focus-visible:outline-indigo-500 dark:text-zinc-100"
              >
                {j.name || 'Unnamed job'}
              </button>
              <span className="block font-mono text-xs text-zinc-500" title={j.id}>
                {shortId(j.id, 12)}
              </span>
            </Td>
            <Td>
              <Badge tone={state.tone}>{state.label}</Badge>
            </Td>
            <Td>
              {donorsText(j)}
              <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                {formatCount(j.quorum)} of {formatCount(j.replicas)} must agree
              </span>
            </Td>
            <Td>
              {j.resultHash ? (
                <>
                  <span className="font-mono text-xs" title={j.resultHash}>
                    {shortId(j.resultHash, 12)}
                  </span>
                  {j.outputBytes !== null ? (
                    <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                      {formatBytes(j.outputBytes)}
                    </span>
                  ) : null}
                </>
              ) : (
                none
              )}
            </Td>
            <Td>
              <When ms={j.submittedAt} now={now} />
            </Td>
            <Td>
              <JobError error={j.error} />
            </Td>
          </tr>
        )
      })}
    </DataTable>
  )
}
