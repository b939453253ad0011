// The compute demo: one big task split into jobs across donors, and the result put back together.
// It renders the Mandelbrot set as a PNG, one strip of rows per job, with the sample job
// examples/compute/mandelbrot.wasm. Everything runs on this machine: a DHT testnet on 127.0.0.1,
// N donor daemons that donate CPU, and one submitter daemon that sends every strip to two donors
// and keeps the output a quorum agreed on. Nothing is sent outside 127.0.0.1.
//
//   npm run demo:compute -- [--donors 3] [--strips 12] [--width 960] [--height 720]
//                           [--iterations 400] [--out mandelbrot.png]
//
// Exports runDemo() for test/integration/compute-demo.test.ts.
import { spawn, type ChildProcess } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import zlib from 'node:zlib'
import { parseArgs } from 'node:util'
import createTestnet from 'hyperdht/testnet.js'
import type { SpareClient } from '../shared/client.ts'
import type { JobDetail } from '../shared/contract.ts'
import { connect } from '../main/daemon/http-client.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const SPARE = path.join(ROOT, 'bin', 'spare')
const MANDELBROT = path.join(ROOT, 'examples', 'compute', 'mandelbrot.wasm')

export interface DemoOptions {
  donors: number
  strips: number
  width: number
  height: number
  iterations: number
  out: string
  log?: (line: string) => void
}

export interface DemoResult {
  /** width × height iteration counts (clamped to 255), row by row. */
  pixels: Buffer
  jobs: JobDetail[]
  /** Strips each donor was in the quorum of, by donor identity. */
  perDonor: Record<string, number>
  seconds: number
}

/** The region of the plane the demo renders (the whole set). */
export const VIEW = { x0: -2.2, y0: -1.2, x1: 1.0, y1: 1.2 }

/** The mandelbrot sample's input: width, height u32; x0, y0, dx, dy f64; maxIter u32 (LE). */
export function mandelbrotInput(o: {
  width: number
  height: number
  x0: number
  y0: number
  dx: number
  dy: number
  maxIter: number
}): Buffer {
  const b = Buffer.alloc(44)
  b.writeUInt32LE(o.width, 0)
  b.writeUInt32LE(o.height, 4)
  b.writeDoubleLE(o.x0, 8)
  b.writeDoubleLE(o.y0, 16)
  b.writeDoubleLE(o.dx, 24)
  b.writeDoubleLE(o.dy, 32)
  b.writeUInt32LE(o.maxIter, 40)
  return b
}

interface Daemon {
  dir: string
  proc: ChildProcess
  client: SpareClient
}

async function startDaemon(network: string, log: (s: string) => void): Promise<Daemon> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'spare-demo-'))
  const proc = spawn(
    process.execPath,
    [SPARE, 'daemon', '--data-dir', dir, '--network', network, '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  )
  let err = ''
  proc.stderr?.on('data', (d: Buffer) => (err += d.toString()))
  const deadline = Date.now() + 30_000
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`a daemon exited early:\n${err}`)
    try {
      const { client } = await connect(dir)
      await client.call('node.status')
      return { dir, proc, client }
    } catch {
      if (Date.now() > deadline) throw new Error(`a daemon did not start in 30 s:\n${err}`)
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  void log
}

async function stopDaemon(d: Daemon): Promise<void> {
  if (d.proc.exitCode === null) {
    await new Promise<void>((resolve) => {
      d.proc.once('exit', () => resolve())
      d.proc.kill('SIGTERM')
    })
  }
  await fs.rm(d.dir, { recursive: true, force: true })
}

export async function runDemo(opts: DemoOptions): Promise<DemoResult> {
  const log = opts.log ?? ((line: string) => process.stdout.write(line + '\n'))
  if (opts.strips < 1 || opts.strips > opts.height) {
    throw new Error(`--strips must be between 1 and the height (${opts.height})`)
  }
  const testnet = await createTestnet(3, { host: '127.0.0.1' })
  const network = testnet.bootstrap.map((b) => `${b.host}:${b.port}`).join(',')
  const daemons: Daemon[] = []
  const started = Date.now()
  try {
    log(`Starting ${opts.donors} donors and a submitter on a local testnet (${network})…`)
    for (let i = 0; i < opts.donors + 1; i++) daemons.push(await startDaemon(network, log))
    const [submitter, ...donors] = daemons as [Daemon, ...Daemon[]]
    for (const d of donors) {
      // Full speed on one core each, whatever else runs: it's a demo.
      await d.client.call('donate.set', {
        cpuPercent: 100,
        cpuCores: 1,
        suspendAboveOtherPercent: null,
        allowOnBattery: true,
      })
    }
    const module = (await fs.readFile(MANDELBROT)).toString('base64')
    const dx = (VIEW.x1 - VIEW.x0) / opts.width
    const dy = (VIEW.y1 - VIEW.y0) / opts.height
    const rowsPer = Math.ceil(opts.height / opts.strips)
    const strips: Array<{ row: number; rows: number; id: string }> = []
    for (let row = 0; row < opts.height; row += rowsPer) {
      const rows = Math.min(rowsPer, opts.height - row)
      const input = mandelbrotInput({
        width: opts.width,
        height: rows,
        x0: VIEW.x0,
        y0: VIEW.y0 + row * dy,
        dx,
        dy,
        maxIter: opts.iterations,
      })
      const job = await submitter.client.call('compute.submit', {
        module,
        input: input.toString('base64'),
        replicas: 2,
        name: `mandelbrot rows ${row}-${row + rows - 1}`,
      })
      strips.push({ row, rows, id: job.id })
    }
    log(`Sent ${strips.length} strips, each to 2 donors; waiting for their quorums…`)
    const done = new Map<string, JobDetail>()
    while (done.size < strips.length) {
      for (const s of strips) {
        if (done.has(s.id)) continue
        const j = await submitter.client.call('compute.job', { id: s.id })
        if (j.state === 'failed') throw new Error(`${j.name} failed: ${j.error?.message}`)
        if (j.state === 'done') {
          done.set(s.id, j)
          log(`  ${j.name}: agreed by ${j.donors.filter((d) => d.state === 'agreed').length}`)
        }
      }
      if (done.size < strips.length) await new Promise((r) => setTimeout(r, 250))
    }
    const pixels = Buffer.alloc(opts.width * opts.height)
    const perDonor: Record<string, number> = {}
    for (const s of strips) {
      const j = done.get(s.id) as JobDetail
      const out = Buffer.from(j.output ?? '', 'base64')
      if (out.length !== opts.width * s.rows) {
        throw new Error(`${j.name}: ${out.length} bytes, expected ${opts.width * s.rows}`)
      }
      out.copy(pixels, s.row * opts.width)
      for (const d of j.donors) {
        if (d.state === 'agreed') perDonor[d.identity] = (perDonor[d.identity] ?? 0) + 1
      }
    }
    await fs.writeFile(opts.out, png(pixels, opts.width, opts.height, opts.iterations))
    const seconds = (Date.now() - started) / 1000
    log(`Wrote ${opts.out} (${opts.width}×${opts.height}) in ${seconds.toFixed(1)} s.`)
    for (const [id, n] of Object.entries(perDonor)) log(`  donor ${id.slice(0, 12)}: ${n} strips`)
    return { pixels, jobs: [...done.values()], perDonor, seconds }
  } finally {
    await Promise.all(daemons.map((d) => stopDaemon(d).catch(() => {})))
    await testnet.destroy()
  }
}

/** A grayscale PNG of iteration counts: the set black, the outside lighter the faster it escapes. */
export function png(pixels: Buffer, width: number, height: number, maxIter: number): Buffer {
  const raw = Buffer.alloc((width + 1) * height)
  const top = Math.min(maxIter, 255)
  for (let y = 0; y < height; y++) {
    raw[y * (width + 1)] = 0 // filter: none
    for (let x = 0; x < width; x++) {
      const n = pixels[y * width + x] as number
      raw[y * (width + 1) + 1 + x] =
        n >= top ? 0 : Math.round(255 * (1 - Math.log(n + 1) / Math.log(top + 1)))
    }
  }
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(zlib.crc32(body))
    return Buffer.concat([len, body, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 0 // grayscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({
    options: {
      donors: { type: 'string', default: '3' },
      strips: { type: 'string', default: '12' },
      width: { type: 'string', default: '960' },
      height: { type: 'string', default: '720' },
      iterations: { type: 'string', default: '400' },
      out: { type: 'string', default: 'mandelbrot.png' },
    },
  })
  const num = (name: keyof typeof values, min: number, max: number): number => {
    const n = Number(values[name])
    if (!Number.isInteger(n) || n < min || n > max) {
      process.stderr.write(`--${name} must be a whole number from ${min} to ${max}\n`)
      process.exit(2)
    }
    return n
  }
  runDemo({
    donors: num('donors', 2, 16),
    strips: num('strips', 1, 4096),
    width: num('width', 16, 8192),
    height: num('height', 16, 8192),
    iterations: num('iterations', 1, 100_000),
    out: path.resolve(String(values.out)),
  }).catch((err: Error) => {
    process.stderr.write(`demo failed: ${err.message}\n`)
    process.exitCode = 1
  })
}
