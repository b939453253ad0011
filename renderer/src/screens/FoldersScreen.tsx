// Folders: what this node shares and receives, live from folder events.
import { useEffect, useRef, useState } from 'react'
import { CirclePause, FolderInput, FolderPlus, FolderSync, RefreshCw } from 'lucide-react'
import type { FolderSummary } from '../../../shared/contract.ts'
import { Button, ErrorAlert, PageHeader, Spinner } from '../components/ui.tsx'
import { errorMessage } from '../lib/errors.ts'
import { useLiveKey } from '../lib/live.ts'
import { useNow, useSpare } from '../lib/spare-context.tsx'
import { useNodeOverview } from '../lib/useNodeOverview.ts'
import { FolderCard } from './folders/FolderCard.tsx'
import { InviteDialog } from './folders/InviteDialog.tsx'
import { JoinDialog } from './folders/JoinDialog.tsx'
import { ShareDialog } from './folders/ShareDialog.tsx'
import { StopSyncingDialog } from './folders/StopSyncingDialog.tsx'
import { useFolders } from './folders/useFolders.ts'

type Dialog =
  | { kind: 'share'; initialPath?: string }
  | { kind: 'join' }
  /** `invite`: fetched before opening (a published folder); else the dialog asks what kind. */
  | { kind: 'invite'; folder: FolderSummary; invite?: string }
  | { kind: 'stop'; folder: FolderSummary }
  | null

/** Shown above the list while syncing is paused node-wide (the toggle is in the app's top area). */
function PausedNotice() {
  // node.updated events keep it live and every reconnect reloads it: no timer needed.
  const { status } = useNodeOverview({ refreshMs: 0 })
  return (
    <div role="status" aria-live="polite" className="empty:hidden">
      {status?.paused ? (
        <p className="mb-4 flex items-start gap-2.5 rounded-lg border border-zinc-200 bg-zinc-50 px-3 py-2.5 text-sm text-zinc-700 dark:border-zinc-800 dark:bg-zinc-900/60 dark:text-zinc-300">
          <CirclePause aria-hidden="true" className="mt-0.5 size-4 shrink-0 text-zinc-500" />
          <span>
            <strong className="font-medium text-zinc-900 dark:text-zinc-100">
              Syncing is paused
            </strong>{' '}
            <span className="text-zinc-600 dark:text-zinc-400">
              — no folder sends or receives changes until you resume syncing.
            </span>
          </span>
        </p>
      ) : null}
    </div>
  )
}

function EmptyState() {
  return (
    <div className="rounded-2xl border border-dashed border-zinc-300 px-6 py-14 text-center dark:border-zinc-700">
      <div className="mx-auto flex size-12 items-center justify-center rounded-xl bg-indigo-50 text-indigo-600 dark:bg-indigo-950/60 dark:text-indigo-300">
        <FolderSync aria-hidden="true" className="size-6" />
      </div>
      <h2 className="mt-4 text-base font-semibold text-zinc-900 dark:text-zinc-50">
        No folders yet
      </h2>
      <p className="mx-auto mt-2 max-w-md text-sm text-zinc-500 dark:text-zinc-400">
        Use <strong className="font-medium text-zinc-700 dark:text-zinc-200">Share a folder</strong>{' '}
        to sync a folder from this device and get an invite for your other devices or friends. Got
        an invite from someone? Use{' '}
        <strong className="font-medium text-zinc-700 dark:text-zinc-200">Join a folder</strong> and
        paste it.
      </p>
    </div>
  )
}

export function FoldersScreen() {
  const { client, pickFolder } = useSpare()
  const { ready } = useLiveKey()
  const folders = useFolders()
  const now = useNow()
  const [dialog, setDialog] = useState<Dialog>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [pickError, setPickError] = useState<unknown>(null)
  const noticeRef = useRef<HTMLParagraphElement>(null)
  // A stopped folder's card goes with the button that opened the dialog: the focus goes to the
  // notice instead of being lost to the page.
  const focusNotice = useRef(false)
  useEffect(() => {
    if (!notice || !focusNotice.current) return
    focusNotice.current = false
    noticeRef.current?.focus()
  }, [notice])

  async function startShare() {
    setNotice(null)
    setPickError(null)
    if (!pickFolder) {
      setDialog({ kind: 'share' })
      return
    }
    try {
      const picked = await pickFolder()
      // The dialog still opens: whether the folder is two-way or published is asked there.
      if (picked) setDialog({ kind: 'share', initialPath: picked })
    } catch (err) {
      setPickError(err)
    }
  }

  async function showInvite(folder: FolderSummary) {
    if (folder.kind === 'sync') {
      // Writer invites are single use: the dialog creates one only once asked to.
      setDialog({ kind: 'invite', folder })
      return
    }
    const { invite } = await client.call('folders.invite', { id: folder.id })
    setDialog({ kind: 'invite', folder, invite })
  }

  const close = () => setDialog(null)
  /** The dialog's folder as it is now (events keep updating it while the dialog is open). */
  const live = (f: FolderSummary) => folders.folders.find((x) => x.id === f.id) ?? f

  return (
    <>
      <PageHeader
        title="Folders"
        description="Folders this device shares or receives, kept in sync peer to peer."
        actions={
          <>
            <Button icon={FolderInput} onClick={() => setDialog({ kind: 'join' })}>
              Join a folder
            </Button>
            <Button variant="primary" icon={FolderPlus} onClick={() => void startShare()}>
              Share a folder
            </Button>
          </>
        }
      />

      <PausedNotice />
      <div role="status" aria-live="polite" className="empty:hidden">
        {notice ? (
          <p
            ref={noticeRef}
            tabIndex={-1}
            className="mb-4 focus:outline-none rounded-lg border border-emerald-200 bg-emerald-50 px-3 py-2.5 text-sm text-emerald-800 dark:border-emerald-900/70 dark:bg-emerald-950/50 dark:text-emerald-200"
          >
            {notice}
          </p>
        ) : null}
      </div>
      {pickError ? (
        <ErrorAlert className="mb-4" title="Couldn’t open the folder picker">
          {errorMessage(pickError)}
        </ErrorAlert>
      ) : null}

      {folders.status === 'loading' ? (
        <Spinner label={ready ? 'Loading folders…' : 'Waiting for the Spare node…'} />
      ) : folders.status === 'error' ? (
        <ErrorAlert
          title="Couldn’t load your folders"
          action={
            <Button size="sm" icon={RefreshCw} onClick={folders.retry}>
              Try again
            </Button>
          }
        >
          {errorMessage(folders.error)}
        </ErrorAlert>
      ) : folders.folders.length === 0 ? (
        <EmptyState />
      ) : (
        <ul aria-label="Folders" className="space-y-4">
          {folders.folders.map((folder) => (
            <li key={folder.id}>
              <FolderCard
                folder={folder}
                now={now}
                onInvite={showInvite}
                onStopSyncing={(f) => {
                  setNotice(null)
                  setDialog({ kind: 'stop', folder: f })
                }}
              />
            </li>
          ))}
        </ul>
      )}

      {dialog?.kind === 'share' ? (
        <ShareDialog
          onClose={close}
          onShared={folders.upsert}
          {...(dialog.initialPath ? { initialPath: dialog.initialPath } : {})}
        />
      ) : null}
      {dialog?.kind === 'join' ? (
        <JoinDialog
          onClose={close}
          onJoined={(folder) => {
            folders.upsert(folder)
            setDialog(null)
            setNotice(
              `Joined “${folder.name}”. Its files arrive in ${folder.path} as soon as a peer that has them is online.`,
            )
          }}
        />
      ) : null}
      {dialog?.kind === 'invite' ? (
        <InviteDialog
          folder={live(dialog.folder)}
          {...(dialog.invite !== undefined ? { invite: dialog.invite } : {})}
          onClose={close}
        />
      ) : null}
      {dialog?.kind === 'stop' ? (
        <StopSyncingDialog
          folder={dialog.folder}
          onClose={close}
          onStopped={(folder) => {
            folders.remove(folder.id)
            setDialog(null)
            focusNotice.current = true
            setNotice(`Stopped syncing “${folder.name}”. Its files are still in ${folder.path}.`)
          }}
        />
      ) : null}
    </>
  )
}
