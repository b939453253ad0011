// One submitted job, from compute.job (refreshed on job.updated): its state, each donor's part,
// and once done the agreed result: its hash to copy, the output as text when it is short UTF-8,
// and "Save output" as a download from a Blob URL (the browser UI and Electron's renderer alike).
import { useMemo } from 'react'
import { Download, RefreshCw } from 'lucide-react'
import type { JobDetail, JobSummary } from '../../../../shared/contract.ts'
import { CopyButton } from '../../components/CopyButton.tsx'
import { DataTable, Td, Th } from '../../components/DataTable.tsx'
import { Modal } from '../../components/Modal.tsx'
import { Badge, Button, ErrorAlert, Spinner, Stat, type BadgeTone } from '../../components/ui.tsx'
import { formatDurationMs } from '../../lib/cpu-units.ts'
import { errorMessage } from '../../lib/errors.ts'
import { formatBytes, formatCount, formatCpuTime, formatTimeMs, shortId } from '../../lib/format.ts'
import { useClient } from '../../lib/spare-context.tsx'
import { useNodeData } from '../../lib/useNodeData.ts'
import { JOB_ERROR, JOB_STATE } from './ComputeJobs.tsx'
import { fromBase64, shortText } from './job-files.ts'

type DonorState = JobSummary['donors'][number]['state']

const DONOR: Record<DonorState, { label: string; tone: BadgeTone }> = {
  sent: { label: 'Sent', tone: 'neutral' },
  running: { label: 'Running', tone: 'blue' },
  answered: { label: 'Answered', tone: 'blue' },
  agreed: { label: 'Agreed', tone: 'green' },
  outvoted: { label: 'Outvoted', tone: 'amber' },
  failed: { label: 'Failed', tone: 'red' },
  gone: { label: 'Gone', tone: 'neutral' },
}

/** The file name "Save output" suggests: the job's name without .wasm, then .out. */
export function outputFileName(job: JobSummary): string {
  const base = (job.name || 'job').replace(/\.wasm$/i, '').replace(/[\\/:*?"<>|]+/g, '_')
  return `${base || 'job'}.out`
}

function saveBytes(bytes: Uint8Array, fileName: string): void {
  const url = URL.createObjectURL(
    new Blob([bytes as BlobPart], { type: 'application/octet-stream' }),
  )
  const a = document.createElement('a')
  a.href = url
  a.download = fileName
  document.body.append(a)
  a.click()
  a.remove()
  // After the click has started the download.
  setTimeout(() => URL.revokeObjectURL(url), 0)
}

function Output({ job }: { job: JobDetail }) {
  const bytes = useMemo(() => (job.output === null ? null : fromBase64(job.output)), [job.output])
  if (job.state !== 'done' || !job.resultHash) return null
  const text = bytes ? shortText(bytes) : null
  return (
    <section aria-label="Result" className="space-y-3">
      <h3 className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">Result</h3>
      <div className="flex items-center gap-1 text-xs">
        <span className="text-zinc-500 dark:text-zinc-400">Hash</span>
        <code data-testid="job-result-hash" className="font-mono break-all">
          {job.resultHash}
        </code>
        <CopyButton value={job.resultHash} label="Copy the result hash" />
      </div>
      {bytes === null ? (
        <p className="text-sm text-zinc-500 dark:text-zinc-400">
          The output isn’t kept on this node any more.
        </p>
      ) : (
        <>
          {bytes.length === 0 ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">The output is empty.</p>
          ) : text !== null ? (
            <pre
              data-testid="job-output"
              aria-label="Output"
              className="max-h-64 overflow-auto rounded-lg bg-zinc-100 p-3 font-mono text-xs whitespace-pre-wrap text-zinc-800 dark:bg-zinc-800 dark:text-zinc-100"
            >
              {text}
            </pre>
          ) : (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">
              {formatBytes(bytes.length)} of output that isn’t short text: save it to open it.
            </p>
          )}
          <Button
            size="sm"
            icon={Download}
            onClick={() => saveBytes(bytes, outputFileName(job))}
            disabled={bytes.length === 0}
          >
            Save output
          </Button>
        </>
      )}
    </section>
  )
}

export function JobDetailDialog({
  job: summary,
  onClose,
  refreshMs = 5000,
}: {
  /** The job as the list shows it, until compute.job answers. */
  job: JobSummary
  onClose: () => void
  refreshMs?: number
}) {
  const client = useClient()
  const detail = useNodeData(() => client.call('compute.job', { id: summary.id }), {
    refreshMs,
    events: ['job.updated'],
  })
  const job: JobSummary = detail.data ?? summary
  const state = JOB_STATE[job.state]
  return (
    <Modal
      title={job.name || 'Unnamed job'}
      description={<span className="font-mono text-xs">{job.id}</span>}
      onClose={onClose}
      size="lg"
      footer={<Button onClick={onClose}>Close</Button>}
    >
      <div className="space-y-5">
        <dl className="grid grid-cols-2 gap-4 sm:grid-cols-4">
          <Stat label="State">
            <Badge tone={state.tone}>{state.label}</Badge>
          </Stat>
          <Stat label="Agreement">
            {formatCount(job.quorum)} of {formatCount(job.replicas)} must agree
          </Stat>
          <Stat label="Module and input">
            {formatBytes(job.moduleBytes)} · {formatBytes(job.inputBytes)}
          </Stat>
          <Stat label="Submitted">
            {formatTimeMs(job.submittedAt)}
            {job.finishedAt !== null ? (
              <span className="block text-xs text-zinc-500 dark:text-zinc-400">
                took {formatDurationMs(Math.max(0, job.finishedAt - job.submittedAt))}
              </span>
            ) : null}
          </Stat>
        </dl>
        {job.error ? (
          <ErrorAlert title={JOB_ERROR[job.error.kind]}>{job.error.message}</ErrorAlert>
        ) : null}
        {detail.error ? (
          <ErrorAlert
            title="Couldn’t load the job"
            action={
              <Button size="sm" icon={RefreshCw} onClick={detail.retry}>
                Try again
              </Button>
            }
          >
            {errorMessage(detail.error)}
          </ErrorAlert>
        ) : null}
        <section aria-label="Donors" className="space-y-2">
          <h3 className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">Donors</h3>
          {job.donors.length === 0 ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">
              No donor has taken it yet: it waits for donors to come online.
            </p>
          ) : (
            <DataTable
              label="Donors"
              head={
                <>
                  <Th>Donor</Th>
                  <Th>State</Th>
                  <Th className="text-right">CPU time</Th>
                  <Th>Result</Th>
                  <Th>Credited</Th>
                </>
              }
            >
              {job.donors.map((d) => {
                const s = DONOR[d.state]
                return (
                  <tr key={d.identity} aria-label={`Donor ${d.identity}`}>
                    <Td>
                      <span className="font-mono text-xs" title={d.identity}>
                        {shortId(d.identity, 12)}
                      </span>
                    </Td>
                    <Td>
                      <Badge tone={s.tone}>{s.label}</Badge>
                      {d.error ? (
                        <span className="block max-w-xs text-xs text-red-700 dark:text-red-300">
                          {d.error}
                        </span>
                      ) : null}
                    </Td>
                    <Td className="text-right">
                      {d.cpuMs === null ? '—' : formatCpuTime(d.cpuMs)}
                    </Td>
                    <Td>
                      {d.resultHash ? (
                        <span className="font-mono text-xs" title={d.resultHash}>
                          {shortId(d.resultHash, 12)}
                        </span>
                      ) : (
                        '—'
                      )}
                    </Td>
                    <Td>{d.credited ? 'Yes' : 'No'}</Td>
                  </tr>
                )
              })}
            </DataTable>
          )}
        </section>
        {detail.data ? (
          <Output job={detail.data} />
        ) : detail.loading ? (
          <Spinner label="Loading the job…" />
        ) : null}
      </div>
    </Modal>
  )
}
