// One conflict's two versions side by side: the file that kept the name and the conflict copy,
// each with its size, time, device and the start of its content (the lines that differ from the
// other side highlighted), and keeping one of them after a confirmation that says what happens.
import { useEffect, useId, useMemo, useRef, useState, type Ref } from 'react'
import { Check, FileDiff, RefreshCw } from 'lucide-react'
import type { Conflict, FolderSummary, Member } from '../../../../shared/contract.ts'
import { Modal } from '../../components/Modal.tsx'
import { Badge, Button, ErrorAlert, Spinner, cx } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { formatBytes, formatTimeMs, isoOf } from '../../lib/format.ts'
import { diffLines, splitLines, type DiffLine } from '../../lib/line-diff.ts'
import { useClient } from '../../lib/spare-context.tsx'
import { useFolderData, type FolderData } from './useFolderData.ts'

export type Keep = 'original' | 'copy'
type Side = NonNullable<Conflict['kept']>
type Preview = { size: number; text: string | null; truncated: boolean }

/** A path inside the folder as people read it: without the engine's leading slash. */
export function shownPath(p: string): string {
  return p.replace(/^\/+/, '')
}

/** What keeping one side does, in one sentence: the confirmation shows it before anything happens. */
export function keepConsequence(conflict: Conflict, keep: Keep): string {
  const name = shownPath(conflict.original)
  if (keep === 'original') {
    return conflict.kept
      ? 'The conflict copy will be deleted.'
      : `The conflict copy will be deleted; ${name} stays deleted.`
  }
  return conflict.kept
    ? `The copy replaces ${name}; the current ${name} stays restorable under Versions.`
    : `The copy is restored as ${name}.`
}

/** The device a side comes from, as the members list knows it. */
function deviceNote(device: string, members: Member[] | null): string | null {
  const m = members?.find((x) => x.device === device)
  if (!m) return null
  return m.you ? 'this device' : m.label || null
}

function kindNote(kind: Side['kind']): string | null {
  if (kind === 'dir') return 'A folder: no preview.'
  if (kind === 'symlink') return 'A symbolic link: no preview.'
  return null
}

function PreviewLines({ lines, label }: { lines: DiffLine[]; label: string }) {
  return (
    <pre
      // Scrollable, so it must be reachable with the keyboard.
      tabIndex={0}
      role="region"
      aria-label={label}
      className="max-h-80 overflow-auto rounded-lg border border-zinc-200 bg-zinc-50 py-2 font-mono text-xs leading-5 text-zinc-800 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:border-zinc-800 dark:bg-zinc-950 dark:text-zinc-200"
    >
      {lines.map((line, i) => (
        <span
          key={i}
          data-changed={line.changed ? 'true' : undefined}
          className={cx(
            'flex border-l-2 pr-2',
            line.changed
              ? 'border-amber-500 bg-amber-100 text-zinc-900 dark:border-amber-400 dark:bg-amber-900/40 dark:text-amber-50'
              : 'border-transparent',
          )}
        >
          <span
            aria-hidden="true"
            className="w-5 shrink-0 text-center text-amber-700 select-none dark:text-amber-300"
          >
            {line.changed ? '~' : ''}
          </span>
          <span className="min-w-0 flex-1 break-all whitespace-pre-wrap">
            {line.text === '' ? '\u00a0' : line.text}
          </span>
        </span>
      ))}
    </pre>
  )
}

interface ColumnProps {
  side: 'kept' | 'copy'
  heading: string
  info: Side | null
  preview: FolderData<Preview> | null
  lines: DiffLine[] | null
  /** How many lines differ from the other side, when both sides are text. */
  changedCount: number | null
  otherName: string
  members: Member[] | null
  newer: boolean
  /** When `info` is null: why there is nothing to show. */
  missing: string
  keepLabel: string
  keepDisabled: boolean
  onKeep: () => void
  keepRef: Ref<HTMLButtonElement>
}

function Column({
  side,
  heading,
  info,
  preview,
  lines,
  changedCount,
  otherName,
  members,
  newer,
  missing,
  keepLabel,
  keepDisabled,
  onKeep,
  keepRef,
}: ColumnProps) {
  const headingId = useId()
  const note = info ? deviceNote(info.device, members) : null
  const data = preview?.data ?? null
  return (
    <section
      aria-labelledby={headingId}
      data-side={side}
      className="flex min-w-0 flex-col gap-3 rounded-xl border border-zinc-200 p-4 dark:border-zinc-800"
    >
      <h3
        id={headingId}
        className="text-sm font-semibold break-words text-zinc-900 dark:text-zinc-100"
      >
        {heading}
        {newer ? (
          <>
            {' '}
            <Badge tone="indigo" className="ml-1 align-middle">
              Newer
            </Badge>
          </>
        ) : null}
      </h3>
      {info ? (
        <dl className="grid grid-cols-[auto_minmax(0,1fr)] gap-x-3 gap-y-1 text-xs">
          <dt className="text-zinc-500 dark:text-zinc-400">Size</dt>
          <dd className="text-zinc-900 tabular-nums dark:text-zinc-100">
            {info.kind === 'dir' ? 'folder' : formatBytes(info.size)}
          </dd>
          <dt className="text-zinc-500 dark:text-zinc-400">Modified</dt>
          <dd className="text-zinc-900 dark:text-zinc-100">
            <time dateTime={isoOf(info.mtime)}>{formatTimeMs(info.mtime)}</time>
          </dd>
          <dt className="text-zinc-500 dark:text-zinc-400">Device</dt>
          <dd className="break-all text-zinc-900 dark:text-zinc-100">
            <span className="font-mono">{info.device}</span>
            {note ? ` · ${note}` : null}
          </dd>
        </dl>
      ) : (
        <p className="text-sm text-zinc-600 dark:text-zinc-300">{missing}</p>
      )}

      {info ? (
        <div className="min-w-0 flex-1 space-y-2">
          {kindNote(info.kind) ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">{kindNote(info.kind)}</p>
          ) : preview?.error ? (
            <ErrorAlert
              title="Couldn’t show this version"
              action={
                <Button size="sm" icon={RefreshCw} onClick={preview.retry}>
                  Try again
                </Button>
              }
            >
              {errorMessage(preview.error)}
            </ErrorAlert>
          ) : data === null ? (
            <Spinner label="Loading the preview…" />
          ) : data.text === null ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">Binary file: no preview.</p>
          ) : data.text === '' ? (
            <p className="text-sm text-zinc-500 dark:text-zinc-400">Empty file.</p>
          ) : (
            <>
              {changedCount !== null ? (
                <p className="text-xs text-zinc-500 dark:text-zinc-400">
                  {changedCount === 0
                    ? `No lines differ from ${otherName}.`
                    : `${changedCount} ${changedCount === 1 ? 'line differs' : 'lines differ'} from ${otherName} (highlighted).`}
                </p>
              ) : null}
              <PreviewLines
                lines={lines ?? splitLines(data.text).map((text) => ({ text, changed: false }))}
                label={`Content: ${heading}`}
              />
              {data.truncated ? (
                <p className="text-xs text-zinc-500 dark:text-zinc-400">
                  The preview shows the first 16 KiB of {formatBytes(data.size)}.
                </p>
              ) : null}
            </>
          )}
        </div>
      ) : null}

      <div>
        <Button
          ref={keepRef}
          icon={Check}
          aria-describedby={headingId}
          disabled={keepDisabled}
          onClick={onKeep}
        >
          {keepLabel}
        </Button>
      </div>
    </section>
  )
}

export function ConflictCompareDialog({
  folder,
  conflict,
  onClose,
  onResolved,
}: {
  folder: FolderSummary
  conflict: Conflict
  onClose: () => void
  onResolved: (keep: Keep, result: { path: string }) => void
}) {
  const client = useClient()
  const name = shownPath(conflict.original)
  const { kept, copy } = conflict
  const fileKey = (p: string) => `${folder.id}:${p}`
  // Previews follow the folder: a file that changes while the dialog is open shows anew.
  const refresh = String(folder.version)
  const keptPreview = useFolderData<Preview>(
    kept?.kind === 'file' ? fileKey(conflict.original) : null,
    () => client.call('folders.preview', { id: folder.id, path: conflict.original }),
    refresh,
  )
  const copyPreview = useFolderData<Preview>(
    copy.kind === 'file' ? fileKey(conflict.path) : null,
    () => client.call('folders.preview', { id: folder.id, path: conflict.path }),
    refresh,
  )
  // Only to tell which device is this one, and names for the others; without it, ids alone.
  const members = useFolderData(
    `${folder.id}:members`,
    () => client.call('folders.members', { id: folder.id }),
    refresh,
  )
  const [confirming, setConfirming] = useState<Keep | null>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const confirmRef = useRef<HTMLButtonElement>(null)
  const keepOriginalRef = useRef<HTMLButtonElement>(null)
  const keepCopyRef = useRef<HTMLButtonElement>(null)
  const confirmTitleId = useId()
  const confirmTextId = useId()

  const keptText = keptPreview.data?.text ?? null
  const copyText = copyPreview.data?.text ?? null
  const diff = useMemo(
    () => (keptText !== null && copyText !== null ? diffLines(keptText, copyText) : null),
    [keptText, copyText],
  )

  useEffect(() => {
    if (confirming) confirmRef.current?.focus()
  }, [confirming])

  function ask(keep: Keep) {
    setError(null)
    setConfirming(keep)
  }

  function cancel() {
    const back = confirming
    setConfirming(null)
    setError(null)
    if (back) (back === 'copy' ? keepCopyRef : keepOriginalRef).current?.focus()
  }

  async function resolve(keep: Keep) {
    if (busy) return
    setBusy(true)
    setError(null)
    try {
      const result = await client.call('folders.resolveConflict', {
        id: folder.id,
        path: conflict.path,
        keep,
      })
      onResolved(keep, result)
    } catch (err) {
      setError(err)
      setBusy(false)
    }
  }

  const copyDevice = `device ${copy.device}${deviceNote(copy.device, members.data) === 'this device' ? ' (this device)' : ''}`
  const newer =
    kept && kept.mtime !== copy.mtime ? (kept.mtime > copy.mtime ? 'kept' : 'copy') : null

  return (
    <Modal
      size="lg"
      title={`Compare the versions of ${name}`}
      description={
        <>
          Two devices changed <span className="font-mono break-all">{name}</span> at once, so “
          {folder.name}” kept both: the conflict copy is{' '}
          <span className="font-mono break-all">{shownPath(conflict.path)}</span>. Keep one of them.
        </>
      }
      onClose={onClose}
      busy={busy}
      icon={
        <div className="flex size-9 shrink-0 items-center justify-center rounded-full bg-amber-50 text-amber-600 dark:bg-amber-950/60 dark:text-amber-300">
          <FileDiff aria-hidden="true" className="size-4" />
        </div>
      }
      footer={
        <Button onClick={onClose} disabled={busy}>
          Close
        </Button>
      }
    >
      <div className="space-y-4">
        <div className="grid gap-4 md:grid-cols-2">
          <Column
            side="kept"
            heading={`Kept — ${name}`}
            info={kept}
            preview={keptPreview}
            lines={diff?.left ?? null}
            changedCount={diff ? diff.changedLeft : null}
            otherName="the conflict copy"
            members={members.data}
            newer={newer === 'kept'}
            missing="The original was deleted since; keeping the copy restores it under its name."
            keepLabel={kept ? 'Keep this version' : 'Keep it deleted'}
            keepDisabled={busy}
            onKeep={() => ask('original')}
            keepRef={keepOriginalRef}
          />
          <Column
            side="copy"
            heading={`Conflict copy — from ${copyDevice}`}
            info={copy}
            preview={copyPreview}
            lines={diff?.right ?? null}
            changedCount={diff ? diff.changedRight : null}
            otherName={name}
            members={members.data}
            newer={newer === 'copy'}
            missing=""
            keepLabel="Keep this version"
            keepDisabled={busy}
            onKeep={() => ask('copy')}
            keepRef={keepCopyRef}
          />
        </div>
        {diff?.approximate ? (
          <p className="text-xs text-zinc-500 dark:text-zinc-400">
            Too many differences to match line by line: everything between the first and the last
            lines both share is highlighted.
          </p>
        ) : null}

        {confirming ? (
          <div
            role="group"
            aria-labelledby={confirmTitleId}
            // Escape backs out of this question first, as Cancel does, not out of the dialog.
            onKeyDown={(e) => {
              if (e.key !== 'Escape') return
              e.stopPropagation()
              if (!busy) cancel()
            }}
            className="space-y-3 rounded-xl border border-amber-300 bg-amber-50 p-4 dark:border-amber-800 dark:bg-amber-950/40"
          >
            <div>
              <p
                id={confirmTitleId}
                className="text-sm font-semibold text-zinc-900 dark:text-zinc-100"
              >
                {confirming === 'copy'
                  ? 'Keep the conflict copy?'
                  : kept
                    ? `Keep ${name} as it is?`
                    : `Keep ${name} deleted?`}
              </p>
              <p id={confirmTextId} className="mt-1 text-sm text-zinc-700 dark:text-zinc-300">
                {keepConsequence(conflict, confirming)}
              </p>
            </div>
            {error ? (
              <ErrorAlert title="Couldn’t keep this version">{errorMessage(error)}</ErrorAlert>
            ) : null}
            <div className="flex flex-wrap justify-end gap-2">
              <Button onClick={cancel} disabled={busy}>
                Cancel
              </Button>
              <Button
                ref={confirmRef}
                variant={confirming === 'original' ? 'danger' : 'primary'}
                busy={busy}
                aria-describedby={confirmTextId}
                onClick={() => void resolve(confirming)}
              >
                {confirming === 'original'
                  ? 'Delete the copy'
                  : kept
                    ? `Replace ${name}`
                    : `Restore ${name}`}
              </Button>
            </div>
          </div>
        ) : null}
      </div>
    </Modal>
  )
}
