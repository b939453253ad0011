// The Ledger screen against the fake node's own ledger.get / ledger.verify; error paths override
// one method.
import { act, screen, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ApiError, type LedgerReport } from '../../../shared/contract.ts'
import {
  FakeNode,
  LEDGER_KEY,
  computeReceipt,
  deferred,
  job,
  nodeStatus,
  receipt,
  renderWithSpare,
} from '../test-utils/fake-node.tsx'
import { LedgerScreen } from './LedgerScreen.tsx'

const HOUR = 3_600_000
const MINUTE = 60_000
const ME = nodeStatus().nodeId
const HOST = 'ab'.repeat(32)
const OWNER = 'cd'.repeat(32)

function setup(node: FakeNode, refreshMs = 0) {
  const user = userEvent.setup()
  const view = renderWithSpare(<LedgerScreen refreshMs={refreshMs} />, { node })
  return { user, ...view }
}

/** This node hosted 2 GB for two hours (4 GB·h given) and was served 500 MB (received). */
function ledgerNode(handlers: ConstructorParameters<typeof FakeNode>[0] = {}) {
  const node = new FakeNode(handlers)
  const now = Date.now()
  const kept = receipt({
    kind: 'storage',
    host: ME,
    owner: OWNER,
    folder: '00aa00aa00aa00aa',
    bytes: 2e9,
    from: now - 2 * HOUR - 10 * MINUTE,
    to: now - 10 * MINUTE,
    audits: 4,
  })
  const served = receipt({
    kind: 'served',
    host: HOST,
    owner: ME,
    folder: '00bb00bb00bb00bb',
    bytes: 5e8,
    from: now - 3 * MINUTE - HOUR,
    to: now - 3 * MINUTE,
    audits: 0,
  })
  node.ledger.receipts = [kept, served]
  node.ledger.strikes = { ['ee'.repeat(32)]: 1, ['ff'.repeat(32)]: 3 }
  return { node, kept, served }
}

const region = (name: string) => screen.getByRole('region', { name })

describe('LedgerScreen: this node’s ledger', () => {
  it('shows the key, the identity and the totals in byte-hours', async () => {
    const { node } = ledgerNode()
    const { user } = setup(node)
    expect(await screen.findByTestId('ledger-key')).toHaveTextContent(LEDGER_KEY)
    expect(screen.getByTestId('ledger-identity')).toHaveTextContent(ME)
    await user.click(screen.getByRole('button', { name: 'Copy ledger key' }))
    await expect(navigator.clipboard.readText()).resolves.toBe(LEDGER_KEY)
    expect(await screen.findByText('Copied')).toBeInTheDocument()

    const own = region('This node’s ledger')
    const stat = (label: string) => within(own).getByText(label).nextElementSibling
    expect(stat('Given')).toHaveTextContent('4 GB·h')
    expect(stat('Received')).toHaveTextContent('500 MB·h')
    expect(stat('Balance')).toHaveTextContent('+3.5 GB·h')
    expect(stat('Receipts')).toHaveTextContent('2')
  })

  it('shows a tiny positive balance as under 1 B·h, not as +0 B·h', async () => {
    const node = new FakeNode()
    const now = Date.now()
    // 100 bytes kept for 10 s: 0.28 B·h.
    node.ledger.receipts = [
      receipt({ kind: 'storage', host: ME, owner: OWNER, bytes: 100, from: now - 10_000, to: now }),
    ]
    setup(node)
    await screen.findByTestId('ledger-key')
    const own = region('This node’s ledger')
    const stat = (label: string) => within(own).getByText(label).nextElementSibling
    expect(stat('Given')).toHaveTextContent(/^< 1 B·h$/)
    expect(stat('Balance')).toHaveTextContent(/^< 1 B·h$/)
  })

  it('lists recent receipts newest first, marking this node’s side', async () => {
    const { node } = ledgerNode()
    setup(node)
    const table = await screen.findByRole('table', { name: 'Recent receipts' })
    const headers = within(table)
      .getAllByRole('columnheader')
      .map((th) => th.textContent)
    expect(headers).toEqual([
      'Time',
      'Kind',
      'Bytes',
      'Credit',
      'Folder',
      'Host → owner',
      'Audits',
      'This node',
    ])
    const [, first, second] = within(table).getAllByRole('row')
    const cells = (row: HTMLElement | undefined) =>
      within(row as HTMLElement)
        .getAllByRole('cell')
        .map((td) => td.textContent)
    // Newest first: served 3 minutes ago, then the storage receipt.
    expect(cells(first)).toEqual([
      '3 minutes ago',
      'Served',
      '500 MB',
      '500 MB·h',
      '00bb00bb00bb00bb',
      `${HOST.slice(0, 8)}… → this node`,
      '0',
      'Owner: received',
    ])
    expect(cells(second)).toEqual([
      '10 minutes ago',
      'Storage for 2 h 0 min',
      '2 GB',
      '4 GB·h',
      '00aa00aa00aa00aa',
      `this node → ${OWNER.slice(0, 8)}…`,
      '4',
      'Host: gave',
    ])
    expect(within(first as HTMLElement).getByTitle(HOST)).toHaveTextContent(`${HOST.slice(0, 8)}…`)
    expect(within(first as HTMLElement).getByTitle(ME)).toHaveTextContent('this node')
    expect(region('Recent receipts')).toHaveTextContent('2 receipts')
  })

  it('lists peers with strikes, most first', async () => {
    const { node } = ledgerNode()
    setup(node)
    const list = await screen.findByRole('list', { name: 'Peers with strikes' })
    const items = within(list).getAllByRole('listitem')
    expect(items.map((li) => li.getAttribute('aria-label'))).toEqual([
      `Peer ${'ff'.repeat(32)}`,
      `Peer ${'ee'.repeat(32)}`,
    ])
    expect(items[0]).toHaveTextContent('3 strikes')
    expect(items[1]).toHaveTextContent('1 strike')
    expect(items[1]).toHaveTextContent(`${'ee'.repeat(8)}…`)
  })

  it('says when there are no receipts and no strikes', async () => {
    const node = new FakeNode()
    setup(node)
    expect(await screen.findByText(/No receipts yet/)).toBeInTheDocument()
    expect(screen.queryByRole('table')).not.toBeInTheDocument()
    expect(region('Refused peers')).toHaveTextContent(/No peer has sent this node a forged/)
    const own = region('This node’s ledger')
    expect(within(own).getByText('Balance').nextElementSibling).toHaveTextContent('0 B·h')
  })

  it('says when only the newest receipts are listed, and a negative balance', async () => {
    const node = new FakeNode()
    node.ledger.receipts = Array.from({ length: 25 }, (_, i) =>
      receipt({ kind: 'served', host: HOST, owner: ME, bytes: 1e6, to: Date.now() - i * MINUTE }),
    )
    setup(node)
    const table = await screen.findByRole('table', { name: 'Recent receipts' })
    expect(within(table).getAllByRole('row')).toHaveLength(21)
    expect(region('Recent receipts')).toHaveTextContent('Newest 20 of 25')
    const own = region('This node’s ledger')
    expect(within(own).getByText('Balance').nextElementSibling).toHaveTextContent('-25 MB·h')
  })

  it('lists compute receipts with their CPU time, job and result, beside storage ones', async () => {
    const { node } = ledgerNode()
    const now = Date.now()
    const gave = computeReceipt({
      host: ME,
      owner: OWNER,
      job: '1a'.repeat(32),
      result: '2b'.repeat(32),
      cpuMs: 125_000,
      from: now - 6 * MINUTE,
      to: now - MINUTE,
    })
    const got = computeReceipt({
      host: HOST,
      owner: ME,
      cpuMs: 850,
      from: now - 30 * MINUTE,
      to: now - 20 * MINUTE,
    })
    node.ledger.receipts = [...node.ledger.receipts, got, gave]
    setup(node)
    const table = await screen.findByRole('table', { name: 'Recent receipts' })
    const headers = within(table).getAllByRole('columnheader')
    expect(headers[2]).toHaveTextContent('Bytes or CPU time')
    expect(headers[4]).toHaveTextContent('Folder or job')
    const rows = within(table).getAllByRole('row')
    const cells = (row: HTMLElement | undefined) =>
      within(row as HTMLElement)
        .getAllByRole('cell')
        .map((td) => td.textContent)
    expect(cells(rows[1])).toEqual([
      '1 minute ago',
      'Compute',
      '2 min 5 s CPU',
      '25 GB·h',
      `job ${'1a'.repeat(6)}…result ${'2b'.repeat(6)}…`,
      `this node → ${OWNER.slice(0, 8)}…`,
      '—',
      'Donor: gave',
    ])
    expect(within(rows[1] as HTMLElement).getByTitle('1a'.repeat(32))).toBeVisible()
    expect(cells(rows[2]).slice(2, 4)).toEqual(['850 ms CPU', '170 MB·h'])
    expect(cells(rows[2])[7]).toBe('Submitter: received')
    // Storage receipts are as they were.
    expect(cells(rows[4])[1]).toBe('Storage for 2 h 0 min')
    expect(screen.getByTestId('ledger-cpu')).toHaveTextContent(
      'CPU time in the 2 compute receipts below: 2 min 5 s given, 850 ms received.',
    )
    // 1 CPU-second is 200 MB·h: 4 GB·h of storage and 25 GB·h of CPU given.
    const own = region('This node’s ledger')
    expect(within(own).getByText('Given').nextElementSibling).toHaveTextContent('29 GB·h')
    expect(within(own).getByText('Received').nextElementSibling).toHaveTextContent('670 MB·h')
    expect(within(own).getByText('Receipts').nextElementSibling).toHaveTextContent('4')
  })

  it('has no CPU line without compute receipts', async () => {
    const { node } = ledgerNode()
    setup(node)
    await screen.findByRole('table', { name: 'Recent receipts' })
    expect(screen.queryByTestId('ledger-cpu')).not.toBeInTheDocument()
  })

  it('refreshes when a job changes (its result may just have been credited)', async () => {
    const node = new FakeNode()
    setup(node)
    await screen.findByText(/No receipts yet/)
    node.ledger.receipts = [computeReceipt({ host: ME })]
    act(() => node.emit('job.updated', job()))
    expect(await screen.findByRole('table', { name: 'Recent receipts' })).toHaveTextContent(
      'Compute',
    )
  })

  it('refreshes on a timer and shows a load failure with Try again', async () => {
    let fail = true
    const node = new FakeNode()
    node.handlers['ledger.get'] = () => {
      if (fail) throw new ApiError('UNAVAILABLE', 'the node is not open')
      return node.ownLedger()
    }
    const { user } = setup(node)
    const alert = await screen.findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t load the ledger')
    expect(alert).toHaveTextContent('the node is not open')
    // Verifying another ledger does not need this node's own.
    expect(region('Verify another node’s ledger')).toBeInTheDocument()
    fail = false
    await user.click(screen.getByRole('button', { name: 'Try again' }))
    expect(await screen.findByTestId('ledger-key')).toHaveTextContent(LEDGER_KEY)
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('polls, and picks up new receipts', async () => {
    const node = new FakeNode()
    setup(node, 30)
    await screen.findByText(/No receipts yet/)
    node.ledger.receipts = [receipt({ host: ME, owner: OWNER })]
    expect(await screen.findByRole('table', { name: 'Recent receipts' })).toBeInTheDocument()
    expect(node.callsOf('ledger.get').length).toBeGreaterThanOrEqual(2)
  })

  it('refreshes on node.updated', async () => {
    const node = new FakeNode()
    setup(node)
    await screen.findByText(/No receipts yet/)
    node.ledger.strikes = { [HOST]: 2 }
    act(() => node.emit('node.updated', nodeStatus()))
    expect(await screen.findByRole('listitem', { name: `Peer ${HOST}` })).toHaveTextContent(
      '2 strikes',
    )
  })
})

describe('LedgerScreen: verify another node’s ledger', () => {
  function form() {
    const panel = region('Verify another node’s ledger')
    return {
      panel,
      input: within(panel).getByRole('textbox', { name: 'Ledger key' }),
      verify: within(panel).getByRole('button', { name: 'Verify' }),
    }
  }

  /** Types `key` into the form of `node`'s screen and verifies it; the result region. */
  async function verified(node: FakeNode, key: string): Promise<HTMLElement> {
    const { user } = setup(node)
    await screen.findByTestId('ledger-key')
    const { panel, input, verify } = form()
    await user.type(input, key)
    await user.click(verify)
    return within(panel).findByRole('region', { name: 'Verification result' })
  }

  it('refuses a key that is not 64 hex characters before calling', async () => {
    const node = new FakeNode()
    const { user } = setup(node)
    await screen.findByTestId('ledger-key')
    const { input, verify } = form()
    await user.click(verify)
    expect(input).toHaveAccessibleDescription(/Paste the ledger key of the node to check/)
    for (const [typed, message] of [
      ['abc123', 'A ledger key is 64 hex characters; this one has 6.'],
      ['z'.repeat(64), 'A ledger key has only the characters 0–9 and a–f.'],
      ['a'.repeat(65), 'A ledger key is 64 hex characters; this one has 65.'],
      [`${'a'.repeat(32)} ${'b'.repeat(32)}`, 'A ledger key has only the characters 0–9 and a–f.'],
    ] as const) {
      await user.clear(input)
      await user.type(input, typed)
      await user.click(verify)
      expect(form().panel).toHaveTextContent(message)
      expect(input).toHaveAttribute('aria-invalid', 'true')
      expect(input).toHaveFocus()
      expect(input).toHaveValue(typed)
    }
    expect(node.callsOf('ledger.verify')).toEqual([])
    await user.type(input, 'x')
    expect(input).not.toHaveAttribute('aria-invalid')
  })

  it('shows VALID with the totals and the receipts of a good ledger', async () => {
    const node = new FakeNode()
    const other = 'aa'.repeat(32)
    const key = node.addRemoteLedger({
      key: '0123456789abcdef'.repeat(4),
      identity: other,
      receipts: [
        receipt({ kind: 'served', host: other, owner: OWNER, bytes: 3.2e9 }),
        receipt({ kind: 'served', host: HOST, owner: other, bytes: 1e9 }),
      ],
    })
    const { user } = setup(node)
    await screen.findByTestId('ledger-key')
    const { panel, input, verify } = form()
    // Spaces around it and upper case are forgiven.
    await user.type(input, `  ${key.toUpperCase()} `)
    await user.click(verify)
    expect(node.callsOf('ledger.verify')).toEqual([{ key }])

    const result = await within(panel).findByRole('region', { name: 'Verification result' })
    expect(result).toHaveTextContent('VALID')
    expect(result).not.toHaveTextContent('INVALID')
    expect(result).toHaveTextContent(key)
    expect(result).toHaveTextContent(other)
    const stat = (label: string) => within(result).getByText(label).nextElementSibling
    expect(stat('Entries')).toHaveTextContent('3')
    expect(stat('Valid receipts')).toHaveTextContent('2')
    expect(stat('Given')).toHaveTextContent('3.2 GB·h')
    expect(stat('Received')).toHaveTextContent('1 GB·h')
    expect(stat('Balance')).toHaveTextContent('2.2 GB·h')
    expect(within(result).queryByRole('list', { name: 'Problems found' })).not.toBeInTheDocument()
    const table = within(result).getByRole('table', { name: 'Receipts in the checked ledger' })
    expect(within(table).getAllByRole('row')).toHaveLength(3)
    expect(within(table).getByText('Host: gave')).toBeInTheDocument()
    expect(within(table).getByText('Owner: received')).toBeInTheDocument()
    expect(within(table).getByRole('columnheader', { name: 'Its node' })).toBeInTheDocument()
    expect(within(table).getAllByText('its node')).toHaveLength(2)
    expect(within(table).queryByText('this node')).not.toBeInTheDocument()
    expect(screen.getByText('The ledger is valid.')).toBeInTheDocument()
  })

  it('shows INVALID with every error, and an unproven identity', async () => {
    const node = new FakeNode()
    const key = node.addRemoteLedger({
      identity: null,
      errors: [
        { index: 0, reason: 'the binding signature does not verify' },
        { index: 3, reason: 'REPLAYED: the same receipt is already at entry 2' },
      ],
    })
    const { user } = setup(node)
    await screen.findByTestId('ledger-key')
    const { panel, input, verify } = form()
    await user.type(input, key)
    await user.click(verify)
    const result = await within(panel).findByRole('region', { name: 'Verification result' })
    expect(result).toHaveTextContent('INVALID')
    expect(result).toHaveTextContent('Not proven: entry 0 does not bind this ledger to a node')
    expect(result).toHaveTextContent('2 problems found')
    const problems = within(result).getByRole('list', { name: 'Problems found' })
    expect(
      within(problems)
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual([
      'Entry 0: the binding signature does not verify',
      'Entry 3: REPLAYED: the same receipt is already at entry 2',
    ])
    expect(within(result).queryByRole('table')).not.toBeInTheDocument()
    expect(screen.getByText('The ledger is invalid.')).toBeInTheDocument()
  })

  it('says how many receipts end ahead of this clock, and still shows VALID', async () => {
    const node = new FakeNode()
    const result = await verified(node, node.addRemoteLedger({ ahead: 2 }))
    expect(result).not.toHaveTextContent('INVALID')
    expect(screen.getByText('The ledger is valid.')).toBeInTheDocument()
    expect(within(result).getByRole('note')).toHaveTextContent(
      /2 receipts are not counted yet: their periods end later than this computer’s clock allows/,
    )
    expect(within(result).queryByRole('list', { name: 'Problems found' })).toBeNull()
  })

  it('shows no clock note when every receipt is counted', async () => {
    const node = new FakeNode()
    const result = await verified(node, node.addRemoteLedger())
    expect(within(result).queryByRole('note')).toBeNull()
  })

  it('shows UNAVAILABLE near the form when no peer has the ledger, keeping the key', async () => {
    const node = new FakeNode()
    const { user } = setup(node)
    await screen.findByTestId('ledger-key')
    const { panel, input, verify } = form()
    const key = 'de'.repeat(32)
    await user.type(input, key)
    await user.click(verify)
    const alert = await within(panel).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t verify that ledger')
    expect(alert).toHaveTextContent('no peer has that ledger right now')
    expect(panel).toHaveTextContent(/has to be online/)
    expect(input).toHaveValue(key)
    expect(verify).toBeEnabled()
    expect(within(panel).queryByRole('region', { name: 'Verification result' })).toBeNull()
  })

  it('is busy while the node fetches the ledger, and clears an earlier result', async () => {
    const node = new FakeNode()
    const key = node.addRemoteLedger({ identity: HOST })
    const { user } = setup(node)
    await screen.findByTestId('ledger-key')
    const { panel, input, verify } = form()
    await user.type(input, key)
    await user.click(verify)
    expect(
      await within(panel).findByRole('region', { name: 'Verification result' }),
    ).toHaveTextContent('VALID')

    const slow = deferred<LedgerReport>()
    node.handlers['ledger.verify'] = () => slow.promise
    await user.click(verify)
    expect(verify).toHaveAttribute('aria-busy', 'true')
    expect(within(panel).getByText(/Fetching the ledger from peers/)).toBeInTheDocument()
    expect(within(panel).queryByRole('region', { name: 'Verification result' })).toBeNull()
    // A second press while busy sends nothing.
    await user.click(verify)
    expect(node.callsOf('ledger.verify')).toHaveLength(2)
    await act(async () =>
      slow.resolve({
        identity: HOST,
        key,
        entries: 9,
        valid: false,
        errors: [{ index: 8, reason: 'could not fetch the block' }],
        given: 0,
        received: 0,
        balance: 0,
        receiptCount: 0,
        ahead: 0,
        receipts: [],
      }),
    )
    expect(verify).not.toHaveAttribute('aria-busy')
    const result = within(panel).getByRole('region', { name: 'Verification result' })
    expect(result).toHaveTextContent('INVALID')
    expect(result).toHaveTextContent('Entry 8: could not fetch the block')
  })

  it('verifies this node’s own ledger', async () => {
    const { node } = ledgerNode()
    const { user } = setup(node)
    await screen.findByTestId('ledger-key')
    const { panel, input, verify } = form()
    await user.type(input, LEDGER_KEY)
    await user.click(verify)
    const result = await within(panel).findByRole('region', { name: 'Verification result' })
    expect(result).toHaveTextContent('VALID')
    expect(within(result).getByText('Balance').nextElementSibling).toHaveTextContent('3.5 GB·h')
  })
})
