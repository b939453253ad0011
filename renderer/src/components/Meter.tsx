// A labelled horizontal meter: how much of something is used, as a bar and as words.
import { percent } from '../lib/format.ts'
import { cx } from './ui.tsx'

const tones = {
  indigo: 'bg-indigo-500',
  sky: 'bg-sky-500',
  amber: 'bg-amber-500',
  red: 'bg-red-500',
  zinc: 'bg-zinc-400 dark:bg-zinc-500',
} as const

export function Meter({
  label,
  value,
  max,
  text,
  tone = 'indigo',
}: {
  /** The meter's accessible name. */
  label: string
  value: number
  max: number
  /** What the meter says in words ("12 GB of 50 GB"): its value text and the visible caption. */
  text: string
  tone?: keyof typeof tones
}) {
  const pct = percent(value, max)
  return (
    <div
      role="meter"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct}
      aria-valuetext={`${text} (${pct} %)`}
      className="h-1.5 overflow-hidden rounded-full bg-zinc-200 dark:bg-zinc-800"
    >
      <div
        className={cx('h-full rounded-full transition-[width] duration-500', tones[tone])}
        style={{ width: `${pct}%` }}
      />
    </div>
  )
}
