import { describe, expect, it } from 'vitest'
import path from 'node:path'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import { useFixtures, waitFor } from '../../helpers/unit-fixtures.ts'
import {
  Ledger,
  LedgerError,
  encodeEntry,
  makeHeader,
  verifyLedger,
  type LedgerErrorCode,
} from '../../../main/engine/ledger/ledger.ts'
import {
  receiptId,
  signAs,
  signingMessage,
  type KeyPair,
  type ReceiptBody,
  type StorageReceiptBody,
  type SignedReceipt,
} from '../../../main/engine/ledger/receipt.ts'

const HOUR = 3.6e6
const GB = 1e9

const fx = useFixtures()

const hex = (kp: KeyPair): string => kp.publicKey.toString('hex')

function body(
  hostKp: KeyPair,
  ownerKp: KeyPair,
  o: Partial<StorageReceiptBody> = {},
): StorageReceiptBody {
  const now = Date.now()
  return {
    v: 1,
    kind: 'storage',
    host: hex(hostKp),
    owner: hex(ownerKp),
    folder: '0123456789abcdef',
    bytes: GB,
    from: now - 2 * HOUR,
    to: now - HOUR,
    audits: 1,
    nonce: crypto.randomBytes(16).toString('hex'),
    ...o,
  }
}

function sign(b: ReceiptBody, hostKp: KeyPair, ownerKp: KeyPair): SignedReceipt {
  return { body: b, hostSig: signAs(b, hostKp, 'host'), ownerSig: signAs(b, ownerKp, 'owner') }
}

function receipt(
  hostKp: KeyPair,
  ownerKp: KeyPair,
  o: Partial<StorageReceiptBody> = {},
): SignedReceipt {
  return sign(body(hostKp, ownerKp, o), hostKp, ownerKp)
}

async function openStore(dir?: string): Promise<Corestore> {
  const store = new Corestore(dir ?? path.join(await fx.tmpDir('spare-ledger-'), 'store'))
  await store.ready()
  fx.defer(() => store.close())
  return store
}

async function openLedger(store: Corestore, identity: KeyPair): Promise<Ledger> {
  const ledger = await Ledger.open(store, identity)
  fx.defer(() => ledger.close())
  return ledger
}

/** Pipes two stores' replication streams into each other; returns a function that cuts them. */
function replicate(a: Corestore, b: Corestore): () => Promise<void> {
  const s1 = a.replicate(true)
  const s2 = b.replicate(false)
  s1.on('error', () => {})
  s2.on('error', () => {})
  s1.pipe(s2).pipe(s1)
  const closed = Promise.all([
    new Promise<void>((resolve) => s1.once('close', () => resolve())),
    new Promise<void>((resolve) => s2.once('close', () => resolve())),
  ])
  const stop = async (): Promise<void> => {
    s1.destroy()
    s2.destroy()
    await closed
  }
  fx.defer(stop)
  return stop
}

/** `core`'s ledger as another node sees it: a second Corestore that replicated it by key. */
async function replica(
  source: Corestore,
  key: Buffer,
): Promise<{ core: Hypercore; stop(): Promise<void> }> {
  const other = await openStore()
  const stop = replicate(source, other)
  const core = other.get({ key })
  await core.ready()
  fx.defer(() => core.close())
  await waitFor(() => core.peers.length > 0, 5000, 'the replica to find its peer')
  return { core, stop }
}

async function refused(ledger: Ledger, r: unknown, code: LedgerErrorCode): Promise<LedgerError> {
  const before = ledger.length
  const err = await ledger.append(r as SignedReceipt).then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(LedgerError)
  expect((err as LedgerError).code).toBe(code)
  expect(ledger.length).toBe(before)
  return err as LedgerError
}

describe('Ledger', () => {
  it('writes entry 0 binding the core to the identity', async () => {
    const store = await openStore()
    const me = crypto.keyPair()
    const ledger = await openLedger(store, me)
    expect(ledger.length).toBe(1)
    expect(ledger.key).toHaveLength(32)
    expect(ledger.discoveryKey.equals(crypto.discoveryKey(ledger.key))).toBe(true)
    expect(ledger.identity).toBe(hex(me))
    const entry0 = JSON.parse((await ledger.core.get(0))!.toString())
    expect(entry0).toMatchObject({
      t: 'ledger',
      v: 1,
      identity: hex(me),
      ledgerKey: ledger.key.toString('hex'),
    })
    expect(ledger.summary()).toEqual({ given: 0, received: 0, balance: 0, receipts: 0 })
    expect(ledger.recent(10)).toEqual([])
  })

  it('counts receipts in both roles: balance = given − received', async () => {
    const store = await openStore()
    const me = crypto.keyPair()
    const a = crypto.keyPair()
    const b = crypto.keyPair()
    const ledger = await openLedger(store, me)
    const now = Date.now()
    const r1 = receipt(me, a, { kind: 'storage', bytes: GB, from: now - 3 * HOUR, to: now - HOUR })
    const r2 = receipt(a, me, { kind: 'served', bytes: GB / 2 })
    const r3 = receipt(me, b, { kind: 'served', bytes: GB / 5 })
    const r4 = receipt(b, me, { kind: 'storage', bytes: GB / 10, from: now - HOUR, to: now })
    for (const r of [r1, r2, r3, r4]) await ledger.append(r)
    expect(ledger.length).toBe(5)
    expect(ledger.summary()).toEqual({
      given: 2 * GB + GB / 5,
      received: GB / 2 + GB / 10,
      balance: 2 * GB + GB / 5 - GB / 2 - GB / 10,
      receipts: 4,
    })
    expect(ledger.recent(10)).toEqual([r4, r3, r2, r1])
    expect(ledger.recent(2)).toEqual([r4, r3])
  })

  it('refuses forged, unsigned, one-sided and invalid receipts', async () => {
    const store = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const stranger = crypto.keyPair()
    const ledger = await openLedger(store, me)
    const r = receipt(me, peer)

    const forged = crypto.sign(signingMessage(r.body), stranger.secretKey).toString('hex')
    await refused(ledger, { ...r, ownerSig: forged }, 'FORGED')
    await refused(
      ledger,
      { ...r, body: { ...r.body, bytes: (r.body as StorageReceiptBody).bytes * 10 } },
      'FORGED',
    )
    await refused(ledger, { body: r.body, hostSig: '', ownerSig: '' }, 'UNSIGNED')
    const oneSided = await refused(ledger, { ...r, ownerSig: '' }, 'ONE_SIDED')
    expect(oneSided.message).toMatch(/owner/)
    await refused(ledger, { ...r, body: { ...r.body, v: 2 } }, 'INVALID')
    const future = receipt(me, peer, { from: Date.now(), to: Date.now() + 2 * HOUR })
    await refused(ledger, future, 'INVALID')
    await refused(ledger, 'nonsense', 'INVALID')
    expect(ledger.summary().receipts).toBe(0)
    // The genuine one still goes in.
    await ledger.append(r)
    expect(ledger.summary().receipts).toBe(1)
  })

  it('refuses a receipt this node is not a party to', async () => {
    const store = await openStore()
    const me = crypto.keyPair()
    const ledger = await openLedger(store, me)
    const a = crypto.keyPair()
    const b = crypto.keyPair()
    await refused(ledger, receipt(a, b), 'NOT_A_PARTY')
  })

  it('refuses replays: the same receipt twice, and the same nonce with another body', async () => {
    const store = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const ledger = await openLedger(store, me)
    const r = receipt(me, peer)
    await ledger.append(r)
    await refused(ledger, r, 'REPLAYED')
    const sameNonce = receipt(me, peer, { nonce: r.body.nonce, bytes: 5 })
    expect((await refused(ledger, sameNonce, 'REPLAYED')).message).toMatch(/nonce/)
    // The same nonce with the roles the other way round is still a replay.
    await refused(ledger, receipt(peer, me, { nonce: r.body.nonce }), 'REPLAYED')
    expect(ledger.summary().receipts).toBe(1)
  })

  it('has a receipt by its id once appended, and from the start of its append', async () => {
    const store = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const ledger = await openLedger(store, me)
    const r = receipt(me, peer)
    const other = receipt(me, peer, { nonce: crypto.randomBytes(16).toString('hex') })
    expect(ledger.has(receiptId(r.body))).toBe(false)
    const appending = ledger.append(r)
    expect(ledger.has(receiptId(r.body))).toBe(true)
    await appending
    expect(ledger.has(receiptId(r.body))).toBe(true)
    // Another receipt with the same period but its own nonce is not this one.
    expect(ledger.has(receiptId(other.body))).toBe(false)
  })

  it('refuses the second of two concurrent appends of the same receipt', async () => {
    const store = await openStore()
    const me = crypto.keyPair()
    const ledger = await openLedger(store, me)
    const r = receipt(crypto.keyPair(), me)
    const results = await Promise.allSettled([ledger.append(r), ledger.append(r)])
    expect(results.map((x) => x.status).sort()).toEqual(['fulfilled', 'rejected'])
    const failed = results.find((x) => x.status === 'rejected') as PromiseRejectedResult
    expect((failed.reason as LedgerError).code).toBe('REPLAYED')
    expect(ledger.length).toBe(2)
  })

  it('reopened from disk keeps its totals and its replay index', async () => {
    const dir = path.join(await fx.tmpDir('spare-ledger-'), 'store')
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const r1 = receipt(me, peer, { kind: 'served', bytes: 700 })
    const r2 = receipt(peer, me, { kind: 'served', bytes: 200 })

    const store1 = new Corestore(dir)
    fx.defer(() => store1.close())
    const first = await Ledger.open(store1, me)
    const key = first.key
    await first.append(r1)
    await first.append(r2)
    await first.close()
    await store1.close()

    const store2 = await openStore(dir)
    const again = await openLedger(store2, me)
    expect(again.key.equals(key)).toBe(true)
    expect(again.length).toBe(3) // entry 0 is not written again
    expect(again.summary()).toEqual({ given: 700, received: 200, balance: 500, receipts: 2 })
    expect(again.recent(5)).toEqual([r2, r1])
    await refused(again, r1, 'REPLAYED')
    await refused(again, receipt(me, peer, { nonce: r2.body.nonce }), 'REPLAYED')
    await again.append(receipt(me, peer, { kind: 'served', bytes: 1 }))
    expect(again.summary().balance).toBe(501)
  })

  it('knows where the last storage and served periods with a peer ended, after a reopen too', async () => {
    const dir = path.join(await fx.tmpDir('spare-ledger-'), 'store')
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const now = Date.now()
    const store1 = new Corestore(dir)
    fx.defer(() => store1.close())
    const first = await Ledger.open(store1, me)
    await first.append(receipt(me, peer, { from: now - 3 * HOUR, to: now - 2 * HOUR }))
    await first.append(receipt(me, peer, { from: now - 2 * HOUR, to: now - HOUR }))
    await first.append(
      receipt(peer, me, { kind: 'served', from: now - 5 * HOUR, to: now - 4 * HOUR }),
    )
    const folder = '0123456789abcdef'
    expect(first.periodEnd('storage', hex(me), hex(peer), folder)).toBe(now - HOUR)
    await first.close()
    await store1.close()

    const again = await openLedger(await openStore(dir), me)
    expect(again.periodEnd('storage', hex(me), hex(peer), folder)).toBe(now - HOUR)
    expect(again.periodEnd('served', hex(peer), hex(me), folder)).toBe(now - 4 * HOUR)
    // Other roles, kinds and folders have their own.
    expect(again.periodEnd('storage', hex(peer), hex(me), folder)).toBe(0)
    expect(again.periodEnd('served', hex(me), hex(peer), folder)).toBe(0)
    expect(again.periodEnd('storage', hex(me), hex(peer), 'fedcba9876543210')).toBe(0)
  })

  it('reopened while the clock is behind still counts the receipts it appended', async () => {
    // A computer that boots with its clock hours behind (a dual-boot machine whose hardware clock
    // keeps local time) starts the node before NTP corrects it: the receipts already in the
    // ledger were checked when appended and are still the record of where periods ended.
    const dir = path.join(await fx.tmpDir('spare-ledger-'), 'store')
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const now = Date.now()
    const store1 = new Corestore(dir)
    fx.defer(() => store1.close())
    const first = await Ledger.open(store1, me)
    await first.append(receipt(me, peer, { from: now - 2 * HOUR, to: now - 60_000 }))
    await first.close()
    await store1.close()

    const behind = await Ledger.open(await openStore(dir), me, { now: () => now - 3 * HOUR })
    fx.defer(() => behind.close())
    expect(behind.summary().receipts).toBe(1)
    expect(behind.periodEnd('storage', hex(me), hex(peer), '0123456789abcdef')).toBe(now - 60_000)
  })

  it('will not open a ledger core bound to another identity', async () => {
    const dir = path.join(await fx.tmpDir('spare-ledger-'), 'store')
    const store1 = new Corestore(dir)
    fx.defer(() => store1.close())
    const first = await Ledger.open(store1, crypto.keyPair())
    await first.close()
    await store1.close()

    const store2 = await openStore(dir)
    const err = await Ledger.open(store2, crypto.keyPair()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LedgerError)
    expect((err as LedgerError).code).toBe('INVALID')
  })
})

describe('verifyLedger on a replica', () => {
  it('reports a valid ledger with its identity and totals', async () => {
    const storeA = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    const given = receipt(me, peer, { kind: 'served', bytes: 3000 })
    const got = receipt(peer, me, { kind: 'served', bytes: 1000 })
    await ledger.append(given)
    await ledger.append(got)

    const { core } = await replica(storeA, ledger.key)
    const report = await verifyLedger(core)
    expect(report).toMatchObject({
      identity: hex(me),
      key: ledger.key.toString('hex'),
      entries: 3,
      valid: true,
      errors: [],
      given: 3000,
      received: 1000,
      balance: 2000,
      receiptCount: 2,
    })
    expect(report.receipts).toEqual([got, given])
  })

  it('leaves receipts ending ahead of a checker whose clock is behind uncounted, not invalid', async () => {
    // The checker's clock, not the ledger, may be wrong: an honest ledger must not read as forged
    // (a host would refuse its node); what ends too far ahead simply earns nothing yet.
    const storeA = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    const now = Date.now()
    const old = receipt(me, peer, { from: now - 9 * HOUR, to: now - 8 * HOUR })
    const recent = receipt(me, peer, { from: now - HOUR - 60_000, to: now - 60_000 })
    await ledger.append(old)
    await ledger.append(recent)

    const { core } = await replica(storeA, ledger.key)
    const behind = await verifyLedger(core, { now: now - 3 * HOUR })
    expect(behind).toMatchObject({ valid: true, errors: [], receiptCount: 1, ahead: 1 })
    expect(behind.given).toBe(GB * 1)
    expect(behind.receipts).toEqual([old])
    const right = await verifyLedger(core, { now })
    expect(right).toMatchObject({ valid: true, receiptCount: 2, ahead: 0, given: GB * 2 })
  })

  it('checks a ledger longer than maxEntries by its binding and newest entries: still valid', async () => {
    // A busy node writes a receipt per folder and peer every hour: 100,000 entries is a year or
    // so. Such a ledger is an honest one, not a forged one (which would exclude the node).
    const storeA = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    for (let i = 1; i <= 8; i++)
      await ledger.append(receipt(me, peer, { kind: 'served', bytes: i }))
    const { core } = await replica(storeA, ledger.key)
    const report = await verifyLedger(core, { maxEntries: 4 })
    expect(report).toMatchObject({
      identity: hex(me),
      entries: 9,
      valid: true,
      errors: [],
      given: 6 + 7 + 8, // entry 0 and the newest three are checked
      receiptCount: 3,
    })
  })

  it('lists at most 50 receipts, newest first', async () => {
    const storeA = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    const all: SignedReceipt[] = []
    for (let i = 0; i < 55; i++) {
      const r = receipt(me, peer, { kind: 'served', bytes: i })
      all.push(r)
      await ledger.append(r)
    }
    const { core } = await replica(storeA, ledger.key)
    const report = await verifyLedger(core)
    expect(report.valid).toBe(true)
    expect(report.receiptCount).toBe(55)
    expect(report.receipts).toHaveLength(50)
    expect(report.receipts[0]).toEqual(all[54])
    expect(report.receipts[49]).toEqual(all[5])
  })

  it('reports a forged receipt appended raw', async () => {
    const storeA = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const stranger = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    await ledger.append(receipt(me, peer, { kind: 'served', bytes: 10 }))
    // The owner of the ledger signs the other side itself.
    const b = body(me, peer, { kind: 'served', bytes: 1_000_000 })
    const forged: SignedReceipt = {
      body: b,
      hostSig: signAs(b, me, 'host'),
      ownerSig: crypto.sign(signingMessage(b), stranger.secretKey).toString('hex'),
    }
    await ledger.core.append(encodeEntry({ t: 'receipt', receipt: forged }))
    // And a one-sided receipt.
    const b2 = body(me, peer, { kind: 'served', bytes: 2_000_000 })
    const oneSided = { body: b2, hostSig: signAs(b2, me, 'host'), ownerSig: '' }
    await ledger.core.append(encodeEntry({ t: 'receipt', receipt: oneSided }))

    const { core } = await replica(storeA, ledger.key)
    const report = await verifyLedger(core)
    expect(report.valid).toBe(false)
    expect(report.entries).toBe(4)
    expect(report.errors).toEqual([
      { index: 2, reason: expect.stringMatching(/^FORGED: .*owner's signature/) },
      { index: 3, reason: expect.stringMatching(/^ONE_SIDED: .*owner's signature is missing/) },
    ])
    // Only the genuine receipt counts.
    expect(report).toMatchObject({ identity: hex(me), given: 10, received: 0, receiptCount: 1 })
  })

  it('reports a receipt whose bytes were edited after signing', async () => {
    const storeA = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    const r = receipt(me, peer, { kind: 'served', bytes: 100 })
    const edited = { ...r, body: { ...r.body, bytes: 100_000_000 } }
    await ledger.core.append(encodeEntry({ t: 'receipt', receipt: edited }))

    const { core } = await replica(storeA, ledger.key)
    const report = await verifyLedger(core)
    expect(report.valid).toBe(false)
    expect(report.errors).toEqual([
      { index: 1, reason: expect.stringMatching(/^FORGED: the host's signature/) },
    ])
    expect(report).toMatchObject({ given: 0, balance: 0, receiptCount: 0, receipts: [] })
  })

  it('reports replayed receipts and receipts the identity is not a party to', async () => {
    const storeA = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    const r = receipt(me, peer, { kind: 'served', bytes: 5 })
    await ledger.append(r)
    await ledger.core.append(encodeEntry({ t: 'receipt', receipt: r }))
    const sameNonce = receipt(me, peer, { kind: 'served', bytes: 6, nonce: r.body.nonce })
    await ledger.core.append(encodeEntry({ t: 'receipt', receipt: sameNonce }))
    const others = receipt(peer, crypto.keyPair())
    await ledger.core.append(encodeEntry({ t: 'receipt', receipt: others }))

    const { core } = await replica(storeA, ledger.key)
    const report = await verifyLedger(core)
    expect(report.errors).toEqual([
      { index: 2, reason: expect.stringMatching(/^REPLAYED: the same receipt .* entry 1/) },
      { index: 3, reason: expect.stringMatching(/^REPLAYED: the nonce .* entry 1/) },
      { index: 4, reason: expect.stringMatching(/^NOT_A_PARTY/) },
    ])
    expect(report).toMatchObject({ given: 5, receiptCount: 1 })
  })

  it('reports entry 0 with a bad binding signature', async () => {
    const storeA = await openStore()
    const me = crypto.keyPair()
    const impostor = crypto.keyPair()
    const peer = crypto.keyPair()
    const raw = storeA.get({ name: 'raw-ledger' })
    await raw.ready()
    fx.defer(() => raw.close())
    // Claims `me` but is signed by someone else.
    const header = { ...makeHeader(raw.key, impostor), identity: hex(me) }
    await raw.append(encodeEntry(header))
    await raw.append(encodeEntry({ t: 'receipt', receipt: receipt(me, peer) }))

    const { core } = await replica(storeA, raw.key)
    const report = await verifyLedger(core)
    expect(report.valid).toBe(false)
    expect(report.identity).toBeNull()
    expect(report.errors).toEqual([
      { index: 0, reason: expect.stringMatching(/binding signature does not verify/) },
    ])
  })

  it('reports entry 0 copied from another ledger', async () => {
    const storeA = await openStore()
    const me = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    const raw = storeA.get({ name: 'copycat' })
    await raw.ready()
    fx.defer(() => raw.close())
    await raw.append((await ledger.core.get(0))!)

    const { core } = await replica(storeA, raw.key)
    const report = await verifyLedger(core)
    expect(report.identity).toBeNull()
    expect(report.errors).toEqual([{ index: 0, reason: expect.stringMatching(/another core/) }])
  })

  it('reports garbage blocks by index and keeps checking the rest', async () => {
    const storeA = await openStore()
    const me = crypto.keyPair()
    const peer = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    await ledger.core.append(Buffer.from('not json {'))
    await ledger.core.append(Buffer.from(JSON.stringify({ t: 'mystery', x: 1 })))
    await ledger.core.append(Buffer.from('[1,2,3]'))
    await ledger.core.append(Buffer.from('null'))
    await ledger.core.append(Buffer.from(JSON.stringify({ t: 'receipt' })))
    await ledger.core.append(encodeEntry(makeHeader(ledger.key, me)))
    await ledger.core.append(Buffer.alloc(70 * 1024, 0x20))
    await ledger.append(receipt(peer, me, { kind: 'served', bytes: 42 }))

    const { core } = await replica(storeA, ledger.key)
    const report = await verifyLedger(core)
    expect(report.entries).toBe(9)
    expect(report.errors.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(report.errors[0]!.reason).toBe('not JSON')
    expect(report.errors[1]!.reason).toMatch(/unknown entry type \('mystery'\)/)
    expect(report.errors[5]!.reason).toMatch(/second ledger header/)
    expect(report.errors[6]!.reason).toMatch(/too large/)
    expect(report).toMatchObject({ identity: hex(me), received: 42, receiptCount: 1 })

    // The node's own ledger still opens over the garbage and counts only the genuine receipt.
    await ledger.close()
    const reopened = await openLedger(storeA, me)
    expect(reopened.summary()).toEqual({ given: 0, received: 42, balance: -42, receipts: 1 })
  })

  it('reports a garbage entry 0', async () => {
    const storeA = await openStore()
    const raw = storeA.get({ name: 'garbage' })
    await raw.ready()
    fx.defer(() => raw.close())
    await raw.append(Buffer.from('\u0000\u0001garbage'))
    const { core } = await replica(storeA, raw.key)
    const report = await verifyLedger(core)
    expect(report).toMatchObject({ identity: null, valid: false, entries: 1 })
    expect(report.errors).toEqual([{ index: 0, reason: 'not JSON' }])
  })

  it('gives up a ledger whose blocks never come within maxMs, not after a timeout per block', async () => {
    // A requester names a long ledger in its hello and then serves none of it: checking it must
    // not hold the host's decisions (and every other requester's) for a block timeout per entry.
    const storeA = await openStore()
    const me = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    await ledger.core.append(Array.from({ length: 60 }, () => Buffer.from('x')))

    const { core, stop } = await replica(storeA, ledger.key)
    await waitFor(
      async () => {
        await core.update()
        return core.length === 61
      },
      5000,
      'the length',
    )
    await stop()
    await waitFor(() => core.peers.length === 0, 5000, 'the peer to go')
    const started = Date.now()
    const report = await verifyLedger(core, { timeout: 200, maxMs: 1000 })
    expect(Date.now() - started).toBeLessThan(3000)
    expect(report.valid).toBe(false)
    expect(report.errors.at(-1)!.reason).toMatch(/not checked/)
    expect(report.errors.length).toBeLessThan(20)
  })

  it('reports blocks it cannot fetch, and a ledger it cannot reach', async () => {
    const storeA = await openStore()
    const me = crypto.keyPair()
    const ledger = await openLedger(storeA, me)
    await ledger.append(receipt(me, crypto.keyPair()))

    const { core, stop } = await replica(storeA, ledger.key)
    await waitFor(
      async () => {
        await core.update()
        return core.length === 2
      },
      5000,
      'the length',
    )
    await stop()
    await waitFor(() => core.peers.length === 0, 5000, 'the peer to go')
    const report = await verifyLedger(core, { timeout: 200 })
    expect(report.valid).toBe(false)
    expect(report.errors.map((e) => e.index)).toEqual([0, 1])
    expect(report.errors[0]!.reason).toMatch(/could not fetch/)

    const lonely = await openStore()
    const unreachable = lonely.get({ key: ledger.key })
    fx.defer(() => unreachable.close())
    const empty = await verifyLedger(unreachable, { timeout: 200 })
    expect(empty).toMatchObject({ valid: false, entries: 0, identity: null })
    expect(empty.errors[0]!.reason).toMatch(/empty/)
  })
})
