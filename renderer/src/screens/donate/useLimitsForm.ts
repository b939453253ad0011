// The state of a form of donation limits: what was typed in each field (a limit nobody touched
// follows the node, which another client or the CLI may change), the errors shown, and a save that
// checks every field with the contract's rules first and then sends donate.set with only the
// limits that changed. A refusal from the node that names a limit (a schedule the engine can't
// read) is shown at that limit's field; any other at the form.
import { useEffect, useEffectEvent, useRef, useState, type FormEvent } from 'react'
import type { DonateStatus } from '../../../../shared/contract.ts'
import { errorCode, errorMessage } from '../../lib/errors.ts'
import { useClient } from '../../lib/spare-context.tsx'
import type { LimitFieldProps } from './LimitField.tsx'
import type { Draft, LimitDef, LimitKey, Limits } from './limits.ts'

type Drafts = Partial<Record<LimitKey, Draft>>
type Shown = Partial<Record<LimitKey, string>>

export interface LimitsFormState {
  /** The limits that would change on save (edited fields whose value differs from the node's). */
  change: Partial<Limits>
  /** Something to save or to fix. */
  dirty: boolean
  /** Any field edited since the last save (Discard changes). */
  edited: boolean
  busy: boolean
  saved: boolean
  /** The node's refusal, when it names no field. */
  error: unknown
  submit: (e: FormEvent) => Promise<void>
  reset: () => void
  field: (def: LimitDef) => LimitFieldProps
}

/** The field a BAD_INPUT refusal is about: the one its message names, or the only one sent. */
function refusedField(
  defs: readonly LimitDef[],
  sent: readonly LimitKey[],
  err: unknown,
): LimitDef | undefined {
  const message = errorMessage(err)
  const named = defs.find((d) => sent.includes(d.key) && d.names(message))
  if (named) return named
  return sent.length === 1 ? defs.find((d) => d.key === sent[0]) : undefined
}

export function useLimitsForm({
  defs,
  status,
  onSaved,
  beforeFocus,
}: {
  defs: readonly LimitDef[]
  status: DonateStatus
  onSaved: (status: DonateStatus) => void
  /** Called before the field of `key` gets focus (to open the part of the form it is in). */
  beforeFocus?: (key: LimitKey) => void
}): LimitsFormState {
  const client = useClient()
  const [drafts, setDrafts] = useState<Drafts>({})
  const [shown, setShown] = useState<Shown>({})
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [saved, setSaved] = useState(false)
  const inputs = useRef(new Map<LimitKey, HTMLInputElement>())
  // A field to focus once the form is enabled again (after the node refused a save).
  const focusAfterSave = useRef<LimitKey | null>(null)

  const draftFor = (def: LimitDef) => drafts[def.key] ?? def.draftOf(status.limits)
  const change: Partial<Limits> = {}
  const invalid: Array<{ def: LimitDef; error: string }> = []
  for (const def of defs) {
    // Untouched fields follow the node: only what was edited is read.
    const draft = drafts[def.key]
    if (!draft) continue
    const result = def.changeOf(draft, status)
    if (result.ok) Object.assign(change, result.value)
    else invalid.push({ def, error: result.error })
  }
  const dirty = Object.keys(change).length > 0 || invalid.length > 0

  function focus(key: LimitKey) {
    beforeFocus?.(key)
    inputs.current.get(key)?.focus()
  }

  const focusLater = useEffectEvent(focus)
  useEffect(() => {
    const key = focusAfterSave.current
    if (busy || key === null) return
    focusAfterSave.current = null
    focusLater(key)
  }, [busy])

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
      const errors: Shown = {}
      for (const { def, error: message } of invalid) errors[def.key] = message
      setShown(errors)
      const first = invalid[0]
      if (first) focus(first.def.key)
      return
    }
    setShown({})
    const keys = Object.keys(change) as LimitKey[]
    if (keys.length === 0) return
    setBusy(true)
    try {
      const next = await client.call('donate.set', change)
      onSaved(next)
      setDrafts({})
      setSaved(true)
    } catch (err) {
      // The input was refused: at the field it names, or the only one sent.
      const at = errorCode(err) === 'BAD_INPUT' ? refusedField(defs, keys, err) : undefined
      if (at) {
        setShown({ [at.key]: errorMessage(err) })
        focusAfterSave.current = at.key
      } else {
        setError(err)
      }
    } finally {
      setBusy(false)
    }
  }

  return {
    change,
    dirty,
    edited: Object.keys(drafts).length > 0,
    busy,
    saved,
    error,
    submit,
    reset,
    field: (def) => ({
      def,
      draft: draftFor(def),
      hint: def.hint(status),
      error: shown[def.key] ?? null,
      disabled: busy,
      onChange: (draft) => edit(def.key, draft),
      inputRef: (el) => {
        if (el) inputs.current.set(def.key, el)
        else inputs.current.delete(def.key)
      },
    }),
  }
}
