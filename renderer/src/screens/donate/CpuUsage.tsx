// Donated CPU, live: whether jobs may run now and why not (the governor's one sentence, with its
// state as a badge), what donor jobs use against the CPU-time limit, what the user's own programs
// use against the suspend threshold, the jobs running and waiting, and the idle time and power
// source the limits are applied to, with where those readings come from.
import type { ReactNode } from 'react'
import { Battery, Cpu, Plug } from 'lucide-react'
import type { CpuBlock, DonateStatus } from '../../../../shared/contract.ts'
import { Meter } from '../../components/Meter.tsx'
import { Badge, Stat, cx, type BadgeTone } from '../../components/ui.tsx'
import { formatCount, formatDuration } from '../../lib/format.ts'

/** The badge of each state: short, in BOINC's words where it has them. */
export const CPU_STATE: Record<CpuBlock | 'running', { label: string; tone: BadgeTone }> = {
  running: { label: 'Running', tone: 'green' },
  off: { label: 'Not donating', tone: 'neutral' },
  paused: { label: 'Paused', tone: 'amber' },
  schedule: { label: 'Outside the schedule', tone: 'neutral' },
  battery: { label: 'On battery', tone: 'amber' },
  'in-use': { label: 'Computer in use', tone: 'neutral' },
  busy: { label: 'Other programs busy', tone: 'amber' },
}

/** "42.5" → "42.5 %", whole numbers without decimals, at most one decimal. */
function pct(n: number): string {
  return `${Number(n.toFixed(1))} %`
}

function GaugeRow({
  label,
  detail,
  children,
}: {
  label: string
  detail: string
  children: ReactNode
}) {
  return (
    <div className="space-y-1.5">
      <div className="flex flex-wrap items-baseline justify-between gap-x-3 gap-y-0.5 text-sm">
        <span className="font-medium text-zinc-900 dark:text-zinc-100">{label}</span>
        <span className="text-xs text-zinc-500 tabular-nums dark:text-zinc-400">{detail}</span>
      </div>
      {children}
    </div>
  )
}

function DonorGauge({ status }: { status: DonateStatus }) {
  const { cpuPercent } = status.limits
  const used = status.cpu.usedPercent
  if (!cpuPercent) {
    return (
      <GaugeRow label="Used by jobs" detail="No CPU donated">
        <Meter label="CPU time used by jobs" value={0} max={1} text="No CPU donated" tone="zinc" />
      </GaugeRow>
    )
  }
  const over = used > cpuPercent
  const text = `${pct(used)} of the ${pct(cpuPercent)} allowed`
  return (
    <GaugeRow label="Used by jobs" detail={text}>
      <Meter
        label="CPU time used by jobs"
        value={used}
        max={cpuPercent}
        text={text}
        tone={over ? 'amber' : 'indigo'}
      />
    </GaugeRow>
  )
}

function OtherGauge({ status }: { status: DonateStatus }) {
  const above = status.limits.suspendAboveOtherPercent
  const other = status.cpu.otherPercent
  if (other === null) {
    return (
      <GaugeRow label="Used by other programs" detail="No reading yet">
        <Meter
          label="CPU used by other programs"
          value={0}
          max={1}
          text="No reading yet"
          tone="zinc"
        />
      </GaugeRow>
    )
  }
  if (above === null) {
    const text = `${pct(other)} of the computer; jobs never wait for it`
    return (
      <GaugeRow label="Used by other programs" detail={text}>
        <Meter label="CPU used by other programs" value={other} max={100} text={text} tone="sky" />
      </GaugeRow>
    )
  }
  const busy = other > above
  const text = `${pct(other)} of the computer; jobs wait above ${pct(above)}`
  return (
    <GaugeRow label="Used by other programs" detail={text}>
      <Meter
        label="CPU used by other programs"
        value={other}
        max={above}
        text={text}
        tone={busy ? 'amber' : 'sky'}
      />
    </GaugeRow>
  )
}

function idleText(idleMs: number | null): string {
  if (idleMs === null) return 'Unknown'
  if (idleMs < 10_000) return 'In use now'
  return formatDuration(idleMs / 1000)
}

function powerText(onBattery: boolean | null): string {
  if (onBattery === null) return 'Unknown'
  return onBattery ? 'Battery' : 'Mains power'
}

export function CpuUsage({ status }: { status: DonateStatus }) {
  const { cpu, limits } = status
  const state = CPU_STATE[cpu.blockedBy ?? 'running']
  const PowerIcon = cpu.onBattery ? Battery : Plug
  return (
    <div className="space-y-5 p-5">
      <p
        data-testid="cpu-summary"
        data-state={cpu.blockedBy ?? 'running'}
        className={cx(
          'flex flex-wrap items-start gap-x-2.5 gap-y-1.5 rounded-lg border px-3 py-2.5 text-sm',
          cpu.blockedBy === null
            ? 'border-emerald-200 bg-emerald-50/60 text-emerald-900 dark:border-emerald-900/70 dark:bg-emerald-950/40 dark:text-emerald-100'
            : 'border-zinc-200 bg-zinc-50 text-zinc-700 dark:border-zinc-800 dark:bg-zinc-900/60 dark:text-zinc-300',
        )}
      >
        <Cpu aria-hidden="true" className="mt-0.5 size-4 shrink-0" />
        <Badge tone={state.tone}>{state.label}</Badge>
        <span className="min-w-0 flex-1 basis-48">{cpu.reason}</span>
      </p>

      <div className="grid gap-5 md:grid-cols-2">
        <DonorGauge status={status} />
        <OtherGauge status={status} />
      </div>

      <dl className="grid grid-cols-2 gap-x-4 gap-y-4 sm:grid-cols-5">
        <Stat label="Running jobs">{formatCount(cpu.running)}</Stat>
        <Stat label="Waiting jobs">{formatCount(cpu.queued)}</Stat>
        <Stat label="Cores for jobs">
          {formatCount(limits.cpuCores)} of {formatCount(cpu.machineCores)}
        </Stat>
        <Stat label="Idle for">{idleText(cpu.idleMs)}</Stat>
        <Stat label="Power">
          <span className="inline-flex items-center gap-1">
            {cpu.onBattery !== null ? (
              <PowerIcon aria-hidden="true" className="size-3.5 shrink-0 text-zinc-500" />
            ) : null}
            {powerText(cpu.onBattery)}
          </span>
        </Stat>
      </dl>
      <p data-testid="cpu-probe" className="text-xs text-zinc-500 dark:text-zinc-400">
        Idle time and power source as reported by {cpu.probe}.
      </p>
    </div>
  )
}
