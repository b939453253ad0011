// The sample jobs in examples/compute against JavaScript references: many inputs run directly
// with WebAssembly (the same four imports the runner gives), a few through the real sandbox.
import { execFileSync } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkModule } from '../../main/engine/compute/abi.ts'
import { startJob, type RunResult } from '../../main/engine/compute/sandbox.ts'
import { assemble } from '../helpers/hostile-modules.ts'

const dir = path.resolve(import.meta.dirname, '../../examples/compute')
const wasm = (name: string): Buffer => readFileSync(path.join(dir, `${name}.wasm`))
const MiB = 1024 * 1024

/** Runs a job in this process, with the job interface's imports: for many quick cases. */
function runDirect(
  module: Buffer,
  input: Buffer,
  memoryBytes = 64 * MiB,
): { code: number; output: Buffer } {
  const checked = checkModule(module, { memoryCapBytes: memoryBytes })
  if (!checked.ok) throw new Error(`${checked.kind}: ${checked.message}`)
  const memory = new WebAssembly.Memory({
    initial: checked.initialPages,
    maximum: checked.maxPages,
  })
  const chunks: Buffer[] = []
  const spare = {
    memory,
    input_size: () => input.length,
    read_input: (dst: number, offset: number, len: number) => {
      const n = Math.max(0, Math.min(len >>> 0, input.length - (offset >>> 0)))
      if ((dst >>> 0) + n > memory.buffer.byteLength) throw new WebAssembly.RuntimeError('oob')
      new Uint8Array(memory.buffer, dst >>> 0, n).set(
        input.subarray(offset >>> 0, (offset >>> 0) + n),
      )
      return n
    },
    write_output: (src: number, len: number) => {
      chunks.push(Buffer.from(new Uint8Array(memory.buffer, src >>> 0, len >>> 0)))
    },
  }
  const instance = new WebAssembly.Instance(
    new WebAssembly.Module(module as Uint8Array<ArrayBuffer>),
    { spare },
  )
  const code = (instance.exports.run as () => number)()
  return { code, output: Buffer.concat(chunks) }
}

function ok(r: RunResult): Buffer {
  if (!r.ok) throw new Error(`${r.kind}: ${r.message}`)
  return r.output
}

const limits = { memoryBytes: 64 * MiB, wallMs: 60_000 }

describe('the committed .wasm files', () => {
  it('are what build.mjs assembles from the .wat sources', async () => {
    const wats = readdirSync(dir).filter((f) => f.endsWith('.wat'))
    expect(wats.sort()).toEqual(['mandelbrot.wat', 'primes.wat', 'sha256-search.wat'])
    for (const wat of wats) {
      const bytes = await assemble(readFileSync(path.join(dir, wat), 'utf8'))
      expect(bytes.equals(wasm(wat.replace(/\.wat$/, ''))), wat).toBe(true)
    }
    // The script's own check mode agrees (exit 0; it exits 1 on a stale .wasm).
    execFileSync(process.execPath, [path.join(dir, 'build.mjs'), '--check'], { stdio: 'pipe' })
  })
})

// ---------------------------------------------------------------------------------------------
// mandelbrot

interface Tile {
  width: number
  height: number
  x0: number
  y0: number
  dx: number
  dy: number
  maxIter: number
}

function tileInput(t: Tile): Buffer {
  const b = Buffer.alloc(44)
  b.writeUInt32LE(t.width, 0)
  b.writeUInt32LE(t.height, 4)
  b.writeDoubleLE(t.x0, 8)
  b.writeDoubleLE(t.y0, 16)
  b.writeDoubleLE(t.dx, 24)
  b.writeDoubleLE(t.dy, 32)
  b.writeUInt32LE(t.maxIter, 40)
  return b
}

function mandelbrotRef(t: Tile): Buffer {
  const out = Buffer.alloc(t.width * t.height)
  for (let j = 0; j < t.height; j++) {
    const cy = t.y0 + j * t.dy
    for (let i = 0; i < t.width; i++) {
      const cx = t.x0 + i * t.dx
      let zx = 0
      let zy = 0
      let n = 0
      while (n < t.maxIter) {
        const x2 = zx * zx
        const y2 = zy * zy
        if (x2 + y2 > 4) break
        zy = 2 * zx * zy + cy
        zx = x2 - y2 + cx
        n++
      }
      out[j * t.width + i] = Math.min(n, 255)
    }
  }
  return out
}

describe('mandelbrot.wat', () => {
  const tiles: Tile[] = [
    { width: 64, height: 48, x0: -2.2, y0: -1.2, dx: 3.2 / 64, dy: 2.4 / 48, maxIter: 100 },
    { width: 37, height: 19, x0: -0.75, y0: 0.1, dx: 0.001, dy: 0.0013, maxIter: 1000 },
    { width: 16, height: 16, x0: -0.5, y0: -0.5, dx: 0.0625, dy: 0.0625, maxIter: 0 },
    { width: 1, height: 1, x0: 0, y0: 0, dx: 0, dy: 0, maxIter: 300 }, // inside: clamped to 255
    { width: 0, height: 5, x0: 0, y0: 0, dx: 1, dy: 1, maxIter: 10 },
    { width: 300, height: 1, x0: -2, y0: 0.3, dx: 0.01, dy: 0, maxIter: 500 },
  ]

  it('matches the JavaScript reference, byte for byte', () => {
    for (const t of tiles) {
      const r = runDirect(wasm('mandelbrot'), tileInput(t))
      expect(r.code).toBe(0)
      expect(r.output.equals(mandelbrotRef(t)), JSON.stringify(t)).toBe(true)
    }
    expect(mandelbrotRef(tiles[3] as Tile)[0]).toBe(255)
  })

  it('refuses a short header and a tile over 4 MiB', () => {
    expect(runDirect(wasm('mandelbrot'), Buffer.alloc(43)).code).toBe(1)
    const huge = { width: 4096, height: 1025, x0: 0, y0: 0, dx: 0, dy: 0, maxIter: 1 }
    expect(runDirect(wasm('mandelbrot'), tileInput(huge)).code).toBe(2)
    const wide = { width: 0xffffffff, height: 0, x0: 0, y0: 0, dx: 0, dy: 0, maxIter: 1 }
    expect(runDirect(wasm('mandelbrot'), tileInput(wide)).code).toBe(2)
  })

  it('renders a tile in the sandbox', async () => {
    const t = { width: 200, height: 150, x0: -2.2, y0: -1.2, dx: 0.016, dy: 0.016, maxIter: 200 }
    const out = ok(await startJob(wasm('mandelbrot'), tileInput(t), limits).done)
    expect(out.equals(mandelbrotRef(t))).toBe(true)
  })
})

// ---------------------------------------------------------------------------------------------
// primes

function rangeInput(lo: number, hi: number): Buffer {
  const b = Buffer.alloc(8)
  b.writeUInt32LE(lo, 0)
  b.writeUInt32LE(hi, 4)
  return b
}

/** Trial division: slow but independent of any sieve. */
function isPrime(n: number): boolean {
  if (n < 2) return false
  if (n % 2 === 0) return n === 2
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false
  return true
}

function primesRef(lo: number, hi: number): number[] {
  const out: number[] = []
  for (let n = lo; n < hi; n++) if (isPrime(n)) out.push(n)
  return out
}

function decodePrimes(out: Buffer): number[] {
  const count = out.readUInt32LE(0)
  expect(out.length).toBe(4 + 4 * count)
  return Array.from({ length: count }, (_, i) => out.readUInt32LE(4 + 4 * i))
}

describe('primes.wat', () => {
  it('matches trial division on small, odd and top-of-range intervals', () => {
    const ranges: Array<[number, number]> = [
      [0, 2],
      [0, 3],
      [1, 2],
      [2, 3],
      [0, 1000],
      [0, 100_000],
      [65_000, 66_100], // around the small sieve's end
      [999_983, 1_000_004],
      [2 ** 31 - 1000, 2 ** 31 + 1000],
      [2 ** 32 - 5000, 2 ** 32 - 1], // the top: 4294967291 is the last prime
      [4_294_967_291, 4_294_967_292],
      [7, 7],
      [10, 3],
    ]
    for (const [lo, hi] of ranges) {
      const r = runDirect(wasm('primes'), rangeInput(lo, hi))
      expect(r.code, `${lo}..${hi}`).toBe(0)
      expect(decodePrimes(r.output), `${lo}..${hi}`).toEqual(primesRef(lo, hi))
    }
  })

  it('counts the primes below 10^6 and 16 * 10^6, and the largest range fits the output cap', () => {
    expect(decodePrimes(runDirect(wasm('primes'), rangeInput(0, 1_000_000)).output).length).toBe(
      78_498,
    )
    const r = runDirect(wasm('primes'), rangeInput(0, 16_000_000))
    expect(r.output.readUInt32LE(0)).toBe(1_031_130)
    expect(r.output.length).toBeLessThanOrEqual(4 * MiB)
  })

  it('refuses ranges over 16,000,000 and inputs of the wrong size', () => {
    expect(runDirect(wasm('primes'), rangeInput(0, 16_000_001)).code).toBe(2)
    expect(runDirect(wasm('primes'), rangeInput(2 ** 32 - 16_000_001, 2 ** 32 - 1)).code).toBe(0)
    expect(runDirect(wasm('primes'), Buffer.alloc(7)).code).toBe(1)
    expect(runDirect(wasm('primes'), Buffer.alloc(9)).code).toBe(1)
  })

  it('lists primes in the sandbox, and reports the refusal code', async () => {
    const out = ok(
      await startJob(wasm('primes'), rangeInput(4_000_000_000, 4_000_020_000), limits).done,
    )
    expect(decodePrimes(out)).toEqual(primesRef(4_000_000_000, 4_000_020_000))
    const r = await startJob(wasm('primes'), rangeInput(0, 20_000_000), limits).done
    expect(r).toMatchObject({ ok: false, kind: 'trap', message: 'run() returned 2' })
  })
})

// ---------------------------------------------------------------------------------------------
// sha256-search

interface Search {
  prefix: Buffer
  difficulty: number
  start: bigint
  count: bigint
}

function searchInput(s: Search): Buffer {
  const tail = Buffer.alloc(20)
  tail.writeUInt32LE(s.difficulty, 0)
  tail.writeBigUInt64LE(s.start, 4)
  tail.writeBigUInt64LE(s.count, 12)
  const len = Buffer.alloc(4)
  len.writeUInt32LE(s.prefix.length)
  return Buffer.concat([len, s.prefix, tail])
}

function leadingZeroBits(hash: Buffer): number {
  let bits = 0
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8
      continue
    }
    return bits + Math.clz32(byte) - 24
  }
  return bits
}

function searchRef(s: Search): Buffer {
  const nonce = Buffer.alloc(8)
  const base = createHash('sha256').update(s.prefix)
  for (let i = 0n; i < s.count; i++) {
    const n = BigInt.asUintN(64, s.start + i)
    nonce.writeBigUInt64LE(n)
    const hash = base.copy().update(nonce).digest()
    if (leadingZeroBits(hash) >= s.difficulty) {
      return Buffer.concat([Buffer.from([1]), Buffer.from(nonce), hash])
    }
  }
  return Buffer.alloc(41)
}

describe('sha256-search.wat', () => {
  it('is SHA-256: equals node:crypto for every prefix length from 0 to 300', () => {
    for (let len = 0; len <= 300; len++) {
      const s: Search = {
        prefix: randomBytes(len),
        difficulty: 0,
        start: BigInt.asUintN(64, BigInt(len) * 0x9e3779b97f4a7c15n),
        count: 1n,
      }
      const r = runDirect(wasm('sha256-search'), searchInput(s))
      expect(r.code).toBe(0)
      expect(r.output.toString('hex'), `length ${len}`).toBe(searchRef(s).toString('hex'))
    }
  })

  it('finds the same first nonce as the reference', () => {
    const cases: Search[] = [
      { prefix: Buffer.from('spare'), difficulty: 8, start: 0n, count: 10_000n },
      { prefix: Buffer.from('block 123'), difficulty: 12, start: 1000n, count: 100_000n },
      { prefix: randomBytes(61), difficulty: 10, start: 5n, count: 50_000n }, // nonce across blocks
      { prefix: randomBytes(130), difficulty: 6, start: 0n, count: 5000n },
      { prefix: Buffer.alloc(0), difficulty: 9, start: 2n ** 64n - 300n, count: 5000n }, // wraps
      { prefix: Buffer.from('x'), difficulty: 4, start: 0n, count: 0n }, // nothing to try
      { prefix: Buffer.from('x'), difficulty: 256, start: 0n, count: 50n }, // nothing qualifies
    ]
    for (const s of cases) {
      const r = runDirect(wasm('sha256-search'), searchInput(s))
      expect(r.code).toBe(0)
      const want = searchRef(s)
      expect(r.output.toString('hex'), `${s.prefix.length} bytes, ${s.difficulty} bits`).toBe(
        want.toString('hex'),
      )
    }
  })

  it('refuses malformed inputs and difficulties over 256', () => {
    const good = searchInput({ prefix: Buffer.from('ab'), difficulty: 1, start: 0n, count: 1n })
    expect(runDirect(wasm('sha256-search'), good.subarray(0, good.length - 1)).code).toBe(1)
    expect(runDirect(wasm('sha256-search'), Buffer.concat([good, Buffer.alloc(1)])).code).toBe(1)
    expect(runDirect(wasm('sha256-search'), Buffer.alloc(3)).code).toBe(1)
    const lying = Buffer.from(good)
    lying.writeUInt32LE(0xffffffff, 0)
    expect(runDirect(wasm('sha256-search'), lying).code).toBe(1)
    const hard = searchInput({ prefix: Buffer.from('ab'), difficulty: 257, start: 0n, count: 1n })
    expect(runDirect(wasm('sha256-search'), hard).code).toBe(2)
  })

  it('searches in the sandbox, with a prefix of a megabyte', async () => {
    const s: Search = { prefix: randomBytes(MiB), difficulty: 10, start: 7n, count: 20_000n }
    const out = ok(await startJob(wasm('sha256-search'), searchInput(s), limits).done)
    expect(out.toString('hex')).toBe(searchRef(s).toString('hex'))
  })
})
