// Confirms "Stop syncing": the folder leaves Spare, its files stay on disk.
import { useState } from 'react'
import { Unplug } from 'lucide-react'
import type { FolderSummary } from '../../../../shared/contract.ts'
import { Modal } from '../../components/Modal.tsx'
import { Button, ErrorAlert } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { useClient } from '../../lib/spare-context.tsx'

export interface StopSyncingDialogProps {
  folder: FolderSummary
  onClose: () => void
  onStopped: (folder: FolderSummary) => void
}

export function StopSyncingDialog({ folder, onClose, onStopped }: StopSyncingDialogProps) {
  const client = useClient()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)

  async function confirm() {
    setBusy(true)
    setError(null)
    try {
      await client.call('folders.unshare', { id: folder.id })
      onStopped(folder)
    } catch (err) {
      setError(err)
      setBusy(false)
    }
  }

  return (
    <Modal
      size="sm"
      title={`Stop syncing “${folder.name}”?`}
      onClose={onClose}
      busy={busy}
      icon={
        <div className="flex size-9 shrink-0 items-center justify-center rounded-full bg-red-50 text-red-600 dark:bg-red-950/60 dark:text-red-300">
          <Unplug aria-hidden="true" className="size-4" />
        </div>
      }
      footer={
        <>
          <Button onClick={onClose} disabled={busy} data-autofocus="">
            Cancel
          </Button>
          <Button variant="danger" busy={busy} onClick={() => void confirm()}>
            Stop syncing
          </Button>
        </>
      }
    >
      <div className="space-y-3 text-sm text-zinc-600 dark:text-zinc-300">
        <p>
          {folder.role === 'owner'
            ? 'This device stops sharing the folder: devices and people you invited no longer get its changes from here.'
            : folder.role === 'writer'
              ? 'This device stops sending and receiving changes to the folder. The other members keep syncing with each other.'
              : 'This device stops receiving changes to the folder.'}
        </p>
        <p className="font-medium text-zinc-900 dark:text-zinc-100">
          The files on disk stay where they are: nothing is deleted.
        </p>
        <p className="rounded-lg bg-zinc-50 px-3 py-2 font-mono text-xs break-all text-zinc-600 dark:bg-zinc-950 dark:text-zinc-400">
          {folder.path}
        </p>
        {error ? (
          <ErrorAlert title="Couldn’t stop syncing">{errorMessage(error)}</ErrorAlert>
        ) : null}
      </div>
    </Modal>
  )
}
