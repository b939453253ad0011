import { describe, expect, it } from 'vitest'
import path from 'node:path'
import Corestore from 'corestore'
import crypto from 'hypercore-crypto'
import { useFixtures, waitFor } from '../../helpers/unit-fixtures.ts'
import { Ledger } from '../../../main/engine/ledger/ledger.ts'
import { LedgerScores } from '../../../main/engine/ledger/scores.ts'

const fx = useFixtures()

async function openStore(): Promise<Corestore> {
  const store = new Corestore(path.join(await fx.tmpDir('spare-scores-'), 'store'))
  await store.ready()
  fx.defer(() => store.close())
  return store
}

describe('LedgerScores', () => {
  it('answers a balance in bounded time when the ledger is not served, from what it knows', async () => {
    // A requester names in its hello a long ledger that it never serves: a host ranks its
    // requests (and decides everyone's after) by that balance, so it cannot wait for the check.
    const source = await openStore()
    const me = crypto.keyPair()
    const ledger = await Ledger.open(source, me)
    fx.defer(() => ledger.close())
    await ledger.core.append(Array.from({ length: 60 }, () => Buffer.from('x')))

    const other = await openStore()
    const s1 = source.replicate(true)
    const s2 = other.replicate(false)
    s1.on('error', () => {})
    s2.on('error', () => {})
    s1.pipe(s2).pipe(s1)
    const replica = other.get({ key: ledger.key })
    fx.defer(() => replica.close())
    await replica.ready()
    await waitFor(
      async () => {
        await replica.update()
        return replica.length === 61
      },
      5000,
      'the length',
    )
    s1.destroy()
    s2.destroy()
    await waitFor(() => replica.peers.length === 0, 5000, 'the peer to go')

    const scores = new LedgerScores(other, { waitMs: 500 })
    const started = Date.now()
    const balance = await scores.balance(me.publicKey.toString('hex'), ledger.key.toString('hex'))
    expect(Date.now() - started).toBeLessThan(3000)
    // Nothing known of it yet: a newcomer's.
    expect(balance).toBe(0)
  })
  it('keeps a bounded number of reports, however many identities ask', async () => {
    // Every peer that says hello with a new identity and ledger gets a report: a stranger making
    // up identities must not grow the cache (up to 50 receipts each) for as long as the node runs.
    const store = await openStore()
    const scores = new LedgerScores(store, { maxCached: 3 })
    const ids = Array.from({ length: 5 }, () => crypto.keyPair().publicKey.toString('hex'))
    for (const id of ids) await scores.report(id, crypto.keyPair().publicKey.toString('hex'))
    expect(scores.cached(ids[0]!)).toBeUndefined()
    expect(scores.cached(ids[1]!)).toBeUndefined()
    expect(scores.cached(ids[4]!)).not.toBeUndefined()
  })
})
