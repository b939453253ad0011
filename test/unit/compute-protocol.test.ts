// The compute protocol's messages come from peers: every one is parsed, sized and checked before
// use. A job id binds exactly one module, input and nonce.
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import {
  MAX_MESSAGE_BYTES,
  decodeMessage,
  encodeMessage,
  type Message,
} from '../../main/engine/compute/messages.ts'
import { hashHex, jobId, parseComputeTimers } from '../../main/engine/compute/compute.ts'
import { JOB_MODULE_MAX_BYTES } from '../../shared/contract.ts'

const hex = (n: number): string => randomBytes(n).toString('hex')

describe('compute messages', () => {
  const job: Message = {
    t: 'job',
    id: hex(32),
    nonce: hex(16),
    module: Buffer.from('module').toString('base64'),
    input: '',
    wallMs: 5000,
  }

  it('round-trips every message kind', () => {
    const all: Message[] = [
      { t: 'hello', identity: hex(32), ledger: hex(32), slots: 2, sig: hex(64) },
      { t: 'offer', slots: 0 },
      job,
      { t: 'accept', id: hex(32), ok: false, reason: 'the queue is full' },
      { t: 'started', id: hex(32) },
      { t: 'held', id: hex(32), forMs: 3600_000 },
      {
        t: 'result',
        id: hex(32),
        hash: hex(32),
        output: 'AAEC',
        error: null,
        cpuMs: 12,
        from: 1,
        to: 20,
      },
      {
        t: 'result',
        id: hex(32),
        hash: null,
        output: null,
        error: { kind: 'trap', message: 'unreachable' },
        cpuMs: 1,
        from: 1,
        to: 2,
      },
      { t: 'outvoted', id: hex(32), agreed: null },
      { t: 'cancel', id: hex(32) },
      { t: 'receipt', id: hex(32), receipt: { body: {} } },
      { t: 'countersign', id: hex(32), sig: null, reason: 'no' },
    ]
    for (const m of all) expect(decodeMessage(encodeMessage(m))).toEqual(m)
  })

  it('refuses junk, unknown kinds, extra fields, bad ids and oversized payloads', () => {
    const bad: unknown[] = [
      'not json',
      { t: 'nope' },
      { ...job, extra: 1 },
      { ...job, id: 'XYZ' },
      { ...job, nonce: hex(8) },
      { ...job, module: 'not base64!' },
      { ...job, wallMs: -1 },
      { ...job, module: 'A'.repeat(Math.ceil(JOB_MODULE_MAX_BYTES / 3) * 4 + 4) },
      { t: 'hello', identity: hex(32), ledger: hex(32), slots: 1e9, sig: hex(64) },
      {
        t: 'result',
        id: hex(32),
        hash: null,
        output: null,
        error: { kind: 'bad', message: '' },
        cpuMs: 0,
        from: 0,
        to: 1,
      },
    ]
    for (const b of bad) {
      const buf = Buffer.from(typeof b === 'string' ? b : JSON.stringify(b))
      expect(() => decodeMessage(buf), JSON.stringify(b).slice(0, 80)).toThrow(
        /bad message|not JSON/,
      )
    }
    expect(() => decodeMessage(Buffer.alloc(MAX_MESSAGE_BYTES + 1, 0x20))).toThrow(/too large/)
  })

  it('never throws anything but a clean error on random bytes', () => {
    for (let i = 0; i < 500; i++) {
      const buf = randomBytes(1 + (i % 200))
      try {
        decodeMessage(buf)
      } catch (err) {
        expect((err as Error).message).toMatch(/bad message|not JSON|too large/)
      }
    }
  })
})

describe('job ids', () => {
  it('change with the module, the input or the nonce', () => {
    const m = Buffer.from('module')
    const i = Buffer.from('input')
    const n = hex(16)
    const id = jobId(m, i, n)
    expect(id).toMatch(/^[0-9a-f]{64}$/)
    expect(jobId(m, i, n)).toBe(id)
    expect(jobId(Buffer.from('modulf'), i, n)).not.toBe(id)
    expect(jobId(m, Buffer.from('inpuu'), n)).not.toBe(id)
    expect(jobId(m, i, hex(16))).not.toBe(id)
    // Moving bytes between module and input changes it too (each is hashed on its own).
    expect(jobId(Buffer.from('modulei'), Buffer.from('nput'), n)).not.toBe(id)
    expect(hashHex(Buffer.from(''))).toMatch(/^[0-9a-f]{64}$/)
  })

  it('reads SPARE_COMPUTE_TIMERS, keeping defaults for anything malformed', () => {
    expect(parseComputeTimers('nodonors=5000,grace=3000,receipt=2000')).toEqual({
      noDonorsMs: 5000,
      graceMs: 3000,
      receiptTimeoutMs: 2000,
    })
    expect(parseComputeTimers('stalled=60000')).toEqual({ stalledMs: 60000 })
    expect(parseComputeTimers('grace=-1,receipt=abc,unknown=5')).toEqual({})
    expect(parseComputeTimers(undefined)).toEqual({})
  })
})
