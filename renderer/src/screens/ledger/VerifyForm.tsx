// Checking another node's ledger: its key is checked here (64 hex characters) before the node
// fetches the ledger from its peers and checks every receipt's signatures (ledger.verify).
import { useState, type FormEvent } from 'react'
import { ShieldCheck, ShieldX } from 'lucide-react'
import type { LedgerReport } from '../../../../shared/contract.ts'
import { Badge, Button, ErrorAlert, Field, Spinner, Stat } from '../../components/ui.tsx'
import { errorCode, errorMessage } from '../../lib/errors.ts'
import { formatCount, formatCredit } from '../../lib/format.ts'
import { useClient } from '../../lib/spare-context.tsx'
import { checkParams } from '../folders/validation.ts'
import { ReceiptsTable } from './ReceiptsTable.tsx'
import { useFocusInvalid } from '../../lib/useFocusInvalid.ts'

/** The key typed (spaces around it and upper case forgiven), or what is wrong with it. */
export function parseLedgerKey(text: string): { key: string } | { error: string } {
  const key = text.trim().toLowerCase()
  if (!key) {
    return {
      error:
        'Paste the ledger key of the node to check: 64 hex characters, from its Ledger screen.',
    }
  }
  if (/[^0-9a-f]/.test(key)) {
    return { error: 'A ledger key has only the characters 0–9 and a–f.' }
  }
  if (key.length !== 64) {
    return { error: `A ledger key is 64 hex characters; this one has ${key.length}.` }
  }
  const invalid = checkParams('ledger.verify', { key })
  if (invalid?.key) return { error: invalid.key }
  return { key }
}

function Report({ report, now }: { report: LedgerReport; now: number }) {
  return (
    <section aria-label="Verification result" className="space-y-4">
      <div className="flex flex-wrap items-center gap-3">
        {report.valid ? (
          <Badge tone="green" className="px-2.5 py-1 text-sm">
            <ShieldCheck aria-hidden="true" className="size-4" />
            VALID
          </Badge>
        ) : (
          <Badge tone="red" className="px-2.5 py-1 text-sm">
            <ShieldX aria-hidden="true" className="size-4" />
            INVALID
          </Badge>
        )}
        <p className="min-w-0 text-sm text-zinc-600 dark:text-zinc-400">
          {report.valid
            ? 'Every entry checks out: each receipt is signed by both sides and names this ledger’s node.'
            : 'Some entries do not check out: they are listed below and left out of the totals.'}
        </p>
      </div>
      <dl className="grid grid-cols-1 gap-x-4 gap-y-3 sm:grid-cols-2">
        <div className="min-w-0">
          <dt className="text-xs font-medium text-zinc-500 dark:text-zinc-400">Ledger key</dt>
          <dd className="mt-0.5 font-mono text-xs break-all text-zinc-900 dark:text-zinc-100">
            {report.key}
          </dd>
        </div>
        <div className="min-w-0">
          <dt className="text-xs font-medium text-zinc-500 dark:text-zinc-400">Identity</dt>
          <dd className="mt-0.5 font-mono text-xs break-all text-zinc-900 dark:text-zinc-100">
            {report.identity ?? (
              <span className="font-sans text-red-700 dark:text-red-300">
                Not proven: entry 0 does not bind this ledger to a node
              </span>
            )}
          </dd>
        </div>
      </dl>
      <dl className="grid grid-cols-2 gap-x-4 gap-y-3 sm:grid-cols-5">
        <Stat label="Entries">{formatCount(report.entries)}</Stat>
        <Stat label="Valid receipts">{formatCount(report.receiptCount)}</Stat>
        <Stat label="Given">{formatCredit(report.given)}</Stat>
        <Stat label="Received">{formatCredit(report.received)}</Stat>
        <Stat label="Balance">{formatCredit(report.balance)}</Stat>
      </dl>
      {report.ahead > 0 ? (
        <p role="note" className="text-sm text-amber-800 dark:text-amber-200">
          {formatCount(report.ahead)} {report.ahead === 1 ? 'receipt is' : 'receipts are'} not
          counted yet: {report.ahead === 1 ? 'its period ends' : 'their periods end'} later than
          this computer’s clock allows. They count once their time comes; if this keeps happening,
          check that this computer’s clock is right.
        </p>
      ) : null}
      {report.errors.length > 0 ? (
        <div>
          <h4 className="text-xs font-medium text-zinc-500 dark:text-zinc-400">
            {formatCount(report.errors.length)}{' '}
            {report.errors.length === 1 ? 'problem' : 'problems'} found
          </h4>
          <ul
            aria-label="Problems found"
            className="mt-1 divide-y divide-red-100 rounded-lg border border-red-200 dark:divide-red-900/60 dark:border-red-900/70"
          >
            {report.errors.map((e, i) => (
              <li key={`${i}:${e.index}`} className="px-3 py-1.5 text-sm">
                <span className="font-medium text-red-800 dark:text-red-200">Entry {e.index}:</span>{' '}
                <span className="text-zinc-700 dark:text-zinc-300">{e.reason}</span>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {report.receipts.length > 0 ? (
        <div className="-mx-5 border-t border-zinc-200 pt-2 dark:border-zinc-800">
          <ReceiptsTable
            receipts={report.receipts}
            self={report.identity}
            selfLabel="Its node"
            label="Receipts in the checked ledger"
            now={now}
          />
        </div>
      ) : null}
    </section>
  )
}

export function VerifyForm({ now }: { now: number }) {
  const client = useClient()
  const [text, setText] = useState('')
  const [fieldError, setFieldError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const focusInvalid = useFocusInvalid()
  const [error, setError] = useState<unknown>(null)
  const [report, setReport] = useState<LedgerReport | null>(null)

  async function submit(e: FormEvent) {
    e.preventDefault()
    if (busy) return
    const parsed = parseLedgerKey(text)
    if ('error' in parsed) {
      setFieldError(parsed.error)
      focusInvalid(e.currentTarget)
      return
    }
    setFieldError(null)
    setError(null)
    setReport(null)
    setBusy(true)
    try {
      setReport(await client.call('ledger.verify', { key: parsed.key }))
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <div className="space-y-5 p-5">
      <form noValidate onSubmit={(e) => void submit(e)} className="space-y-3">
        <Field
          label="Ledger key"
          name="ledger-key"
          value={text}
          onChange={(value) => {
            setText(value)
            setFieldError(null)
          }}
          placeholder="64 hex characters"
          hint={
            <>
              Another node’s ledger key, from its Ledger screen or <code>spare ledger</code>. This
              node fetches that ledger from its peers and checks every signature.
            </>
          }
          error={fieldError}
          mono
          disabled={busy}
          addon={
            <Button type="submit" variant="primary" busy={busy}>
              Verify
            </Button>
          }
        />
        {busy ? <Spinner label="Fetching the ledger from peers… this can take a while." /> : null}
        {error ? (
          <ErrorAlert title="Couldn’t verify that ledger">{errorMessage(error)}</ErrorAlert>
        ) : null}
        {error && errorCode(error) === 'UNAVAILABLE' ? (
          <p className="text-xs text-zinc-500 dark:text-zinc-400">
            The node that keeps this ledger, or a peer with a copy of it, has to be online. Check
            the key and try again later.
          </p>
        ) : null}
      </form>
      <p role="status" className="sr-only">
        {report ? `The ledger is ${report.valid ? 'valid' : 'invalid'}.` : ''}
      </p>
      {report ? <Report report={report} now={now} /> : null}
    </div>
  )
}
