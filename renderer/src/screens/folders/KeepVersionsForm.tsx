// How long a two-way folder keeps replaced and deleted versions (folders.configure).
import { useState, type FormEvent } from 'react'
import { Save } from 'lucide-react'
import type { FolderSummary } from '../../../../shared/contract.ts'
import { Button, ErrorAlert, Field } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { useClient } from '../../lib/spare-context.tsx'
import { DetailSection } from './DetailSection.tsx'
import { checkParams } from './validation.ts'
import { useFocusInvalid } from '../../lib/useFocusInvalid.ts'

/** The days typed, or a sentence saying what is wrong with them. */
export function parseDays(text: string, id: string): { days: number } | { error: string } {
  const t = text.trim()
  if (!t) return { error: 'Enter a number of days, like 30 (0 keeps none).' }
  if (!/^-?\d+(\.\d+)?$/.test(t)) return { error: 'Days must be a number, like 30.' }
  const days = Number(t)
  const invalid = checkParams('folders.configure', { id, versionsDays: days })
  if (invalid?.versionsDays) return { error: invalid.versionsDays }
  return { days }
}

export function KeepVersionsForm({
  folder,
  onSaved,
}: {
  folder: FolderSummary
  onSaved: (days: number) => void
}) {
  const client = useClient()
  // null: untouched, so the field follows the folder (also when another client changes it).
  const [draft, setDraft] = useState<string | null>(null)
  const [fieldError, setFieldError] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const focusInvalid = useFocusInvalid()
  const [saved, setSaved] = useState<number | null>(null)
  const titleId = `folder-${folder.id}-keep-versions`
  const text = draft ?? (folder.versionsDays === null ? '' : String(folder.versionsDays))

  async function submit(e: FormEvent) {
    e.preventDefault()
    if (busy) return
    const parsed = parseDays(text, folder.id)
    setError(null)
    setSaved(null)
    if ('error' in parsed) {
      setFieldError(parsed.error)
      focusInvalid(e.currentTarget)
      return
    }
    setFieldError(null)
    setBusy(true)
    try {
      await client.call('folders.configure', { id: folder.id, versionsDays: parsed.days })
      setDraft(null)
      setSaved(parsed.days)
      onSaved(parsed.days)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <DetailSection
      id={titleId}
      title="Keep versions"
      description={`How long replaced and deleted files stay restorable on this device (now: ${folder.versionsDays ?? 30} ${folder.versionsDays === 1 ? 'day' : 'days'}); 0 keeps none.`}
    >
      <form noValidate onSubmit={(e) => void submit(e)} className="max-w-sm space-y-2">
        <Field
          label="Keep versions for (days)"
          name="versions-days"
          value={text}
          onChange={(value) => {
            setDraft(value)
            setFieldError(null)
            setSaved(null)
          }}
          inputMode="decimal"
          placeholder="30"
          error={fieldError}
          disabled={busy}
          addon={
            <Button type="submit" icon={Save} busy={busy}>
              Save
            </Button>
          }
        />
        <p role="status" className="text-xs text-emerald-700 empty:hidden dark:text-emerald-300">
          {saved !== null
            ? `Saved: versions are kept for ${saved} ${saved === 1 ? 'day' : 'days'}.`
            : ''}
        </p>
        {error ? (
          <ErrorAlert title="Couldn’t change how long versions are kept">
            {errorMessage(error)}
          </ErrorAlert>
        ) : null}
      </form>
    </DetailSection>
  )
}
