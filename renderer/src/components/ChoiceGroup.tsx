// A labelled group of radio "cards": one short label and a sentence of description each. The
// radio's accessible name is its label; the description is tied to it by aria-describedby.
import { useId, type ReactNode } from 'react'
import { cx } from './ui.tsx'

export interface Choice<V extends string> {
  value: V
  label: string
  description: ReactNode
  /** Greyed out and not selectable; say why in the description. */
  disabled?: boolean
}

export function ChoiceGroup<V extends string>({
  legend,
  value,
  onChange,
  options,
  disabled = false,
}: {
  legend: string
  value: V
  onChange: (value: V) => void
  options: ReadonlyArray<Choice<V>>
  disabled?: boolean
}) {
  const id = useId()
  return (
    <fieldset disabled={disabled} className="space-y-1.5">
      <legend className="mb-1.5 block text-sm font-medium text-zinc-800 dark:text-zinc-200">
        {legend}
      </legend>
      <div className="space-y-2">
        {options.map((option) => {
          const checked = value === option.value
          const labelId = `${id}-${option.value}-label`
          const descriptionId = `${id}-${option.value}-description`
          return (
            <label
              key={option.value}
              className={cx(
                'flex items-start gap-2.5 rounded-lg px-3 py-2 text-sm ring-1 ring-inset transition-colors has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-indigo-500',
                option.disabled || disabled ? 'cursor-not-allowed opacity-60' : 'cursor-pointer',
                checked
                  ? 'bg-indigo-50/60 ring-indigo-300 dark:bg-indigo-950/40 dark:ring-indigo-800'
                  : 'ring-zinc-200 hover:bg-zinc-50 dark:ring-zinc-800 dark:hover:bg-zinc-900',
              )}
            >
              <input
                type="radio"
                name={`${id}-choice`}
                value={option.value}
                checked={checked}
                disabled={option.disabled}
                aria-labelledby={labelId}
                aria-describedby={descriptionId}
                onChange={() => onChange(option.value)}
                className="mt-0.5 size-4 shrink-0 accent-indigo-600"
              />
              <span className="min-w-0">
                <span id={labelId} className="block font-medium text-zinc-900 dark:text-zinc-100">
                  {option.label}
                </span>
                <span id={descriptionId} className="block text-xs text-zinc-500 dark:text-zinc-400">
                  {option.description}
                </span>
              </span>
            </label>
          )
        })}
      </div>
    </fieldset>
  )
}
