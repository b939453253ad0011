// "Join a folder": paste an invite, choose where the files go, join.
import { useState, type FormEvent } from 'react'
import { FolderInput, FolderOpen } from 'lucide-react'
import type { FolderSummary, MethodParams } from '../../../../shared/contract.ts'
import { FormFooter, Modal } from '../../components/Modal.tsx'
import { Button, ErrorAlert, Field } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { useSpare } from '../../lib/spare-context.tsx'
import { checkParams, type FieldErrors } from './validation.ts'
import { useFocusInvalid } from '../../lib/useFocusInvalid.ts'

export interface JoinDialogProps {
  onClose: () => void
  onJoined: (folder: FolderSummary) => void
}

export function JoinDialog({ onClose, onJoined }: JoinDialogProps) {
  const { client, pickFolder } = useSpare()
  const [invite, setInvite] = useState('')
  const [path, setPath] = useState('')
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({})
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const focusInvalid = useFocusInvalid()

  async function join(params: MethodParams<'folders.join'>) {
    try {
      const { folder } = await client.call('folders.join', params)
      onJoined(folder)
    } catch (err) {
      setError(err)
      setBusy(false)
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault()
    if (busy) return
    // An invite has no whitespace: what a wrapped mail or chat message put inside it goes.
    const params = { invite: invite.replace(/\s+/g, ''), path: path.trim() }
    const invalid = checkParams('folders.join', params)
    setFieldErrors(invalid ?? {})
    setError(null)
    if (invalid) {
      focusInvalid(e.currentTarget)
      return
    }
    setBusy(true)
    void join(params)
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

  return (
    <Modal
      title="Join a folder"
      description="Paste the invite someone sent you and choose where its files go on this device."
      onClose={onClose}
      onSubmit={onSubmit}
      busy={busy}
      footer={<FormFooter submitLabel="Join" icon={FolderInput} onCancel={onClose} busy={busy} />}
    >
      <div className="space-y-4">
        <Field
          label="Invite"
          name="invite"
          value={invite}
          onChange={setInvite}
          multiline
          mono
          autoFocus
          placeholder="Paste the invite here"
          error={fieldErrors.invite ?? null}
          disabled={busy}
        />
        <Field
          label="Destination path"
          name="path"
          value={path}
          onChange={setPath}
          mono
          placeholder="/home/you/Shared/Photos"
          hint="Where the folder’s files are stored on the machine that runs the Spare node. A new or empty folder is best."
          error={fieldErrors.path ?? null}
          disabled={busy}
          addon={
            pickFolder ? (
              <Button
                icon={FolderOpen}
                onClick={() => void browse()}
                disabled={busy}
                aria-label="Choose destination folder"
              >
                Browse…
              </Button>
            ) : null
          }
        />
        {busy ? (
          <p role="status" className="text-sm text-zinc-500 dark:text-zinc-400">
            Joining…
          </p>
        ) : null}
        {error ? (
          <ErrorAlert title="Couldn’t join this folder">{errorMessage(error)}</ErrorAlert>
        ) : null}
      </div>
    </Modal>
  )
}
