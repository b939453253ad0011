import { describe, expect, it } from 'vitest'
import crypto from 'hypercore-crypto'
import {
  MAX_FUTURE_MS,
  RECEIPT_SIGN_TAG,
  canonicalBody,
  newReceiptBody,
  receiptId,
  receiptValue,
  signAs,
  signingMessage,
  verifyReceipt,
  type KeyPair,
  type ReceiptBody,
  type ComputeReceiptBody,
  BYTE_HOURS_PER_CPU_MS,
  type StorageReceiptBody,
  type SignedReceipt,
} from '../../../main/engine/ledger/receipt.ts'

const HOUR = 3.6e6
const GB = 1e9
const NOW = 1_700_000_000_000

const host = crypto.keyPair()
const owner = crypto.keyPair()
const stranger = crypto.keyPair()
const hex = (kp: KeyPair): string => kp.publicKey.toString('hex')

function body(o: Partial<StorageReceiptBody> = {}): StorageReceiptBody {
  return {
    v: 1,
    kind: 'storage',
    host: hex(host),
    owner: hex(owner),
    folder: '0123456789abcdef',
    bytes: GB,
    from: NOW - 2 * HOUR,
    to: NOW - HOUR,
    audits: 3,
    nonce: crypto.randomBytes(16).toString('hex'),
    ...o,
  }
}

function signed(b: ReceiptBody = body()): SignedReceipt {
  return { body: b, hostSig: signAs(b, host, 'host'), ownerSig: signAs(b, owner, 'owner') }
}

function refusal(r: unknown, now = NOW): { code: string; reason: string } {
  const res = verifyReceipt(r, { now })
  if (res.ok) throw new Error('expected the receipt to be refused')
  return res
}

describe('receipts', () => {
  it('a receipt signed by both parties verifies', () => {
    const r = signed()
    const res = verifyReceipt(r, { now: NOW })
    expect(res.ok).toBe(true)
    if (res.ok) expect(res.receipt).toEqual(r)
    expect(r.hostSig).toMatch(/^[0-9a-f]{128}$/)
    expect(r.ownerSig).toMatch(/^[0-9a-f]{128}$/)
  })

  it('newReceiptBody fills in the version and a fresh 16-byte nonce', () => {
    const fields = { ...body() } as Partial<StorageReceiptBody>
    delete fields.v
    delete fields.nonce
    const a = newReceiptBody(fields as Omit<StorageReceiptBody, 'v' | 'nonce'>)
    const b = newReceiptBody(fields as Omit<StorageReceiptBody, 'v' | 'nonce'>)
    expect(a.v).toBe(1)
    expect(a.nonce).toMatch(/^[0-9a-f]{32}$/)
    expect(a.nonce).not.toBe(b.nonce)
    expect(verifyReceipt(signed(a), { now: NOW }).ok).toBe(true)
  })

  it('the canonical encoding ignores key order; extra fields are refused', () => {
    const b = body()
    const reversed = Object.fromEntries(Object.entries(b).reverse()) as ReceiptBody
    expect(canonicalBody(reversed).equals(canonicalBody(b))).toBe(true)
    expect(receiptId(reversed)).toBe(receiptId(b))
    expect(JSON.parse(canonicalBody(b).toString())).toEqual(b)
    expect(Object.keys(JSON.parse(canonicalBody(reversed).toString()))).toEqual([
      'v',
      'kind',
      'host',
      'owner',
      'folder',
      'bytes',
      'from',
      'to',
      'audits',
      'nonce',
    ])
    // The signatures cover the canonical bytes, so a peer's key order does not matter…
    const r = signed(b)
    expect(verifyReceipt({ ...r, body: reversed }, { now: NOW }).ok).toBe(true)
    // …but a field the schema does not know is refused, not silently dropped.
    const extra = { ...r, body: { ...b, bonus: 1 } }
    expect(refusal(extra).code).toBe('INVALID')
  })

  it('signs with a domain-separation tag', () => {
    const b = body()
    expect(signingMessage(b).subarray(0, RECEIPT_SIGN_TAG.length).toString()).toBe(
      'spare-receipt-v1\0',
    )
    const untagged = crypto.sign(canonicalBody(b), host.secretKey).toString('hex')
    const r = { ...signed(b), hostSig: untagged }
    expect(refusal(r)).toMatchObject({ code: 'FORGED', reason: expect.stringContaining('host') })
  })

  it('receiptId is the hex BLAKE2b-256 of the canonical body', () => {
    const b = body()
    expect(receiptId(b)).toBe(crypto.hash(canonicalBody(b)).toString('hex'))
    expect(receiptId(b)).toMatch(/^[0-9a-f]{64}$/)
    expect(receiptId({ ...b, nonce: 'f'.repeat(32) })).not.toBe(receiptId(b))
  })

  it('signAs refuses a key pair that is not the named party, and an invalid body', () => {
    const b = body()
    expect(() => signAs(b, stranger, 'host')).toThrow(/not the receipt's host/)
    expect(() => signAs(b, host, 'owner')).toThrow(/not the receipt's owner/)
    expect(() => signAs({ ...b, bytes: -1 }, host, 'host')).toThrow()
  })

  it('refuses an unsigned receipt', () => {
    const b = body()
    expect(refusal({ body: b }).code).toBe('UNSIGNED')
    expect(refusal({ body: b, hostSig: '', ownerSig: '' }).code).toBe('UNSIGNED')
    expect(refusal({ body: b, hostSig: null, ownerSig: null }).code).toBe('UNSIGNED')
  })

  it('refuses a one-sided receipt and says which side is missing', () => {
    const r = signed()
    const noOwner = refusal({ body: r.body, hostSig: r.hostSig, ownerSig: '' })
    expect(noOwner.code).toBe('ONE_SIDED')
    expect(noOwner.reason).toMatch(/owner's signature is missing/)
    const noHost = refusal({ body: r.body, ownerSig: r.ownerSig })
    expect(noHost.code).toBe('ONE_SIDED')
    expect(noHost.reason).toMatch(/host's signature is missing/)
  })

  it('refuses forged signatures', () => {
    const r = signed()
    // A third party signs in the owner's place.
    const byStranger = crypto.sign(signingMessage(r.body), stranger.secretKey).toString('hex')
    expect(refusal({ ...r, ownerSig: byStranger })).toMatchObject({
      code: 'FORGED',
      reason: expect.stringContaining("owner's signature"),
    })
    // The host signs both sides.
    expect(refusal({ ...r, ownerSig: r.hostSig }).code).toBe('FORGED')
    // Signatures swapped.
    expect(refusal({ ...r, hostSig: r.ownerSig, ownerSig: r.hostSig }).code).toBe('FORGED')
    // Not a signature at all.
    expect(refusal({ ...r, hostSig: 'zz' }).code).toBe('FORGED')
    expect(refusal({ ...r, hostSig: 'A'.repeat(128) }).code).toBe('FORGED')
  })

  it('refuses a body edited after signing', () => {
    const r = signed()
    for (const edit of [
      { bytes: (r.body as StorageReceiptBody).bytes + 1 },
      { to: r.body.to + 1 },
      { audits: 99 },
      { kind: 'served' as const },
      { folder: 'fedcba9876543210' },
    ]) {
      expect(refusal({ ...r, body: { ...r.body, ...edit } }).code).toBe('FORGED')
    }
    // Swapping the roles breaks both signatures.
    const swapped = { ...r.body, host: r.body.owner, owner: r.body.host }
    expect(refusal({ ...r, body: swapped }).code).toBe('FORGED')
  })

  it('refuses invalid bodies and envelopes', () => {
    const cases: unknown[] = [
      null,
      'receipt',
      [],
      { body: body(), hostSig: 'a', ownerSig: 'b', extra: true },
      { hostSig: 'a', ownerSig: 'b' },
      { ...signed(), hostSig: 5 },
      { ...signed(), body: { ...body(), v: 2 } },
      { ...signed(), body: { ...body(), kind: 'compute' } },
      { ...signed(), body: { ...body(), host: 'A'.repeat(64) } },
      { ...signed(), body: { ...body(), owner: 'ab' } },
      { ...signed(), body: { ...body(), folder: 'x'.repeat(16) } },
      { ...signed(), body: { ...body(), bytes: 1.5 } },
      { ...signed(), body: { ...body(), bytes: -1 } },
      { ...signed(), body: { ...body(), audits: -1 } },
      { ...signed(), body: { ...body(), nonce: 'ABCDEF'.padEnd(32, '0') } },
      { ...signed(), body: { ...body(), nonce: 'ab' } },
      { ...signed(), body: { ...body(), from: '1' } },
    ]
    for (const c of cases) expect(refusal(c).code, JSON.stringify(c)).toBe('INVALID')
  })

  it('refuses a receipt whose host and owner are the same node', () => {
    const b = body({ owner: hex(host) })
    const r = { body: b, hostSig: 'a'.repeat(128), ownerSig: 'a'.repeat(128) }
    expect(refusal(r)).toMatchObject({ code: 'INVALID', reason: expect.stringMatching(/same/) })
  })

  it('checks the period: it ends after it starts and not too far in the future', () => {
    const empty = { ...signed(), body: body({ from: NOW, to: NOW }) }
    expect(refusal(empty)).toMatchObject({ code: 'INVALID', reason: expect.stringMatching(/end/) })
    const backwards = { ...signed(), body: body({ from: NOW, to: NOW - 1 }) }
    expect(refusal(backwards).code).toBe('INVALID')

    const nearFuture = signed(body({ from: NOW - HOUR, to: NOW + MAX_FUTURE_MS }))
    expect(verifyReceipt(nearFuture, { now: NOW }).ok).toBe(true)
    const farFuture = signed(body({ from: NOW - HOUR, to: NOW + MAX_FUTURE_MS + 1 }))
    expect(refusal(farFuture)).toMatchObject({
      code: 'INVALID',
      reason: expect.stringMatching(/future/),
    })
    // The same receipt is fine once its period is over.
    expect(verifyReceipt(farFuture, { now: NOW + HOUR }).ok).toBe(true)
  })

  it('values storage in byte-hours and serving in bytes; audits add nothing', () => {
    expect(receiptValue(body({ kind: 'storage', bytes: GB, from: 0, to: HOUR }))).toBe(GB)
    expect(receiptValue(body({ kind: 'storage', bytes: GB, from: 0, to: 2 * HOUR }))).toBe(2 * GB)
    expect(receiptValue(body({ kind: 'storage', bytes: 1000, from: 0, to: HOUR / 4 }))).toBe(250)
    expect(receiptValue(body({ kind: 'storage', bytes: 0, from: 0, to: HOUR }))).toBe(0)
    expect(receiptValue(body({ kind: 'served', bytes: GB, from: 0, to: 10 * HOUR }))).toBe(GB)
    // Serving 1 GB counts like holding 1 GB for an hour.
    expect(receiptValue(body({ kind: 'served', bytes: GB }))).toBe(
      receiptValue(body({ kind: 'storage', bytes: GB, from: 0, to: HOUR })),
    )
    expect(receiptValue(body({ audits: 0 }))).toBe(receiptValue(body({ audits: 100 })))
  })

  describe('compute receipts', () => {
    function computeBody(o: Partial<ComputeReceiptBody> = {}): ComputeReceiptBody {
      return {
        v: 1,
        kind: 'compute',
        host: hex(host),
        owner: hex(owner),
        job: 'ab'.repeat(32),
        result: 'cd'.repeat(32),
        cpuMs: 1500,
        from: NOW - 2000,
        to: NOW,
        nonce: crypto.randomBytes(16).toString('hex'),
        ...o,
      }
    }
    const signBoth = (b: ReceiptBody): SignedReceipt => ({
      body: b,
      hostSig: signAs(b, host, 'host'),
      ownerSig: signAs(b, owner, 'owner'),
    })

    it('verifies when both sign, and is worth cpuMs × BYTE_HOURS_PER_CPU_MS', () => {
      const r = signBoth(computeBody())
      expect(verifyReceipt(r, { now: NOW }).ok).toBe(true)
      expect(receiptValue(r.body)).toBe(1500 * BYTE_HOURS_PER_CPU_MS)
    })

    it('refuses an edited job, result or CPU time, and storage fields on a compute body', () => {
      const r = signBoth(computeBody())
      for (const edit of [{ cpuMs: 1501 }, { job: 'ef'.repeat(32) }, { result: '00'.repeat(32) }]) {
        expect(refusal({ ...r, body: { ...r.body, ...edit } }).code).toBe('FORGED')
      }
      expect(refusal({ ...r, body: { ...r.body, bytes: 5 } }).code).toBe('INVALID')
    })

    it('refuses more CPU time than the job took on one core', () => {
      expect(() => signAs(computeBody({ cpuMs: 10_000 }), host, 'host')).toThrow(/CPU time/)
    })

    it('signs different bytes from a storage receipt with the same parties', () => {
      const a = canonicalBody(computeBody()).toString()
      expect(a).toContain('"kind":"compute"')
      expect(a).not.toContain('folder')
    })
  })
})
