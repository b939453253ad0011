// Invites to a folder. An invite fetched before the dialog opened (a published folder's owner) is
// shown right away. Otherwise the dialog asks first: an invite for a writer of a two-way folder
// (single use, valid 7 days, so one is only created on request) or a read-only one.
import { useState, type FormEvent } from 'react'
import { Clock, UserPlus } from 'lucide-react'
import type { FolderSummary } from '../../../../shared/contract.ts'
import { ChoiceGroup, type Choice } from '../../components/ChoiceGroup.tsx'
import { InviteView } from '../../components/InviteView.tsx'
import { Modal } from '../../components/Modal.tsx'
import { Button, ErrorAlert } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { useClient } from '../../lib/spare-context.tsx'

type Access = 'writer' | 'read-only'

/** Why this device cannot hand out writer invites, or null when it can. */
export function cannotInviteWriters(folder: FolderSummary): string | null {
  if (folder.kind !== 'sync') return 'Only two-way folders have writers.'
  if (folder.role === 'reader') return 'This device is a read-only member: only writers can.'
  if (folder.waitingForAccept)
    return 'This device can invite writers once a writer of the folder has accepted it.'
  return null
}

export function WriterInviteNote() {
  return (
    <p className="flex items-start gap-2 rounded-lg bg-sky-50 px-3 py-2 text-xs text-sky-800 dark:bg-sky-950/50 dark:text-sky-200">
      <Clock aria-hidden="true" className="mt-0.5 size-3.5 shrink-0" />
      <span>
        A writer invite is single use: it adds one device as a writer, and it expires in 7 days.
        Create a new one for each device.
      </span>
    </p>
  )
}

function accessChoices(folder: FolderSummary): ReadonlyArray<Choice<Access>> {
  const blocked = cannotInviteWriters(folder)
  return [
    {
      value: 'writer',
      label: 'Writer',
      description: blocked
        ? `Can change the folder. ${blocked}`
        : 'Can change the folder: its edits reach every device. Single use, expires in 7 days.',
      disabled: blocked !== null,
    },
    {
      value: 'read-only',
      label: 'Read-only',
      description:
        'Gets the folder and every change, but its own edits stay on that device. Works for any number of devices.',
    },
  ]
}

export interface InviteDialogProps {
  folder: FolderSummary
  /** An invite already fetched (published folders): shown right away. */
  invite?: string
  onClose: () => void
}

export function InviteDialog({ folder, invite: fetched, onClose }: InviteDialogProps) {
  const client = useClient()
  const [access, setAccess] = useState<Access>(() =>
    cannotInviteWriters(folder) ? 'read-only' : 'writer',
  )
  const [created, setCreated] = useState<{ invite: string; access: Access } | null>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const title = `Invite to “${folder.name}”`

  if (fetched !== undefined) {
    return (
      <Modal
        title={title}
        description="Whoever opens this invite in Spare gets a copy of the folder that stays in sync."
        onClose={onClose}
        footer={<Button onClick={onClose}>Done</Button>}
      >
        <InviteView invite={fetched} folderName={folder.name} />
      </Modal>
    )
  }

  async function create(e: FormEvent) {
    e.preventDefault()
    if (busy) return
    setBusy(true)
    setError(null)
    try {
      const { invite } = await client.call('folders.invite', {
        id: folder.id,
        readOnly: access === 'read-only',
      })
      setCreated({ invite, access })
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  if (created) {
    return (
      <Modal
        title={title}
        description={
          created.access === 'writer'
            ? 'Whoever opens this invite in Spare joins the folder as a writer: their edits sync both ways.'
            : 'Whoever opens this invite in Spare gets a read-only copy of the folder that stays in sync.'
        }
        onClose={onClose}
        footer={
          <>
            <Button icon={UserPlus} onClick={() => setCreated(null)}>
              Another invite
            </Button>
            <Button onClick={onClose}>Done</Button>
          </>
        }
      >
        <div className="space-y-4">
          {created.access === 'writer' ? <WriterInviteNote /> : null}
          <InviteView invite={created.invite} folderName={folder.name} />
        </div>
      </Modal>
    )
  }

  return (
    <Modal
      title={title}
      description="Choose what the invited device may do, then create the invite."
      onClose={onClose}
      onSubmit={(e) => void create(e)}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" icon={UserPlus} busy={busy}>
            Create invite
          </Button>
        </>
      }
    >
      <div className="space-y-4">
        <ChoiceGroup
          legend="The invited device is a"
          value={access}
          onChange={(next) => {
            setAccess(next)
            setError(null)
          }}
          options={accessChoices(folder)}
          disabled={busy}
        />
        {error ? (
          <ErrorAlert title="Couldn’t create an invite">{errorMessage(error)}</ErrorAlert>
        ) : null}
      </div>
    </Modal>
  )
}
