// The donation limits: three disk limits (the smallest wins) and the two hosting rates. Each can be
// switched off (or typed as 'off'); what is typed is checked here with the engine's rules before
// anything is sent, and Save sends donate.set with only the limits that changed.
import { useId, useRef, useState, type FormEvent } from 'react'
import { RotateCcw, Save, TriangleAlert } from 'lucide-react'
import type { DonateStatus } from '../../../../shared/contract.ts'
import { Button, ErrorAlert, cx, inputClass } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { formatBytes, formatCount } from '../../lib/format.ts'
import { useClient } from '../../lib/spare-context.tsx'
import { diskBudget, formatLimit, isOff, parseLimit, type Parsed } from '../../lib/units.ts'
import {
  ALL_LIMITS,
  DISK_LIMITS,
  RATE_LIMITS,
  type LimitDef,
  type LimitKey,
  type Limits,
} from './limits.ts'

interface Draft {
  on: boolean
  text: string
}

type Drafts = Partial<Record<LimitKey, Draft>>

/** How a limit's row starts: on with its value, or off with an empty field. */
function draftOf(def: LimitDef, value: number | null): Draft {
  return value === null ? { on: false, text: '' } : { on: true, text: formatLimit(def.kind, value) }
}

function parseDraft(def: LimitDef, draft: Draft): Parsed<number | null> {
  return draft.on ? parseLimit(def.kind, draft.text) : { ok: true, value: null }
}

function LimitField({
  def,
  draft,
  error,
  disabled,
  onChange,
  inputRef,
}: {
  def: LimitDef
  draft: Draft
  error: string | null
  disabled: boolean
  onChange: (draft: Draft) => void
  inputRef: (el: HTMLInputElement | null) => void
}) {
  const id = useId()
  const labelId = `${id}-label`
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  return (
    <div className="space-y-1.5">
      <div className="flex items-center justify-between gap-3">
        <label
          id={labelId}
          htmlFor={id}
          className="block text-sm font-medium text-zinc-800 dark:text-zinc-200"
        >
          {def.label}
        </label>
        <label className="flex cursor-pointer items-center gap-2 text-xs text-zinc-600 dark:text-zinc-400">
          <span aria-hidden="true">{draft.on ? 'On' : 'Off'}</span>
          <input
            type="checkbox"
            role="switch"
            aria-labelledby={labelId}
            checked={draft.on}
            disabled={disabled}
            onChange={(e) => {
              const on = e.target.checked
              // Switched on from 'off': start from an empty field, not the word.
              onChange({ on, text: on && isOff(draft.text) ? '' : draft.text })
            }}
            className="peer sr-only"
          />
          <span
            aria-hidden="true"
            className="relative inline-flex h-5 w-9 shrink-0 items-center rounded-full bg-zinc-300 transition-colors peer-checked:bg-indigo-600 peer-focus-visible:outline-2 peer-focus-visible:outline-offset-2 peer-focus-visible:outline-indigo-500 peer-disabled:opacity-60 after:absolute after:left-0.5 after:size-4 after:rounded-full after:bg-white after:shadow-sm after:transition-transform peer-checked:after:translate-x-4 dark:bg-zinc-700"
          />
        </label>
      </div>
      <input
        ref={inputRef}
        id={id}
        type="text"
        name={def.key}
        value={draft.on ? draft.text : ''}
        placeholder={draft.on ? def.placeholder : 'Off'}
        disabled={disabled || !draft.on}
        aria-describedby={cx(hintId, error ? errorId : null)}
        aria-invalid={error ? true : undefined}
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => onChange({ on: true, text: e.target.value })}
        className={cx(inputClass, error && 'ring-red-400 dark:ring-red-700')}
      />
      <p id={hintId} className="text-xs text-zinc-500 dark:text-zinc-400">
        {def.hint}
      </p>
      {error ? (
        <p id={errorId} className="text-xs font-medium text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
    </div>
  )
}

/** What saving `limits` would do to the folders kept for others, or null when nothing. */
function evictionWarning(status: DonateStatus, limits: Limits): string | null {
  if (status.hosting.length === 0) return null
  const next = diskBudget(limits, status.usedBytes, status.fs)
  if (next.budget >= status.usedBytes) return null
  const n = status.hosting.length
  if (next.binding === 'none') {
    return `With no disk limit this node donates nothing: the ${formatCount(n)} ${n === 1 ? 'folder' : 'folders'} it keeps for others will be dropped.`
  }
  return `With these limits this node can keep ${formatBytes(next.budget)}, less than the ${formatBytes(status.usedBytes)} it keeps for others now: folders are dropped, least recently needed first, until it fits.`
}

export function LimitsForm({
  status,
  onSaved,
}: {
  status: DonateStatus
  onSaved: (status: DonateStatus) => void
}) {
  const client = useClient()
  // A limit without a draft follows the node (another client or the CLI may change it).
  const [drafts, setDrafts] = useState<Drafts>({})
  const [shown, setShown] = useState<Partial<Record<LimitKey, string>>>({})
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [saved, setSaved] = useState(false)
  const inputs = useRef(new Map<LimitKey, HTMLInputElement>())

  const current = status.limits
  const draftFor = (def: LimitDef) => drafts[def.key] ?? draftOf(def, current[def.key])
  const parsed = ALL_LIMITS.map((def) => ({ def, result: parseDraft(def, draftFor(def)) }))
  const change: Partial<Limits> = {}
  for (const { def, result } of parsed) {
    if (result.ok && result.value !== current[def.key]) change[def.key] = result.value
  }
  const invalid = parsed.filter((p) => !p.result.ok)
  const dirty = Object.keys(change).length > 0 || invalid.length > 0
  const warning = evictionWarning(status, { ...current, ...change })

  function edit(key: LimitKey, draft: Draft) {
    setDrafts((d) => ({ ...d, [key]: draft }))
    setShown(({ [key]: _dropped, ...rest }) => rest)
    setSaved(false)
    setError(null)
  }

  function reset() {
    setDrafts({})
    setShown({})
    setError(null)
  }

  async function submit(e: FormEvent) {
    e.preventDefault()
    if (busy) return
    setSaved(false)
    setError(null)
    if (invalid.length > 0) {
      const errors: Partial<Record<LimitKey, string>> = {}
      for (const { def, result } of invalid) if (!result.ok) errors[def.key] = result.error
      setShown(errors)
      const first = invalid[0]
      if (first) inputs.current.get(first.def.key)?.focus()
      return
    }
    setShown({})
    if (Object.keys(change).length === 0) return
    setBusy(true)
    try {
      const next = await client.call('donate.set', change)
      onSaved(next)
      setDrafts({})
      setSaved(true)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  const field = (def: LimitDef) => (
    <LimitField
      key={def.key}
      def={def}
      draft={draftFor(def)}
      error={shown[def.key] ?? null}
      disabled={busy}
      onChange={(draft) => edit(def.key, draft)}
      inputRef={(el) => {
        if (el) inputs.current.set(def.key, el)
        else inputs.current.delete(def.key)
      }}
    />
  )

  return (
    <form noValidate onSubmit={(e) => void submit(e)} className="space-y-6 p-5">
      <fieldset className="space-y-4">
        <legend className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">Disk</legend>
        <p className="-mt-2 text-xs text-zinc-500 dark:text-zinc-400">
          Nothing is donated until at least one disk limit is on. With several, the smallest one
          wins.
        </p>
        <div className="grid gap-5 md:grid-cols-3">{DISK_LIMITS.map(field)}</div>
      </fieldset>
      <fieldset className="space-y-4">
        <legend className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">
          Bandwidth for hosting
        </legend>
        <p className="-mt-2 text-xs text-zinc-500 dark:text-zinc-400">
          Only traffic for folders kept for others is limited; your own folders sync at full speed.
          Off means no limit.
        </p>
        <div className="grid gap-5 md:grid-cols-2">{RATE_LIMITS.map(field)}</div>
      </fieldset>
      {warning ? (
        <p className="flex items-start gap-2.5 rounded-lg border border-amber-200 bg-amber-50 px-3 py-2.5 text-sm text-amber-900 dark:border-amber-900/70 dark:bg-amber-950/50 dark:text-amber-100">
          <TriangleAlert aria-hidden="true" className="mt-0.5 size-4 shrink-0" />
          <span>{warning}</span>
        </p>
      ) : null}
      <div className="flex flex-wrap items-center gap-3">
        <Button type="submit" variant="primary" icon={Save} busy={busy} disabled={!dirty}>
          Save limits
        </Button>
        {Object.keys(drafts).length > 0 ? (
          <Button variant="ghost" icon={RotateCcw} onClick={reset} disabled={busy}>
            Discard changes
          </Button>
        ) : null}
        <p role="status" className="text-xs text-emerald-700 empty:hidden dark:text-emerald-300">
          {saved ? 'Limits saved.' : ''}
        </p>
      </div>
      {error ? (
        <ErrorAlert title="Couldn’t save the limits">{errorMessage(error)}</ErrorAlert>
      ) : null}
    </form>
  )
}
