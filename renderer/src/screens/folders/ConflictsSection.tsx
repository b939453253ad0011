// The conflict copies in a two-way folder, each with the path it is a copy of.
import { History, RefreshCw } from 'lucide-react'
import type { FolderSummary } from '../../../../shared/contract.ts'
import { Button, ErrorAlert, Spinner } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { useClient } from '../../lib/spare-context.tsx'
import { DetailSection } from './DetailSection.tsx'
import { useFolderData } from './useFolderData.ts'

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
      {conflicts.data === null ? (
        conflicts.loading ? (
          <Spinner label="Loading conflicts…" />
        ) : null
      ) : conflicts.data.length === 0 ? (
        <p className="text-sm text-zinc-500 dark:text-zinc-400">No conflicts in this folder.</p>
      ) : (
        <ul
          aria-label={`Conflicts in ${folder.name}`}
          className="divide-y divide-zinc-100 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800"
        >
          {conflicts.data.map((c) => (
            <li key={c.path} className="flex flex-wrap items-center gap-x-3 gap-y-2 px-3 py-2">
              <div className="min-w-0 flex-1">
                <p className="font-mono text-xs break-all text-zinc-900 dark:text-zinc-100">
                  {c.path}
                </p>
                <p className="text-xs text-zinc-500 dark:text-zinc-400">
                  copy of <span className="font-mono break-all">{c.original}</span>
                </p>
              </div>
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
    </DetailSection>
  )
}
