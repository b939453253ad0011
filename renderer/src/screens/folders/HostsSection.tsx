// The donor hosts keeping a two-way folder's encrypted data, so it stays available while this
// folder's devices are off, and how many the folder wants (folders.configure hostsWanted).
import { useState, type FormEvent } from 'react'
import { CircleCheck, CircleX, Save, Server } from 'lucide-react'
import type { FolderHost, FolderSummary } from '../../../../shared/contract.ts'
import { Badge, Button, ErrorAlert, Field } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import {
  formatBytes,
  formatCount,
  formatRelativeMs,
  formatTimeMs,
  isoOf,
  shortId,
} from '../../lib/format.ts'
import { useClient, useNow } from '../../lib/spare-context.tsx'
import { DetailSection } from './DetailSection.tsx'
import { checkParams } from './validation.ts'
import { useFocusInvalid } from '../../lib/useFocusInvalid.ts'

export const MAX_HOSTS = 16

/** The number of hosts typed, or a sentence saying what is wrong with it. */
export function parseHostsWanted(text: string, id: string): { hosts: number } | { error: string } {
  const t = text.trim()
  if (!t) return { error: `Enter how many hosts, from 0 to ${MAX_HOSTS} (0 asks for none).` }
  if (!/^-?\d+(\.\d+)?$/.test(t)) return { error: 'Hosts must be a whole number, like 2.' }
  const hosts = Number(t)
  const invalid = checkParams('folders.configure', { id, hostsWanted: hosts })
  if (invalid?.hostsWanted) return { error: invalid.hostsWanted }
  return { hosts }
}

function hostsLine(folder: FolderSummary): string {
  const n = folder.hosts.length
  return `${formatCount(n)} of ${formatCount(folder.hostsWanted)} ${folder.hostsWanted === 1 ? 'host' : 'hosts'}`
}

function LastAudit({ host, now }: { host: FolderHost; now: number }) {
  const audit = host.lastAudit
  if (!audit) {
    return <span className="text-zinc-500 dark:text-zinc-400">Not audited yet</span>
  }
  const when = (
    <time dateTime={isoOf(audit.at)} title={formatTimeMs(audit.at)}>
      {formatRelativeMs(audit.at, now)}
    </time>
  )
  return audit.ok ? (
    <span className="inline-flex items-start gap-1 text-emerald-700 dark:text-emerald-300">
      <CircleCheck aria-hidden="true" className="mt-px size-3.5 shrink-0" />
      <span>Last audit passed {when}</span>
    </span>
  ) : (
    <span className="inline-flex items-start gap-1 text-red-700 dark:text-red-300">
      <CircleX aria-hidden="true" className="mt-px size-3.5 shrink-0" />
      <span>
        Last audit failed {when}
        {audit.reason ? `: ${audit.reason}` : ''}
      </span>
    </span>
  )
}

function HostRow({ host, now }: { host: FolderHost; now: number }) {
  return (
    <li
      aria-label={`Host ${shortId(host.host)}`}
      className="flex flex-wrap items-start gap-x-3 gap-y-1.5 px-3 py-2"
    >
      <div className="min-w-0 flex-1">
        <p className="flex flex-wrap items-center gap-2 text-sm">
          <span className="font-mono text-zinc-900 dark:text-zinc-100" title={host.host}>
            {shortId(host.host)}
          </span>
          {host.connected ? <Badge tone="green">Online</Badge> : <Badge>Offline</Badge>}
          {host.lastAudit && !host.lastAudit.ok ? <Badge tone="red">Audit failed</Badge> : null}
        </p>
        <p className="mt-0.5 text-xs text-zinc-500 dark:text-zinc-400">
          {formatBytes(host.bytes)} of {formatBytes(host.agreedBytes)} agreed
          {' · '}
          {formatCount(host.auditsPassed)} {host.auditsPassed === 1 ? 'audit' : 'audits'} passed
          {' · '}
          keeping it since{' '}
          <time dateTime={isoOf(host.since)} title={formatTimeMs(host.since)}>
            {formatRelativeMs(host.since, now)}
          </time>
        </p>
        <p className="mt-0.5 text-xs">
          <LastAudit host={host} now={now} />
        </p>
      </div>
    </li>
  )
}

export function HostsSection({ folder }: { folder: FolderSummary }) {
  const client = useClient()
  const now = useNow()
  // null: untouched, so the field follows the folder (also when another client changes it).
  const [draft, setDraft] = useState<string | null>(null)
  const [fieldError, setFieldError] = useState<string | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [busy, setBusy] = useState(false)
  const focusInvalid = useFocusInvalid()
  const [saved, setSaved] = useState<number | null>(null)
  const titleId = `folder-${folder.id}-hosts`
  const text = draft ?? String(folder.hostsWanted)
  const seeks = folder.role === 'writer' && !folder.waitingForAccept

  async function submit(e: FormEvent) {
    e.preventDefault()
    if (busy) return
    const parsed = parseHostsWanted(text, folder.id)
    setError(null)
    setSaved(null)
    if ('error' in parsed) {
      setFieldError(parsed.error)
      focusInvalid(e.currentTarget)
      return
    }
    setFieldError(null)
    setBusy(true)
    try {
      await client.call('folders.configure', { id: folder.id, hostsWanted: parsed.hosts })
      setDraft(null)
      setSaved(parsed.hosts)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <DetailSection
      id={titleId}
      title="Hosts"
      description="Nodes that donate disk and keep this folder’s encrypted data, so it stays available while your devices are off. Hosts can’t read it; audits check they still have it."
    >
      <p
        data-testid="hosts-count"
        className="flex items-center gap-2 text-sm font-medium text-zinc-900 dark:text-zinc-100"
      >
        <Server aria-hidden="true" className="size-4 text-zinc-500" />
        {hostsLine(folder)}
      </p>
      {folder.hosts.length > 0 ? (
        <ul
          aria-label={`Hosts of ${folder.name}`}
          className="divide-y divide-zinc-100 rounded-lg border border-zinc-200 dark:divide-zinc-800 dark:border-zinc-800"
        >
          {folder.hosts.map((h) => (
            <HostRow key={h.host} host={h} now={now} />
          ))}
        </ul>
      ) : (
        <p className="text-sm text-zinc-500 dark:text-zinc-400">
          {folder.hostsWanted === 0
            ? 'This folder asks for no hosts: only its own devices keep it.'
            : 'No host keeps this folder yet. Nodes that donate disk are asked while a writer device is online.'}
        </p>
      )}
      {!seeks ? (
        <p className="text-xs text-zinc-500 dark:text-zinc-400">
          {folder.role === 'reader'
            ? 'This device is a read-only member: hosts are found by the folder’s writer devices.'
            : 'Hosts are found once a writer of the folder has accepted this device.'}
        </p>
      ) : null}
      <form noValidate onSubmit={(e) => void submit(e)} className="max-w-sm space-y-2 pt-1">
        <Field
          label="Hosts wanted"
          name="hosts-wanted"
          value={text}
          onChange={(value) => {
            setDraft(value)
            setFieldError(null)
            setSaved(null)
          }}
          inputMode="numeric"
          placeholder="2"
          hint={`From 0 to ${MAX_HOSTS}. More hosts keep the folder available more surely, and cost them more disk.`}
          error={fieldError}
          disabled={busy}
          addon={
            <Button type="submit" icon={Save} busy={busy}>
              Save
            </Button>
          }
        />
        <p role="status" className="text-xs text-emerald-700 empty:hidden dark:text-emerald-300">
          {saved !== null
            ? saved === 0
              ? 'Saved: this folder asks for no hosts.'
              : `Saved: this folder asks for ${saved} ${saved === 1 ? 'host' : 'hosts'}.`
            : ''}
        </p>
        {error ? (
          <ErrorAlert title="Couldn’t change how many hosts this folder wants">
            {errorMessage(error)}
          </ErrorAlert>
        ) : null}
      </form>
    </DetailSection>
  )
}
