// Save, Discard changes and the saved notice of a form of donation limits.
import { RotateCcw, Save } from 'lucide-react'
import { Button } from '../../components/ui.tsx'
import type { LimitsFormState } from './useLimitsForm.ts'

/** Save, Discard changes and the saved notice of a form of limits. */
export function SaveRow({
  form,
  label,
  savedText,
}: {
  form: LimitsFormState
  label: string
  savedText: string
}) {
  return (
    <div className="flex flex-wrap items-center gap-3">
      <Button type="submit" variant="primary" icon={Save} busy={form.busy} disabled={!form.dirty}>
        {label}
      </Button>
      {form.edited ? (
        <Button variant="ghost" icon={RotateCcw} onClick={form.reset} disabled={form.busy}>
          Discard changes
        </Button>
      ) : null}
      <p role="status" className="text-xs text-emerald-700 empty:hidden dark:text-emerald-300">
        {form.saved ? savedText : ''}
      </p>
    </div>
  )
}
