// "Submit a job": what `spare compute submit` does, from the UI. The module (.wasm) and the input
// are chosen with <input type="file"> and read in the renderer (no Node APIs), checked here before
// anything is sent (the 2 MiB caps, the WebAssembly magic, replicas 1-9, the wall time with the
// CPU limits' time parser), then sent as base64 with compute.submit. What was entered stays on an
// error, the engine's refusal shows inline, and the dialog can't be closed while the call runs.
import { useId, useState, type FormEvent } from 'react'
import { Cpu } from 'lucide-react'
import {
  JOB_INPUT_MAX_BYTES,
  JOB_MODULE_MAX_BYTES,
  type JobSummary,
  type MethodParams,
} from '../../../../shared/contract.ts'
import { FormFooter, Modal } from '../../components/Modal.tsx'
import { ErrorAlert, Field, cx, inputClass } from '../../components/ui.tsx'
import { parseJobWallMs } from '../../lib/cpu-units.ts'
import { errorMessage } from '../../lib/errors.ts'
import { formatBytes } from '../../lib/format.ts'
import { useClient } from '../../lib/spare-context.tsx'
import { useFocusInvalid } from '../../lib/useFocusInvalid.ts'
import { isWasm, readFileBytes, toBase64 } from './job-files.ts'

export const NAME_MAX_CHARS = 200

type FieldName = 'module' | 'input' | 'name' | 'replicas' | 'time'
type FieldErrors = Partial<Record<FieldName, string>>

function FileField({
  label,
  name,
  accept,
  file,
  onChange,
  hint,
  error,
  disabled,
  autoFocus,
}: {
  label: string
  name: string
  accept?: string
  file: File | null
  onChange: (file: File | null) => void
  hint: string
  error: string | null
  disabled: boolean
  autoFocus?: boolean
}) {
  const id = useId()
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  return (
    <div className="space-y-1.5">
      <label htmlFor={id} className="block text-sm font-medium text-zinc-800 dark:text-zinc-200">
        {label}
      </label>
      <input
        id={id}
        name={name}
        type="file"
        accept={accept}
        disabled={disabled}
        data-autofocus={autoFocus ? '' : undefined}
        aria-describedby={cx(hintId, error && errorId)}
        aria-invalid={error ? true : undefined}
        onChange={(e) => onChange(e.target.files?.[0] ?? null)}
        className={cx(
          inputClass,
          'file:mr-3 file:rounded-md file:border-0 file:bg-zinc-100 file:px-2.5 file:py-1 file:text-sm file:font-medium file:text-zinc-800 dark:file:bg-zinc-800 dark:file:text-zinc-100',
          error && 'ring-red-400 dark:ring-red-700',
        )}
      />
      <p id={hintId} className="text-xs text-zinc-500 dark:text-zinc-400">
        {file ? `${file.name}: ${formatBytes(file.size)}. ` : ''}
        {hint}
      </p>
      {error ? (
        <p id={errorId} className="text-xs font-medium text-red-700 dark:text-red-300">
          {error}
        </p>
      ) : null}
    </div>
  )
}

function parseReplicas(text: string): number | string {
  const s = text.trim()
  if (!/^\d+$/.test(s)) return 'Enter a whole number of donors, 1 to 9.'
  const n = Number(s)
  if (n < 1 || n > 9) return 'Between 1 and 9 donors.'
  return n
}

/** The majority of `replicas` that must agree, as the engine counts it. */
function quorumOf(replicas: number): number {
  return Math.floor(replicas / 2) + 1
}

export function SubmitJobDialog({
  onClose,
  onSubmitted,
}: {
  onClose: () => void
  onSubmitted: (job: JobSummary) => void
}) {
  const client = useClient()
  const [module, setModule] = useState<File | null>(null)
  const [input, setInput] = useState<File | null>(null)
  const [name, setName] = useState('')
  const [nameEdited, setNameEdited] = useState(false)
  const [replicas, setReplicas] = useState('2')
  const [time, setTime] = useState('10 min')
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({})
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const focusInvalid = useFocusInvalid()

  function chooseModule(file: File | null) {
    setModule(file)
    setFieldErrors(({ module: _cleared, ...rest }) => rest)
    // The name follows the module's file name until it is typed in, as the CLI's --name does.
    if (!nameEdited) setName(file?.name ?? '')
  }

  /** The params to send, or the errors to show; reads the files. */
  async function check(): Promise<
    { ok: true; params: MethodParams<'compute.submit'> } | { ok: false; errors: FieldErrors }
  > {
    const errors: FieldErrors = {}
    let moduleBytes: Uint8Array | null = null
    let inputBytes: Uint8Array = new Uint8Array(0)
    if (!module) errors.module = 'Choose the WebAssembly module (.wasm) to run.'
    else if (module.size > JOB_MODULE_MAX_BYTES) {
      errors.module = `${module.name} is ${formatBytes(module.size)}: a module may be at most 2 MiB.`
    } else {
      moduleBytes = await readFileBytes(module)
      if (!isWasm(moduleBytes)) {
        errors.module = `${module.name} is not a WebAssembly module (it doesn’t start with \\0asm). Choose a compiled .wasm file.`
      }
    }
    if (input && input.size > JOB_INPUT_MAX_BYTES) {
      errors.input = `${input.name} is ${formatBytes(input.size)}: the input may be at most 2 MiB.`
    } else if (input) inputBytes = await readFileBytes(input)
    if (name.trim().length > NAME_MAX_CHARS) {
      errors.name = `At most ${NAME_MAX_CHARS} characters.`
    }
    const n = parseReplicas(replicas)
    if (typeof n === 'string') errors.replicas = n
    const wall = parseJobWallMs(time)
    if (!wall.ok) errors.time = wall.error
    if (Object.keys(errors).length > 0 || !moduleBytes || typeof n === 'string' || !wall.ok) {
      return { ok: false, errors }
    }
    const params = {
      module: toBase64(moduleBytes),
      input: toBase64(inputBytes),
      replicas: n,
      name: name.trim() || module?.name || 'job',
      wallMs: wall.value,
    }
    return { ok: true, params }
  }

  async function submit(form: HTMLFormElement) {
    setBusy(true)
    setError(null)
    try {
      const checked = await check()
      if (!checked.ok) {
        setFieldErrors(checked.errors)
        setBusy(false)
        focusInvalid(form)
        return
      }
      setFieldErrors({})
      const job = await client.call('compute.submit', checked.params)
      onSubmitted(job)
    } catch (err) {
      setError(err)
      setBusy(false)
    }
  }

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault()
    if (busy) return
    void submit(e.currentTarget)
  }

  const n = parseReplicas(replicas)
  return (
    <Modal
      title="Submit a job"
      description="Run a WebAssembly program on other nodes’ spare CPU. Donors run it in a sandbox; the output a majority of them agree on is kept here."
      icon={<Cpu aria-hidden="true" className="mt-0.5 size-5 shrink-0 text-indigo-500" />}
      onClose={onClose}
      onSubmit={onSubmit}
      busy={busy}
      footer={<FormFooter submitLabel="Submit" icon={Cpu} onCancel={onClose} busy={busy} />}
    >
      <div className="space-y-4">
        <FileField
          label="Module"
          name="module"
          accept=".wasm,application/wasm"
          file={module}
          onChange={chooseModule}
          hint="A compiled WebAssembly module (.wasm, at most 2 MiB) that imports only the spare interface."
          error={fieldErrors.module ?? null}
          disabled={busy}
          autoFocus
        />
        <FileField
          label="Input (optional)"
          name="input"
          file={input}
          onChange={(file) => {
            setInput(file)
            setFieldErrors(({ input: _cleared, ...rest }) => rest)
          }}
          hint="What the program reads, at most 2 MiB. None: it starts with empty input."
          error={fieldErrors.input ?? null}
          disabled={busy}
        />
        <Field
          label="Name"
          name="name"
          value={name}
          onChange={(v) => {
            setName(v)
            setNameEdited(true)
          }}
          hint="To find it in the list; the module’s file name unless you change it."
          error={fieldErrors.name ?? null}
          disabled={busy}
        />
        <div className="grid gap-4 sm:grid-cols-2">
          <Field
            label="Donors (replicas)"
            name="replicas"
            value={replicas}
            onChange={setReplicas}
            inputMode="numeric"
            hint={
              typeof n === 'number'
                ? `${n} ${n === 1 ? 'donor runs' : 'donors run'} it at once; a majority (${quorumOf(n)} of ${n}) must get the same output for it to count.`
                : 'Donors that run it at once, 1 to 9; a majority must get the same output.'
            }
            error={fieldErrors.replicas ?? null}
            disabled={busy}
          />
          <Field
            label="Time per donor"
            name="time"
            value={time}
            onChange={setTime}
            hint="The wall time each donor may spend, like 10 min, 90 s or 1 h (at most 24 h)."
            error={fieldErrors.time ?? null}
            disabled={busy}
          />
        </div>
        {busy ? (
          <p role="status" className="text-sm text-zinc-500 dark:text-zinc-400">
            Submitting…
          </p>
        ) : null}
        {error ? (
          <ErrorAlert title="Couldn’t submit the job">{errorMessage(error)}</ErrorAlert>
        ) : null}
      </div>
    </Modal>
  )
}
