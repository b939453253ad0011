// "Share a folder": choose a folder (native picker in the app, a path field in the browser),
// share it, then show the invite.
import { useEffect, useRef, useState, type FormEvent } from 'react'
import { FolderOpen, Share2 } from 'lucide-react'
import type { FolderSummary, MethodParams } from '../../../../shared/contract.ts'
import { InviteView } from '../../components/InviteView.tsx'
import { Modal } from '../../components/Modal.tsx'
import { Button, ErrorAlert, Field } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { useSpare } from '../../lib/spare-context.tsx'
import { checkParams, type FieldErrors } from './validation.ts'

export interface ShareDialogProps {
  onClose: () => void
  onShared: (folder: FolderSummary) => void
  /** A path chosen before the dialog opened (the app's native picker). */
  initialPath?: string
  /** Share `initialPath` right away, without waiting for a click. */
  autoSubmit?: boolean
}

export function ShareDialog({
  onClose,
  onShared,
  initialPath = '',
  autoSubmit = false,
}: ShareDialogProps) {
  const { client, pickFolder } = useSpare()
  const [path, setPath] = useState(initialPath)
  const [name, setName] = useState('')
  const [fieldErrors, setFieldErrors] = useState<FieldErrors>({})
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(autoSubmit && initialPath !== '')
  const [result, setResult] = useState<{ folder: FolderSummary; invite: string } | null>(null)
  const autoSubmitted = useRef(false)

  function paramsFrom(p: string, n: string): MethodParams<'folders.share'> {
    const params: MethodParams<'folders.share'> = { path: p.trim() }
    if (n.trim()) params.name = n.trim()
    return params
  }

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

  useEffect(() => {
    if (!autoSubmit || !initialPath || autoSubmitted.current) return
    autoSubmitted.current = true
    void share(paramsFrom(initialPath, ''))
    // Runs once, for the path the picker returned before the dialog opened.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [])

  function onSubmit(e: FormEvent) {
    e.preventDefault()
    if (busy) return
    const params = paramsFrom(path, name)
    const invalid = checkParams('folders.share', params)
    setFieldErrors(invalid ?? {})
    setError(null)
    if (invalid) return
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
    return (
      <Modal
        title={`“${result.folder.name}” is shared`}
        description="Send this invite to your other devices or to the people who should get the folder."
        onClose={onClose}
        footer={<Button onClick={onClose}>Done</Button>}
      >
        <InviteView invite={result.invite} folderName={result.folder.name} />
      </Modal>
    )
  }

  return (
    <Modal
      title="Share a folder"
      description="Spare publishes the folder from this device. You get an invite to send to other devices or people."
      onClose={onClose}
      onSubmit={onSubmit}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" icon={Share2} busy={busy}>
            Share
          </Button>
        </>
      }
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
        {busy ? (
          <p role="status" className="text-sm text-zinc-500 dark:text-zinc-400">
            Sharing {path.trim() || initialPath}…
          </p>
        ) : null}
        {error ? (
          <ErrorAlert title="Couldn’t share this folder">{errorMessage(error)}</ErrorAlert>
        ) : null}
      </div>
    </Modal>
  )
}
