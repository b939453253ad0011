// The conflict copies in a two-way folder, each with the path it is a copy of, and comparing the
// two versions side by side to keep one (ConflictCompareDialog).
import { useEffect, useRef, useState } from 'react'
import { FileDiff, History, RefreshCw } from 'lucide-react'
import type { Conflict, FolderSummary } from '../../../../shared/contract.ts'
import { Badge, Button, ErrorAlert, Spinner } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { useClient } from '../../lib/spare-context.tsx'
import { ConflictCompareDialog, shownPath, type Keep } from './ConflictCompareDialog.tsx'
import { DetailSection } from './DetailSection.tsx'
import { useFolderData } from './useFolderData.ts'

/** Conflicts just resolved from here, hidden until the node's list no longer has them. */
interface Settled {
  paths: string[]
  /** The folder's version when they were resolved. */
  version: number
}

function resolvedNotice(conflict: Conflict, keep: Keep): string {
  const name = shownPath(conflict.original)
  if (keep === 'original') {
    return conflict.kept
      ? `Kept ${name} and deleted the conflict copy.`
      : `Deleted the conflict copy; ${name} stays deleted.`
  }
  return conflict.kept
    ? `Kept the conflict copy as ${name}; the version it replaced is under Versions.`
    : `Restored the conflict copy as ${name}.`
}

export function ConflictsSection({
  folder,
  onShowVersions,
}: {
  folder: FolderSummary
  onShowVersions: (path: string) => void
}) {
  const client = useClient()
  const conflicts = useFolderData(
    folder.id,
    () => client.call('folders.conflicts', { id: folder.id }),
    // New changes can add or resolve conflicts.
    `${folder.conflicts}:${folder.version}`,
  )
  const titleId = `folder-${folder.id}-conflicts`
  const [comparing, setComparing] = useState<Conflict | null>(null)
  const [settled, setSettled] = useState<Settled | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const noticeRef = useRef<HTMLParagraphElement>(null)

  // The row whose Compare button opened the dialog is gone once resolved: focus goes to what
  // happened instead of being lost.
  useEffect(() => {
    if (notice) noticeRef.current?.focus()
  }, [notice])

  // A resolved conflict goes once the node has recorded the change (a new folder version) and the
  // list has been loaded again; until then it is hidden rather than shown as still there.
  const hiding = settled !== null && (folder.version === settled.version || conflicts.loading)
  const shown =
    conflicts.data === null
      ? null
      : hiding
        ? conflicts.data.filter((c) => !settled.paths.includes(c.path))
        : conflicts.data
  // The dialog shows the freshest listing of its conflict.
  const current = comparing
    ? (conflicts.data?.find((c) => c.path === comparing.path) ?? comparing)
    : null

  return (
    <DetailSection
      id={titleId}
      title="Conflicts"
      description="When two devices change the same file before they sync, Spare keeps both: one stays, the other is saved next to it as a conflict copy. Keep the one you want and delete the other."
    >
      {conflicts.error ? (
        <ErrorAlert
          title="Couldn’t load the conflicts"
          action={
            <Button size="sm" icon={RefreshCw} onClick={conflicts.retry}>
              Try again
            </Button>
          }
        >
          {errorMessage(conflicts.error)}
        </ErrorAlert>
      ) : null}
      {shown === null ? (
        conflicts.loading ? (
          <Spinner label="Loading conflicts…" />
        ) : null
      ) : shown.length === 0 ? (
        <p className="text-sm text-zinc-500 dark:text-zinc-400">No conflicts in this folder.</p>
      ) : (
        <ul
          aria-label={`Conflicts in ${folder.name}`}
          className="divide-y divide-zinc-100 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800"
        >
          {shown.map((c) => (
            <li key={c.path} className="flex flex-wrap items-center gap-x-3 gap-y-2 px-3 py-2">
              <div className="min-w-0 flex-1">
                <p className="font-mono text-xs break-all text-zinc-900 dark:text-zinc-100">
                  {c.path}
                </p>
                <p className="flex flex-wrap items-center gap-x-2 text-xs text-zinc-500 dark:text-zinc-400">
                  <span>
                    copy of <span className="font-mono break-all">{c.original}</span>
                  </span>
                  {c.kept === null ? <Badge tone="amber">original deleted</Badge> : null}
                </p>
              </div>
              <Button
                size="sm"
                icon={FileDiff}
                aria-label={`Compare ${c.path} with ${c.original}`}
                onClick={() => {
                  setNotice(null)
                  setComparing(c)
                }}
              >
                Compare
              </Button>
              <Button
                size="sm"
                variant="ghost"
                icon={History}
                aria-label={`Versions of ${c.original}`}
                onClick={() => onShowVersions(c.original)}
              >
                Versions
              </Button>
            </li>
          ))}
        </ul>
      )}
      <p
        ref={noticeRef}
        role="status"
        tabIndex={-1}
        className="text-xs text-emerald-700 empty:hidden focus:outline-none dark:text-emerald-300"
      >
        {notice}
      </p>
      {current ? (
        <ConflictCompareDialog
          folder={folder}
          conflict={current}
          onClose={() => setComparing(null)}
          onResolved={(keep) => {
            setComparing(null)
            setNotice(resolvedNotice(current, keep))
            setSettled((s) => ({
              paths: [...(s && s.version === folder.version ? s.paths : []), current.path],
              version: folder.version,
            }))
            conflicts.retry()
          }}
        />
      ) : null}
    </DetailSection>
  )
}
