// checkModule: the job interface's checks, run on real modules assembled with wabt, on hand-made
// binaries for what wabt won't write, and on thousands of random and mutated buffers.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  JOB_INPUT_MAX_BYTES,
  JOB_MODULE_MAX_BYTES,
  capPages,
  checkInput,
  checkModule,
  parseModule,
  type CheckResult,
} from '../../main/engine/compute/abi.ts'
import * as H from '../helpers/hostile-modules.ts'

const MiB = 1024 * 1024
const cap16 = { memoryCapBytes: 16 * MiB }

async function check(wat: string, opts = cap16): Promise<CheckResult> {
  return checkModule(await H.assemble(wat), opts)
}

function refused(r: CheckResult): { kind: string; message: string } {
  if (r.ok) throw new Error('expected a refusal, got ok')
  return r
}

describe('checkModule', () => {
  it('accepts a module that follows the interface, with the memory capped', async () => {
    const r = await check(H.REVERSE)
    // REVERSE declares (memory 1 1024): 1024 pages is above a 16 MiB cap (256 pages).
    expect(r).toEqual({ ok: true, initialPages: 1, maxPages: 256, declaredMaxPages: 1024 })
    // With a larger cap, its own maximum is the lower one.
    expect(await check(H.REVERSE, { memoryCapBytes: 1024 * MiB })).toEqual({
      ok: true,
      initialPages: 1,
      maxPages: 1024,
      declaredMaxPages: 1024,
    })
    // No declared maximum: the cap, rounded down to pages.
    expect(await check(H.INFINITE_LOOP, { memoryCapBytes: 16 * MiB + 65535 })).toEqual({
      ok: true,
      initialPages: 1,
      maxPages: 256,
      declaredMaxPages: null,
    })
  })

  it('accepts the sample jobs', () => {
    const dir = path.resolve(import.meta.dirname, '../../examples/compute')
    for (const name of ['mandelbrot', 'primes', 'sha256-search']) {
      const r = checkModule(readFileSync(path.join(dir, `${name}.wasm`)), cap16)
      expect(r, name).toMatchObject({ ok: true, initialPages: 1 })
    }
  })

  it('refuses WASI and env imports, naming each one', async () => {
    const wasi = refused(await check(H.WASI_IMPORT))
    expect(wasi.kind).toBe('forbidden-import')
    expect(wasi.message).toContain('"wasi_snapshot_preview1"."fd_write"')
    expect(wasi.message).toContain('(i32, i32, i32, i32) -> i32')

    const both = refused(await check(H.ENV_ABORT))
    expect(both.kind).toBe('forbidden-import')
    expect(both.message).toContain('"env"."abort"')
    expect(both.message).toContain('"wasi_snapshot_preview1"."proc_exit"')
    expect(both.message).toContain('spare.memory, spare.input_size, spare.read_input')
  })

  it('refuses table and global imports, even from "spare"', async () => {
    const r = refused(await check(H.TABLE_AND_GLOBAL))
    expect(r.kind).toBe('forbidden-import')
    expect(r.message).toContain('"spare"."table" (a table)')
    expect(r.message).toContain('"spare"."seed" (a global i32)')
  })

  it('refuses an interface function with the wrong signature', async () => {
    const r = refused(await check(H.WRONG_SIGNATURE))
    expect(r.kind).toBe('forbidden-import')
    expect(r.message).toContain(
      '"spare"."read_input" (function (i32, i32) -> i32; it must be function (i32, i32, i32) -> i32)',
    )
  })

  it('refuses a shared memory import', async () => {
    const r = refused(await check(H.SHARED_MEMORY))
    expect(r.kind).toBe('forbidden-import')
    expect(r.message).toContain('shared')
  })

  it('refuses a module with a memory of its own, or none', async () => {
    const own = refused(await check(H.OWN_MEMORY))
    expect(own.kind).toBe('invalid')
    expect(own.message).toContain('defines its own memory')
    const none = refused(await check(H.NO_MEMORY))
    expect(none.kind).toBe('invalid')
    expect(none.message).toContain('does not import spare.memory')
  })

  it('refuses a module without run: () -> i32', async () => {
    expect(refused(await check(H.NO_RUN)).message).toContain('does not export a function "run"')
    const wrong = refused(await check(H.RUN_WRONG_TYPE))
    expect(wrong.kind).toBe('invalid')
    expect(wrong.message).toContain('(i32) -> i64')
  })

  it('refuses a start memory above the cap with kind memory', async () => {
    const r = refused(await check(H.HUGE_INITIAL_MEMORY))
    expect(r.kind).toBe('memory')
    expect(r.message).toContain('1000 pages')
    expect(r.message).toContain('16 MiB')
    // The same module under a larger cap is fine.
    expect(await check(H.HUGE_INITIAL_MEMORY, { memoryCapBytes: 64 * MiB })).toMatchObject({
      ok: true,
      initialPages: 1000,
      maxPages: 1024,
    })
  })

  it('refuses bytes that are not a module', () => {
    for (const bytes of [
      new Uint8Array(0),
      Buffer.from('hello world'),
      Buffer.from('\0asm\x02\0\0\0'), // version 2
      randomBytes(1000),
    ]) {
      const r = refused(checkModule(bytes, cap16))
      expect(r.kind).toBe('invalid')
    }
  })

  it('refuses a truncated module with the compiler reason', async () => {
    const good = await H.assemble(H.REVERSE)
    const r = refused(checkModule(good.subarray(0, good.length - 7), cap16))
    expect(r.kind).toBe('invalid')
    expect(r.message).toMatch(/^not a valid WebAssembly module: .+/)
  })

  it('refuses a module over 2 MiB before reading it', () => {
    const big = Buffer.alloc(JOB_MODULE_MAX_BYTES + 1)
    big.set([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])
    const r = refused(checkModule(big, cap16))
    expect(r.kind).toBe('too-large')
    expect(r.message).toContain('2 MiB')
  })

  it('checks the input size', () => {
    expect(checkInput(Buffer.alloc(JOB_INPUT_MAX_BYTES))).toBeNull()
    expect(checkInput(Buffer.alloc(JOB_INPUT_MAX_BYTES + 1))).toMatchObject({ kind: 'too-large' })
  })

  it('quotes hostile import names and keeps the message short', () => {
    // Hand-made: 40 imports whose names are long and full of control characters.
    const name = Buffer.from('\n\u0007"evil"\u202e'.repeat(20))
    const entries: number[] = []
    for (let i = 0; i < 40; i++) {
      entries.push(...leb(name.length), ...name, 1, 0x78, 0x00, 0) // "x".<name> function type 0
    }
    const bytes = moduleBytes([
      [1, [1, 0x60, 0, 1, 0x7f]], // type 0: () -> i32
      [2, [...leb(40), ...entries]],
    ])
    const r = refused(checkModule(bytes, cap16))
    expect(r.kind).toBe('forbidden-import')
    expect(r.message).not.toContain('\n')
    expect(r.message).not.toContain('\u0007')
    expect(r.message).toContain('and 30 more')
    expect(r.message.length).toBeLessThan(3000)
  })

  it('caps the memory at 65536 pages and treats nonsense caps as 0', () => {
    expect(capPages(1e15)).toBe(65536)
    expect(capPages(-5)).toBe(0)
    expect(capPages(Number.NaN)).toBe(0)
    expect(capPages(65535)).toBe(0)
  })
})

describe('checkModule on hostile bytes (fuzz)', () => {
  it('only ever returns a result, for random and mutated buffers', async () => {
    const seeds = await Promise.all(
      [H.REVERSE, H.WASI_IMPORT, H.TABLE_AND_GLOBAL, H.SHARED_MEMORY, H.OWN_MEMORY].map(H.assemble),
    )
    seeds.push(
      readFileSync(path.resolve(import.meta.dirname, '../../examples/compute/sha256-search.wasm')),
    )
    let rng = 0x2545f491
    const rand = (n: number): number => {
      // xorshift32: reproducible runs
      rng ^= rng << 13
      rng ^= rng >>> 17
      rng ^= rng << 5
      return (rng >>> 0) % n
    }
    const kinds = new Map<string, number>()
    const parses = new Map<string, number>()
    const record = (r: CheckResult): void => {
      const k = r.ok ? 'ok' : r.kind
      kinds.set(k, (kinds.get(k) ?? 0) + 1)
      if (!r.ok) expect(typeof r.message).toBe('string')
    }
    for (let i = 0; i < 3000; i++) {
      let bytes: Uint8Array
      if (i % 4 === 0) {
        // random bytes behind a valid header
        bytes = Buffer.concat([Buffer.from('\0asm\x01\0\0\0'), randomBytes(rand(200))])
      } else {
        const seed = seeds[rand(seeds.length)] as Uint8Array
        bytes = Uint8Array.from(seed)
        const edits = 1 + rand(4)
        for (let e = 0; e < edits; e++) {
          const at = 8 + rand(bytes.length - 8)
          switch (rand(4)) {
            case 0:
              bytes[at] = rand(256)
              break
            case 1:
              bytes[at] = [0x00, 0x7f, 0x80, 0xff][rand(4)] as number
              break
            case 2:
              bytes = bytes.subarray(0, at)
              break
            default:
              bytes = Buffer.concat([
                bytes.subarray(0, at),
                randomBytes(1 + rand(8)),
                bytes.subarray(at),
              ])
          }
          if (bytes.length <= 8) break
        }
      }
      let result: CheckResult | undefined
      expect(() => {
        result = checkModule(bytes, cap16)
      }).not.toThrow()
      record(result as CheckResult)
      // The reader alone, without WebAssembly.validate in front of it.
      let parsed: ReturnType<typeof parseModule> | undefined
      expect(() => {
        parsed = parseModule(bytes)
      }).not.toThrow()
      parses.set(String(parsed?.ok), (parses.get(String(parsed?.ok)) ?? 0) + 1)
    }
    expect(parses.get('false')).toBeGreaterThan(0)
    expect(parses.get('true')).toBeGreaterThan(0)
    // The mutations reach past validation into the reader: more than one kind of answer.
    expect(kinds.get('invalid')).toBeGreaterThan(0)
    expect(kinds.size).toBeGreaterThan(1)
  })

  it('survives hand-made sections that lie about their sizes and counts', () => {
    const lies: Array<[string, Buffer]> = [
      ['4 billion imports in 5 bytes', moduleBytes([[2, [0xff, 0xff, 0xff, 0xff, 0x0f]]])],
      ['an over-long LEB', moduleBytes([[1, [1, 0x60, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]]])],
      ['a LEB above 2^32', moduleBytes([[3, [0xff, 0xff, 0xff, 0xff, 0x7f]]])],
      ['a GC struct type', moduleBytes([[1, [1, 0x5f, 0]]])],
      ['an unknown import kind', moduleBytes([[2, [1, 1, 0x73, 1, 0x6d, 0x09]]])],
      ['an unknown value type', moduleBytes([[1, [1, 0x60, 1, 0x01, 0]]])],
      ['a name that is not UTF-8', moduleBytes([[7, [1, 2, 0xc3, 0x28, 0, 0]]])],
      ['a name past the end', moduleBytes([[7, [1, 0x7f, 0x61]]])],
      [
        'a section longer than the module',
        Buffer.concat([Buffer.from('\0asm\x01\0\0\0'), Buffer.from([1, 0xff, 0x7f, 0x60])]),
      ],
      ['unknown limits flags', moduleBytes([[2, [1, 1, 0x73, 1, 0x6d, 0x02, 0x10, 1]]])],
    ]
    for (const [what, bytes] of lies) {
      const parsed = parseModule(bytes)
      expect(parsed.ok, what).toBe(false)
      expect(checkModule(bytes, cap16), what).toMatchObject({ ok: false, kind: 'invalid' })
    }
  })

  it('reads what it needs from a well-formed module', async () => {
    const parsed = parseModule(await H.assemble(H.ENV_ABORT))
    if (!parsed.ok) throw new Error(parsed.message)
    expect(parsed.info.imports.map((i) => `${i.module}.${i.name}:${i.desc.kind}`)).toEqual([
      'spare.memory:memory',
      'env.abort:function',
      'wasi_snapshot_preview1.proc_exit:function',
    ])
    expect(parsed.info.exports).toEqual([{ name: 'run', kind: 0, index: 2 }])
    expect(parsed.info.memoryCount).toBe(0)
  })

  it('skips custom sections, wherever they are', async () => {
    const good = await H.assemble(H.REVERSE)
    const custom = [0, ...leb(12), 5, ...Buffer.from('hello'), 1, 2, 3, 4, 5, 6]
    const withCustom = Buffer.concat([
      good.subarray(0, 8),
      Buffer.from(custom),
      good.subarray(8),
      Buffer.from(custom),
    ])
    expect(checkModule(withCustom, cap16)).toMatchObject({ ok: true, maxPages: 256 })
  })
})

function leb(n: number): number[] {
  const out: number[] = []
  do {
    let b = n & 0x7f
    n >>>= 7
    if (n) b |= 0x80
    out.push(b)
  } while (n)
  return out
}

function moduleBytes(sections: Array<[number, number[]]>): Buffer {
  const parts = [Buffer.from('\0asm\x01\0\0\0')]
  for (const [id, body] of sections) parts.push(Buffer.from([id, ...leb(body.length), ...body]))
  return Buffer.concat(parts)
}
