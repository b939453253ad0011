// The details of a two-way folder, under its card: who its writers are, the donor hosts keeping
// it, the conflict copies in it, the kept versions of any file (with restore), and how long
// versions are kept.
import { useRef, useState } from 'react'
import type { FolderSummary } from '../../../../shared/contract.ts'
import { ConflictsSection } from './ConflictsSection.tsx'
import { HostsSection } from './HostsSection.tsx'
import { KeepVersionsForm } from './KeepVersionsForm.tsx'
import { MembersSection } from './MembersSection.tsx'
import { VersionsSection, type VersionsQuery } from './VersionsSection.tsx'

export function FolderDetail({ folder }: { folder: FolderSummary }) {
  const [query, setQuery] = useState<VersionsQuery>({ input: '', path: null, refresh: 0 })
  const versionsRef = useRef<HTMLElement>(null)

  /** Shows the versions of `path`, loading them again if they are already shown. */
  function showVersions(path: string) {
    setQuery((q) => ({ input: path, path, refresh: q.refresh + 1 }))
  }

  return (
    <div className="mt-4 space-y-6 border-t border-zinc-100 pt-4 dark:border-zinc-800">
      <MembersSection folder={folder} />
      <HostsSection folder={folder} />
      <ConflictsSection
        folder={folder}
        onShowVersions={(path) => {
          showVersions(path)
          versionsRef.current?.scrollIntoView?.({ block: 'start', behavior: 'smooth' })
        }}
      />
      <VersionsSection
        ref={versionsRef}
        folder={folder}
        query={query}
        onInput={(input) => setQuery((q) => ({ ...q, input }))}
        onShow={showVersions}
      />
      <KeepVersionsForm
        folder={folder}
        // Retention decides which versions are listed: list them again.
        onSaved={() => setQuery((q) => ({ ...q, refresh: q.refresh + 1 }))}
      />
    </div>
  )
}
