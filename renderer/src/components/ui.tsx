// Small building blocks shared by the screens: buttons, badges, alerts, form fields, page header.
import type { ButtonHTMLAttributes, ReactNode, Ref } from 'react'
import { useId } from 'react'
import { TriangleExclamationPoint, LoaderCircle, type LucideIcon } from 'lucide-react'

export function cx(...classes: Array<string | false | null | undefined>): string {
  return classes.filter(Boolean).join(' ')
}

type Icon = LucideIcon

const focusRing =
  'focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-indigo-500'

const variants = {
  primary:
    'bg-indigo-600 text-white shadow-sm hover:bg-indigo-500 active:bg-indigo-700 disabled:bg-indigo-600/60',
  secondary:
    'bg-white text-zinc-800 shadow-xs ring-1 ring-inset ring-zinc-300 hover:bg-zinc-50 active:bg-zinc-100 dark:bg-zinc-800 dark:text-zinc-100 dark:ring-zinc-700 dark:hover:bg-zinc-700/70',
  danger:
    'bg-red-600 text-white shadow-sm hover:bg-red-500 active:bg-red-700 disabled:bg-red-600/60',
  ghost:
    'text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800 dark:hover:text-zinc-100',
  subtleDanger:
    'text-zinc-600 hover:bg-red-50 hover:text-red-700 dark:text-zinc-400 dark:hover:bg-red-950/60 dark:hover:text-red-300',
} as const

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: keyof typeof variants
  size?: 'sm' | 'md'
  icon?: Icon
  busy?: boolean
  ref?: Ref<HTMLButtonElement>
}

export function Button({
  variant = 'secondary',
  size = 'md',
  icon: IconComponent,
  busy = false,
  className,
  children,
  type = 'button',
  disabled,
  ...rest
}: ButtonProps) {
  return (
    <button
      type={type}
      disabled={disabled || busy}
      aria-busy={busy || undefined}
      className={cx(
        'inline-flex shrink-0 items-center justify-center gap-1.5 rounded-lg font-medium whitespace-nowrap transition-colors disabled:cursor-not-allowed disabled:opacity-70',
        focusRing,
        size === 'sm' ? 'h-8 px-2.5 text-[13px]' : 'h-9 px-3.5 text-sm',
        variants[variant],
        className,
      )}
      {...rest}
    >
      {busy ? (
        <LoaderCircle aria-hidden="true" className="size-4 animate-spin" />
      ) : IconComponent ? (
        <IconComponent aria-hidden="true" className="size-4" />
      ) : null}
      {children}
    </button>
  )
}

const badgeTones = {
  neutral:
    'bg-zinc-100 text-zinc-700 ring-zinc-200 dark:bg-zinc-800 dark:text-zinc-300 dark:ring-zinc-700',
  indigo:
    'bg-indigo-50 text-indigo-700 ring-indigo-200 dark:bg-indigo-950/60 dark:text-indigo-300 dark:ring-indigo-900',
  green:
    'bg-emerald-50 text-emerald-700 ring-emerald-200 dark:bg-emerald-950/60 dark:text-emerald-300 dark:ring-emerald-900',
  blue: 'bg-sky-50 text-sky-700 ring-sky-200 dark:bg-sky-950/60 dark:text-sky-300 dark:ring-sky-900',
  amber:
    'bg-amber-50 text-amber-800 ring-amber-200 dark:bg-amber-950/60 dark:text-amber-300 dark:ring-amber-900',
  red: 'bg-red-50 text-red-700 ring-red-200 dark:bg-red-950/60 dark:text-red-300 dark:ring-red-900',
} as const

export type BadgeTone = keyof typeof badgeTones

export function Badge({
  tone = 'neutral',
  children,
  className,
}: {
  tone?: BadgeTone
  children: ReactNode
  className?: string
}) {
  return (
    <span
      className={cx(
        'inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset',
        badgeTones[tone],
        className,
      )}
    >
      {children}
    </span>
  )
}

/** An error shown where the action happened; announced to screen readers. */
export function ErrorAlert({
  children,
  title,
  action,
  className,
}: {
  children: ReactNode
  title?: string
  action?: ReactNode
  className?: string
}) {
  return (
    <div
      role="alert"
      className={cx(
        'flex items-start gap-2.5 rounded-lg border border-red-200 bg-red-50 px-3 py-2.5 text-sm text-red-800 dark:border-red-900/70 dark:bg-red-950/50 dark:text-red-200',
        className,
      )}
    >
      <TriangleExclamationPoint aria-hidden="true" className="mt-0.5 size-4 shrink-0" />
      <div className="min-w-0 flex-1 break-words">
        {title ? <p className="font-medium">{title}</p> : null}
        <p>{children}</p>
      </div>
      {action}
    </div>
  )
}

export function Spinner({ label }: { label: string }) {
  return (
    <p role="status" className="flex items-center gap-2 text-sm text-zinc-500 dark:text-zinc-400">
      <LoaderCircle aria-hidden="true" className="size-4 animate-spin" />
      {label}
    </p>
  )
}

export const inputClass =
  'block w-full rounded-lg border-0 bg-white px-3 py-2 text-sm text-zinc-900 shadow-xs ring-1 ring-inset ring-zinc-300 placeholder:text-zinc-400 focus:ring-2 focus:ring-inset focus:ring-indigo-500 focus:outline-none disabled:opacity-60 dark:bg-zinc-900 dark:text-zinc-100 dark:ring-zinc-700 dark:placeholder:text-zinc-500'

interface FieldProps {
  label: string
  value: string
  onChange: (value: string) => void
  hint?: ReactNode
  error?: string | null
  placeholder?: string
  multiline?: boolean
  mono?: boolean
  disabled?: boolean
  autoFocus?: boolean
  /** Something to put next to the input, like a "Browse…" button. */
  addon?: ReactNode
  name?: string
  /** The on-screen keyboard to offer (a single-line input only). */
  inputMode?: 'numeric' | 'decimal'
}

/** A labelled text input or textarea, with an optional hint and error tied to it by ARIA. */
export function Field({
  label,
  value,
  onChange,
  hint,
  error,
  placeholder,
  multiline = false,
  mono = false,
  disabled,
  autoFocus,
  addon,
  name,
  inputMode,
}: FieldProps) {
  const id = useId()
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  const describedBy = cx(hint ? hintId : null, error ? errorId : null) || undefined
  const common = {
    id,
    name,
    value,
    placeholder,
    disabled,
    // Modal focuses the element carrying data-autofocus once it has mounted.
    'data-autofocus': autoFocus ? '' : undefined,
    'aria-describedby': describedBy,
    'aria-invalid': error ? true : undefined,
    spellCheck: false,
    autoComplete: 'off',
    className: cx(inputClass, mono && 'font-mono', error && 'ring-red-400 dark:ring-red-700'),
  }
  return (
    <div className="space-y-1.5">
      <label htmlFor={id} className="block text-sm font-medium text-zinc-800 dark:text-zinc-200">
        {label}
      </label>
      <div className="flex gap-2">
        {multiline ? (
          <textarea
            {...common}
            rows={4}
            className={cx(common.className, 'resize-y')}
            onChange={(e) => onChange(e.target.value)}
          />
        ) : (
          <input
            {...common}
            type="text"
            inputMode={inputMode}
            onChange={(e) => onChange(e.target.value)}
          />
        )}
        {addon}
      </div>
      {hint ? (
        <p id={hintId} className="text-xs text-zinc-500 dark:text-zinc-400">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="text-xs font-medium text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
    </div>
  )
}

export function PageHeader({
  title,
  description,
  actions,
}: {
  title: string
  description?: ReactNode
  actions?: ReactNode
}) {
  return (
    <header className="mb-6 flex flex-wrap items-end justify-between gap-4">
      <div className="min-w-0">
        <h1
          tabIndex={-1}
          data-page-heading=""
          className="text-2xl font-semibold tracking-tight text-zinc-900 focus:outline-none dark:text-zinc-50"
        >
          {title}
        </h1>
        {description ? (
          <p className="mt-1 text-sm text-zinc-500 dark:text-zinc-400">{description}</p>
        ) : null}
      </div>
      {actions ? <div className="flex flex-wrap gap-2">{actions}</div> : null}
    </header>
  )
}

/** A white rounded panel with an optional titled header. */
export function Panel({
  title,
  titleId,
  actions,
  children,
  className,
}: {
  title?: string
  titleId?: string
  actions?: ReactNode
  children: ReactNode
  className?: string
}) {
  return (
    <section
      aria-labelledby={title ? titleId : undefined}
      className={cx(
        'rounded-xl border border-zinc-200 bg-white shadow-xs dark:border-zinc-800 dark:bg-zinc-900/60',
        className,
      )}
    >
      {title ? (
        <div className="flex items-center justify-between gap-3 border-b border-zinc-200 px-5 py-3 dark:border-zinc-800">
          <h2 id={titleId} className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">
            {title}
          </h2>
          {actions}
        </div>
      ) : null}
      {children}
    </section>
  )
}

/** A term/value pair inside a <dl>. */
export function Stat({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium text-zinc-500 dark:text-zinc-400">{label}</dt>
      <dd className="mt-0.5 truncate text-sm font-medium text-zinc-900 tabular-nums dark:text-zinc-100">
        {children}
      </dd>
    </div>
  )
}
