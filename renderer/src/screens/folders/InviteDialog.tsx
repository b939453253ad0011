// Shows a fresh invite to an owner's folder.
import type { FolderSummary } from '../../../../shared/contract.ts'
import { InviteView } from '../../components/InviteView.tsx'
import { Modal } from '../../components/Modal.tsx'
import { Button } from '../../components/ui.tsx'

export function InviteDialog({
  folder,
  invite,
  onClose,
}: {
  folder: FolderSummary
  invite: string
  onClose: () => void
}) {
  return (
    <Modal
      title={`Invite to “${folder.name}”`}
      description="Whoever opens this invite in Spare gets a copy of the folder that stays in sync."
      onClose={onClose}
      footer={<Button onClick={onClose}>Done</Button>}
    >
      <InviteView invite={invite} folderName={folder.name} />
    </Modal>
  )
}
