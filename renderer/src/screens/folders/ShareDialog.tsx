// "Share a folder": choose a folder (native picker in the app, a path field in the browser) and
// whether it is two-way or published from this device, share it, then show the invite.
import { useState, type FormEvent } from 'react'
import { FolderOpen, Share2 } from 'lucide-react'
import type { FolderSummary, MethodParams } from '../../../../shared/contract.ts'
import { ChoiceGroup, type Choice } from '../../components/ChoiceGroup.tsx'
import { InviteView } from '../../components/InviteView.tsx'
import { FormFooter, Modal } from '../../components/Modal.tsx'
import { Button, ErrorAlert, Field } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { useSpare } from '../../lib/spare-context.tsx'
import { WriterInviteNote } from './InviteDialog.tsx'
import { checkParams, type FieldErrors } from './validation.ts'
import { useFocusInvalid } from '../../lib/useFocusInvalid.ts'

export type ShareMode = NonNullable<MethodParams<'folders.share'>['mode']>

export const SHARE_MODES: ReadonlyArray<Choice<ShareMode>> = [
  {
    value: 'sync',
    label: 'Two-way',
    description:
      'Every invited writer can change it: edits on any of your devices reach all the others.',
  },
  {
    value: 'publish',
    label: 'Publish',
    description: 'Only this device writes. The people and devices you invite get a read-only copy.',
  },
]

export interface ShareDialogProps {
  onClose: () => void
  onShared: (folder: FolderSummary) => void
  /** A path chosen before the dialog opened (the app's native picker). */
  initialPath?: string
}

export function ShareDialog({ onClose, onShared, initialPath = '' }: ShareDialogProps) {
  const { client, pickFolder } = useSpare()
  const [path, setPath] = useState(initialPath)
  const [name, setName] = useState('')
  const [mode, setMode] = useState<ShareMode>('sync')
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({})
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const [result, setResult] = useState<{ folder: FolderSummary; invite: string } | null>(null)
  const focusInvalid = useFocusInvalid()

  async function share(params: MethodParams<'folders.share'>) {
    try {
      const answer = await client.call('folders.share', params)
      setResult(answer)
      onShared(answer.folder)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault()
    if (busy) return
    const params: MethodParams<'folders.share'> = { path: path.trim(), mode }
    if (name.trim()) params.name = name.trim()
    const invalid = checkParams('folders.share', params)
    setFieldErrors(invalid ?? {})
    setError(null)
    if (invalid) {
      focusInvalid(e.currentTarget)
      return
    }
    setBusy(true)
    void share(params)
  }

  async function browse() {
    if (!pickFolder) return
    try {
      const picked = await pickFolder()
      if (picked) setPath(picked)
    } catch (err) {
      setError(err)
    }
  }

  if (result) {
    const twoWay = result.folder.kind === 'sync'
    return (
      <Modal
        title={`“${result.folder.name}” is shared`}
        description={
          twoWay
            ? 'Open this invite in Spare on your other device, or send it to the person who should help keep the folder.'
            : 'Send this invite to your other devices or to the people who should get the folder.'
        }
        onClose={onClose}
        footer={<Button onClick={onClose}>Done</Button>}
      >
        <div className="space-y-4">
          {twoWay ? <WriterInviteNote /> : null}
          <InviteView invite={result.invite} folderName={result.folder.name} />
        </div>
      </Modal>
    )
  }

  return (
    <Modal
      title="Share a folder"
      description="Spare syncs the folder from this device. You get an invite to send to other devices or people."
      onClose={onClose}
      onSubmit={onSubmit}
      busy={busy}
      footer={<FormFooter submitLabel="Share" icon={Share2} onCancel={onClose} busy={busy} />}
    >
      <div className="space-y-4">
        <Field
          label="Folder path"
          name="path"
          value={path}
          onChange={setPath}
          mono
          autoFocus
          placeholder="/home/you/Photos"
          hint="The full path of a folder on the machine that runs the Spare node."
          error={fieldErrors.path ?? null}
          disabled={busy}
          addon={
            pickFolder ? (
              <Button
                icon={FolderOpen}
                onClick={() => void browse()}
                disabled={busy}
                aria-label="Choose a folder"
              >
                Browse…
              </Button>
            ) : null
          }
        />
        <Field
          label="Name (optional)"
          name="name"
          value={name}
          onChange={setName}
          placeholder="Defaults to the folder’s own name"
          error={fieldErrors.name ?? null}
          disabled={busy}
        />
        <ChoiceGroup
          legend="Who can change it"
          value={mode}
          onChange={setMode}
          options={SHARE_MODES}
          disabled={busy}
        />
        {busy ? (
          <p role="status" className="text-sm text-zinc-500 dark:text-zinc-400">
            Sharing {path.trim()}…
          </p>
        ) : null}
        {error ? (
          <ErrorAlert title="Couldn’t share this folder">{errorMessage(error)}</ErrorAlert>
        ) : null}
      </div>
    </Modal>
  )
}
