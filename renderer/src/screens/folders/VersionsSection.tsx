// The kept versions of one file of a two-way folder, newest first, and restoring one: into the
// folder (it syncs as a new change) or as a copy at another path.
import { useId, useState, type FormEvent, type Ref } from 'react'
import { History, RefreshCw, RotateCcw } from 'lucide-react'
import type { FolderSummary, MethodParams, Version } from '../../../../shared/contract.ts'
import { ChoiceGroup } from '../../components/ChoiceGroup.tsx'
import { FormFooter, Modal } from '../../components/Modal.tsx'
import { Badge, Button, ErrorAlert, Field, Spinner } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { formatBytes, formatTimeMs, isoOf } from '../../lib/format.ts'
import { useClient } from '../../lib/spare-context.tsx'
import { DetailSection } from './DetailSection.tsx'
import { useFolderData } from './useFolderData.ts'
import { checkParams } from './validation.ts'
import { useFocusInvalid } from '../../lib/useFocusInvalid.ts'

export interface VersionsQuery {
  /** What the path field holds. */
  input: string
  /** The path whose versions are shown; null before the first "Show versions". */
  path: string | null
  /** Bumped to load the versions again. */
  refresh: number
}

/** When a version was made; '—' for a time no date can hold (a peer's clock or data gone bad). */
function versionTime(v: Version): string {
  return formatTimeMs(v.at)
}

/** A file's versions with content can be restored; a deletion or a folder has none. */
function restorable(v: Version): boolean {
  return v.kind === 'file' || v.kind === 'symlink'
}

/** An absolute path on Linux, macOS or Windows (the node's own check decides in the end). */
export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\')
}

function insideFolder(folderPath: string, p: string): boolean {
  const trim = (s: string) => s.replace(/[\\/]+$/, '')
  const base = trim(folderPath)
  const target = trim(p)
  return target === base || target.startsWith(base + '/') || target.startsWith(base + '\\')
}

function VersionKind({ version }: { version: Version }) {
  return (
    <>
      {version.current ? <Badge tone="green">Current</Badge> : null}
      {version.kind === 'deleted' ? <Badge tone="red">Deleted</Badge> : null}
      {version.kind === 'dir' ? <Badge tone="neutral">Folder</Badge> : null}
      {version.kind === 'symlink' ? <Badge tone="neutral">Link</Badge> : null}
    </>
  )
}

type Target = 'folder' | 'elsewhere'

function RestoreDialog({
  folder,
  path,
  version,
  onClose,
  onRestored,
}: {
  folder: FolderSummary
  path: string
  version: Version
  onClose: () => void
  onRestored: (result: { version: string; path: string }, into: Target) => void
}) {
  const client = useClient()
  const [target, setTarget] = useState<Target>('folder')
  const [to, setTo] = useState('')
  const [toError, setToError] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const focusInvalid = useFocusInvalid()

  function checkTo(value: string): string | null {
    if (!value) return 'Enter the full path of the file to write, like /home/you/restored.txt.'
    if (!isAbsolutePath(value)) return 'Use a full (absolute) path, like /home/you/restored.txt.'
    if (insideFolder(folder.path, value))
      return 'That path is inside the folder. Choose “Into the folder”, or a path outside it.'
    return null
  }

  async function submit(e: FormEvent) {
    e.preventDefault()
    if (busy) return
    setError(null)
    const dest = to.trim()
    const problem = target === 'elsewhere' ? checkTo(dest) : null
    setToError(problem)
    if (problem) {
      focusInvalid(e.currentTarget)
      return
    }
    const params: MethodParams<'folders.restore'> = { id: folder.id, path, version: version.id }
    if (target === 'elsewhere') params.to = dest
    const invalid = checkParams('folders.restore', params)
    if (invalid) {
      if (invalid.to) {
        setToError(invalid.to)
        focusInvalid(e.currentTarget)
      } else setError(new Error(Object.values(invalid).join(' ')))
      return
    }
    setBusy(true)
    try {
      const result = await client.call('folders.restore', params)
      onRestored(result, target)
    } catch (err) {
      setError(err)
      setBusy(false)
    }
  }

  return (
    <Modal
      title={`Restore a version of ${path}?`}
      description={
        <>
          The version from {versionTime(version)} ({formatBytes(version.size)}, by{' '}
          <span className="font-mono">{version.device}</span>).
        </>
      }
      onClose={onClose}
      onSubmit={(e) => void submit(e)}
      busy={busy}
      icon={
        <div className="flex size-9 shrink-0 items-center justify-center rounded-full bg-indigo-50 text-indigo-600 dark:bg-indigo-950/60 dark:text-indigo-300">
          <RotateCcw aria-hidden="true" className="size-4" />
        </div>
      }
      footer={<FormFooter submitLabel="Restore" icon={RotateCcw} onCancel={onClose} busy={busy} />}
    >
      <div className="space-y-4">
        <ChoiceGroup
          legend="Restore to"
          value={target}
          onChange={(next) => {
            setTarget(next)
            setToError(null)
            setError(null)
          }}
          disabled={busy}
          options={[
            {
              value: 'folder',
              label: 'Into the folder',
              description: `Replaces ${path} with this version. It syncs to every device as a new change; what it replaces stays restorable.`,
            },
            {
              value: 'elsewhere',
              label: 'To another path',
              description: 'Writes a copy outside the folder. The folder doesn’t change.',
            },
          ]}
        />
        {target === 'elsewhere' ? (
          <Field
            label="Destination file"
            name="to"
            value={to}
            onChange={(value) => {
              setTo(value)
              setToError(null)
            }}
            mono
            placeholder="/home/you/restored.txt"
            hint="The full path of the file to write, on the machine that runs the Spare node."
            error={toError}
            disabled={busy}
          />
        ) : null}
        {error ? (
          <ErrorAlert title="Couldn’t restore this version">{errorMessage(error)}</ErrorAlert>
        ) : null}
      </div>
    </Modal>
  )
}

export function VersionsSection({
  folder,
  query,
  onInput,
  onShow,
  ref,
}: {
  folder: FolderSummary
  query: VersionsQuery
  onInput: (input: string) => void
  onShow: (path: string) => void
  ref?: Ref<HTMLElement>
}) {
  const client = useClient()
  const path = query.path
  const versions = useFolderData(
    path === null ? null : `${folder.id}:${path}`,
    () => client.call('folders.versions', { id: folder.id, path: path ?? '' }),
    // New changes (a restore, an edit on another device) add versions.
    `${query.refresh}:${folder.version}`,
  )
  const [fieldError, setFieldError] = useState<string | null>(null)
  const [restoring, setRestoring] = useState<Version | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const titleId = `folder-${folder.id}-versions`
  const timeId = useId()
  const focusInvalid = useFocusInvalid()

  function submit(e: FormEvent) {
    e.preventDefault()
    const typed = query.input.trim()
    const invalid = checkParams('folders.versions', { id: folder.id, path: typed })
    setFieldError(invalid?.path ?? null)
    if (invalid) {
      focusInvalid(e.currentTarget)
      return
    }
    setNotice(null)
    onShow(typed)
  }

  return (
    <DetailSection
      ref={ref}
      id={titleId}
      title="Versions"
      description="Earlier and deleted versions of a file, kept for the number of days set below. Restore one to get it back."
    >
      <form noValidate onSubmit={submit}>
        <Field
          label="File in the folder"
          name="versions-path"
          value={query.input}
          onChange={(value) => {
            onInput(value)
            setFieldError(null)
          }}
          mono
          placeholder="notes/todo.txt"
          error={fieldError}
          addon={
            <Button type="submit" icon={History}>
              Show versions
            </Button>
          }
        />
      </form>

      {path !== null ? (
        <div className="space-y-2">
          {versions.error ? (
            <ErrorAlert
              title={`Couldn’t load the versions of ${path}`}
              action={
                <Button size="sm" icon={RefreshCw} onClick={versions.retry}>
                  Try again
                </Button>
              }
            >
              {errorMessage(versions.error)}
            </ErrorAlert>
          ) : null}
          {versions.data === null ? (
            versions.loading ? (
              <Spinner label={`Loading the versions of ${path}…`} />
            ) : null
          ) : versions.data.length === 0 ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">
              No kept versions of <span className="font-mono">{path}</span>. Check the path: it is
              relative to the folder, like notes/todo.txt.
            </p>
          ) : (
            <ul
              aria-label={`Versions of ${path}`}
              className="divide-y divide-zinc-100 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800"
            >
              {versions.data.map((v) => (
                <li
                  key={v.id}
                  aria-label={`Version ${v.id}`}
                  className="flex flex-wrap items-center gap-x-3 gap-y-2 px-3 py-2"
                >
                  <div className="min-w-0 flex-1">
                    <p className="flex flex-wrap items-center gap-2 text-sm">
                      <time
                        id={`${timeId}-${v.id}`}
                        dateTime={isoOf(v.at)}
                        className="font-medium text-zinc-900 dark:text-zinc-100"
                      >
                        {versionTime(v)}
                      </time>
                      <VersionKind version={v} />
                    </p>
                    <p className="text-xs text-zinc-500 dark:text-zinc-400">
                      {v.kind === 'deleted' ? 'deleted' : formatBytes(v.size)}
                      {' · by '}
                      <span className="font-mono">{v.device}</span>
                      {' · '}
                      <span className="font-mono">{v.id}</span>
                    </p>
                  </div>
                  {restorable(v) ? (
                    <Button
                      size="sm"
                      icon={RotateCcw}
                      aria-describedby={`${timeId}-${v.id}`}
                      onClick={() => {
                        setNotice(null)
                        setRestoring(v)
                      }}
                    >
                      Restore…
                    </Button>
                  ) : null}
                </li>
              ))}
            </ul>
          )}
        </div>
      ) : null}
      <p role="status" className="text-xs text-emerald-700 empty:hidden dark:text-emerald-300">
        {notice}
      </p>
      {restoring && path !== null ? (
        <RestoreDialog
          folder={folder}
          path={path}
          version={restoring}
          onClose={() => setRestoring(null)}
          onRestored={(result, into) => {
            setRestoring(null)
            setNotice(
              into === 'folder'
                ? `Restored version ${result.version} into the folder as ${result.path}. It syncs to the other devices as a new change.`
                : `Restored version ${result.version} to ${result.path}.`,
            )
            if (into === 'folder') onShow(path)
          }}
        />
      ) : null}
    </DetailSection>
  )
}
