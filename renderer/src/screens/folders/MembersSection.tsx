// The writers of a two-way folder, and removing one (after a confirmation).
import { useEffect, useRef, useState } from 'react'
import { RefreshCw, UserMinus } from 'lucide-react'
import type { FolderSummary, Member } from '../../../../shared/contract.ts'
import { Modal } from '../../components/Modal.tsx'
import { Badge, Button, ErrorAlert, Spinner } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { useClient } from '../../lib/spare-context.tsx'
import { DetailSection } from './DetailSection.tsx'
import { useFolderData } from './useFolderData.ts'

export function memberName(member: Member): string {
  return member.label || `Device ${member.device}`
}

/** The name with the device id: labels (host names) need not be unique. */
function memberTitle(member: Member): string {
  return member.label ? `${member.label} (${member.device})` : `device ${member.device}`
}

/** Why this device cannot remove members, or null when it can. */
function cannotRemove(folder: FolderSummary): string | null {
  if (folder.role === 'reader')
    return 'This device is a read-only member of the folder: only writers can remove members.'
  if (folder.waitingForAccept)
    return 'This device can remove members once a writer of the folder has accepted it.'
  return null
}

function RemoveMemberDialog({
  folder,
  member,
  onClose,
  onRemoved,
}: {
  folder: FolderSummary
  member: Member
  onClose: () => void
  onRemoved: (member: Member) => void
}) {
  const client = useClient()
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)

  async function confirm() {
    setBusy(true)
    setError(null)
    try {
      onRemoved(await client.call('folders.removeMember', { id: folder.id, member: member.device }))
    } catch (err) {
      setError(err)
      setBusy(false)
    }
  }

  return (
    <Modal
      size="sm"
      title={`Remove ${memberTitle(member)} from “${folder.name}”?`}
      onClose={onClose}
      busy={busy}
      icon={
        <div className="flex size-9 shrink-0 items-center justify-center rounded-full bg-red-50 text-red-600 dark:bg-red-950/60 dark:text-red-300">
          <UserMinus aria-hidden="true" className="size-4" />
        </div>
      }
      footer={
        <>
          <Button onClick={onClose} disabled={busy} data-autofocus="">
            Cancel
          </Button>
          <Button variant="danger" busy={busy} onClick={() => void confirm()}>
            Remove
          </Button>
        </>
      }
    >
      <div className="space-y-3 text-sm text-zinc-600 dark:text-zinc-300">
        <p>
          Every device of the folder refuses the changes this member makes from now on. What it
          changed before stays in the folder.
        </p>
        <p>
          Removing can’t take back the files it already has. This can’t be undone: to let it write
          again, invite it anew.
        </p>
        {error ? (
          <ErrorAlert title="Couldn’t remove this member">{errorMessage(error)}</ErrorAlert>
        ) : null}
      </div>
    </Modal>
  )
}

export function MembersSection({ folder }: { folder: FolderSummary }) {
  const client = useClient()
  const members = useFolderData(
    folder.id,
    () => client.call('folders.members', { id: folder.id }),
    // A member joined, was accepted or was removed: the summary's counts change.
    `${folder.members}:${folder.waitingForAccept}:${folder.role}`,
  )
  const [removing, setRemoving] = useState<Member | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const noticeRef = useRef<HTMLParagraphElement>(null)

  // The removed member's Remove button is gone with the dialog's opener: focus goes to what
  // happened instead of being lost to the page.
  useEffect(() => {
    if (notice) noticeRef.current?.focus()
  }, [notice])
  const titleId = `folder-${folder.id}-members`
  const blocked = cannotRemove(folder)
  const blockedId = `${titleId}-blocked`

  return (
    <DetailSection
      id={titleId}
      title="Members"
      description="The devices that can change this folder. A removed member’s later changes are refused by every device."
    >
      {members.error ? (
        <ErrorAlert
          title="Couldn’t load the members"
          action={
            <Button size="sm" icon={RefreshCw} onClick={members.retry}>
              Try again
            </Button>
          }
        >
          {errorMessage(members.error)}
        </ErrorAlert>
      ) : null}
      {members.data === null ? (
        members.loading ? (
          <Spinner label="Loading members…" />
        ) : null
      ) : members.data.length === 0 ? (
        <p className="text-sm text-zinc-500 dark:text-zinc-400">
          No writers known yet: they appear once this device has heard from one.
        </p>
      ) : (
        <>
          {blocked ? (
            <p id={blockedId} className="text-xs text-zinc-500 dark:text-zinc-400">
              {blocked}
            </p>
          ) : null}
          <ul
            aria-label={`Members of ${folder.name}`}
            className="divide-y divide-zinc-100 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800"
          >
            {members.data.map((m) => (
              <li
                key={m.key}
                aria-label={memberName(m)}
                className="flex flex-wrap items-center gap-x-3 gap-y-2 px-3 py-2"
              >
                <div className="min-w-0 flex-1">
                  <p className="flex flex-wrap items-center gap-2 text-sm">
                    <span
                      className={
                        m.removed
                          ? 'font-medium text-zinc-500 line-through dark:text-zinc-400'
                          : 'font-medium text-zinc-900 dark:text-zinc-100'
                      }
                    >
                      {memberName(m)}
                    </span>
                    {m.you ? <Badge tone="indigo">This device</Badge> : null}
                    {m.removed ? <Badge tone="red">Removed</Badge> : null}
                  </p>
                  <p className="text-xs text-zinc-500 dark:text-zinc-400">
                    <span className="font-mono">{m.device}</span>
                    {' · '}
                    {m.addedBy ? (
                      <>
                        added by <span className="font-mono">{m.addedBy}</span>
                      </>
                    ) : (
                      'created the folder'
                    )}
                  </p>
                </div>
                {!m.you && !m.removed ? (
                  <Button
                    size="sm"
                    variant="subtleDanger"
                    icon={UserMinus}
                    disabled={blocked !== null}
                    aria-describedby={blocked ? blockedId : undefined}
                    onClick={() => {
                      setNotice(null)
                      setRemoving(m)
                    }}
                  >
                    Remove
                  </Button>
                ) : null}
              </li>
            ))}
          </ul>
        </>
      )}
      <p
        ref={noticeRef}
        role="status"
        tabIndex={-1}
        className="text-xs text-emerald-700 empty:hidden focus:outline-none dark:text-emerald-300"
      >
        {notice}
      </p>
      {removing ? (
        <RemoveMemberDialog
          folder={folder}
          member={removing}
          onClose={() => setRemoving(null)}
          onRemoved={(removed) => {
            setRemoving(null)
            if (members.data) {
              members.set(members.data.map((m) => (m.key === removed.key ? removed : m)))
            }
            setNotice(`Removed ${memberTitle(removed)}. Its later changes are refused.`)
          }}
        />
      ) : null}
    </DetailSection>
  )
}
