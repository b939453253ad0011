// One donation limit's field: a labelled text input behind an on/off switch, a text input alone,
// or a checkbox; its hint and its error tied to it by ARIA.
import { useId } from 'react'
import { cx, inputClass } from '../../components/ui.tsx'
import { isOff } from '../../lib/units.ts'
import type { Draft, LimitDef } from './limits.ts'

export interface LimitFieldProps {
  def: LimitDef
  draft: Draft
  hint: string
  error: string | null
  disabled: boolean
  onChange: (draft: Draft) => void
  inputRef: (el: HTMLInputElement | null) => void
}

function Switch({
  labelId,
  on,
  disabled,
  onChange,
}: {
  labelId: string
  on: boolean
  disabled: boolean
  onChange: (on: boolean) => void
}) {
  return (
    <label className="flex shrink-0 cursor-pointer items-center gap-2 text-xs text-zinc-600 dark:text-zinc-400">
      <span aria-hidden="true">{on ? 'On' : 'Off'}</span>
      <input
        type="checkbox"
        role="switch"
        aria-labelledby={labelId}
        checked={on}
        disabled={disabled}
        onChange={(e) => onChange(e.target.checked)}
        className="peer sr-only"
      />
      <span
        aria-hidden="true"
        className="relative inline-flex h-5 w-9 shrink-0 items-center rounded-full bg-zinc-300 transition-colors peer-checked:bg-indigo-600 peer-focus-visible:outline-2 peer-focus-visible:outline-offset-2 peer-focus-visible:outline-indigo-500 peer-disabled:opacity-60 after:absolute after:left-0.5 after:size-4 after:rounded-full after:bg-white after:shadow-sm after:transition-transform peer-checked:after:translate-x-4 dark:bg-zinc-700"
      />
    </label>
  )
}

function FieldError({ id, error }: { id: string; error: string | null }) {
  return error ? (
    <p id={id} className="text-xs font-medium text-red-700 dark:text-red-300">
      {error}
    </p>
  ) : null
}

export function LimitField({
  def,
  draft,
  hint,
  error,
  disabled,
  onChange,
  inputRef,
}: LimitFieldProps) {
  const id = useId()
  const labelId = `${id}-label`
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  const describedBy = cx(hintId, error ? errorId : null)

  if (def.control === 'checkbox') {
    return (
      <div className="space-y-1.5">
        <label className="flex cursor-pointer items-start gap-2.5 text-sm font-medium text-zinc-800 dark:text-zinc-200">
          <input
            ref={inputRef}
            id={id}
            type="checkbox"
            name={def.key}
            checked={draft.on}
            disabled={disabled}
            aria-describedby={describedBy}
            aria-invalid={error ? true : undefined}
            onChange={(e) => onChange({ on: e.target.checked, text: '' })}
            className="mt-0.5 size-4 shrink-0 accent-indigo-600"
          />
          {def.label}
        </label>
        <p id={hintId} className="pl-6.5 text-xs text-zinc-500 dark:text-zinc-400">
          {hint}
        </p>
        <FieldError id={errorId} error={error} />
      </div>
    )
  }

  const switched = def.control === 'switch'
  const off = switched && !draft.on
  return (
    <div className="space-y-1.5">
      <div className="flex items-start justify-between gap-3">
        <label
          id={labelId}
          htmlFor={id}
          className="block text-sm font-medium text-zinc-800 dark:text-zinc-200"
        >
          {def.label}
        </label>
        {switched ? (
          <Switch
            labelId={labelId}
            on={draft.on}
            disabled={disabled}
            onChange={(on) =>
              // Switched on from 'off': start from an empty field, not the word.
              onChange({ on, text: on && isOff(draft.text) ? '' : draft.text })
            }
          />
        ) : null}
      </div>
      <input
        ref={inputRef}
        id={id}
        type="text"
        name={def.key}
        value={off ? '' : draft.text}
        placeholder={off ? 'Off' : def.placeholder}
        disabled={disabled || off}
        inputMode={def.inputMode}
        aria-describedby={describedBy}
        aria-invalid={error ? true : undefined}
        spellCheck={false}
        autoComplete="off"
        onChange={(e) => onChange({ on: true, text: e.target.value })}
        className={cx(inputClass, error && 'ring-red-400 dark:ring-red-700')}
      />
      <p id={hintId} className="text-xs text-zinc-500 dark:text-zinc-400">
        {hint}
      </p>
      <FieldError id={errorId} error={error} />
    </div>
  )
}
