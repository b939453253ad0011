// The program inside a job's own process (started by sandbox.ts; bundled by
// scripts/build-runner.mjs to dist/runner/compute-runner.mjs). It imports Node built-ins only.
//
// Main thread: waits for one job over the IPC channel, runs it in a worker thread (made from the
// source text of workerMain below), reports the process's CPU time and RSS to the parent every
// REPORT_MS, then sends the result and waits to be killed (the parent reads the final CPU time
// first). It exits when the parent goes.
//
// Worker thread: instantiates the module with exactly the four imports of the job interface (see
// abi.ts; the parent checked the module before it started this process) and calls run(). A wasm
// module reaches nothing but its imports: no file system, no network, no clock.
//
// Messages (structured clone, `serialization: 'advanced'`):
//   parent -> runner  { type: 'job', module, input, initialPages, maxPages, outputMax }
//   runner -> parent  { type: 'usage', cpuMs, rss }
//                     { type: 'result', ok: true, output, cpuMs, rss }
//                     { type: 'result', ok: false, kind, message, cpuMs, rss }
import os from 'node:os'
import { Worker, isMainThread } from 'node:worker_threads'
import type * as WorkerThreads from 'node:worker_threads'

const REPORT_MS = 150

interface Job {
  module: Uint8Array
  input: Uint8Array
  initialPages: number
  maxPages: number
  outputMax: number
}

type Outcome =
  | { ok: true; output: Uint8Array }
  | {
      ok: false
      kind: 'invalid' | 'forbidden-import' | 'too-large' | 'trap' | 'memory' | 'crashed'
      message: string
    }

function isJob(msg: unknown): msg is Job & { type: 'job' } {
  if (typeof msg !== 'object' || msg === null) return false
  const m = msg as Record<string, unknown>
  const whole = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0
  return (
    m.type === 'job' &&
    m.module instanceof Uint8Array &&
    m.input instanceof Uint8Array &&
    whole(m.initialPages) &&
    whole(m.maxPages) &&
    whole(m.outputMax) &&
    (m.initialPages as number) <= (m.maxPages as number) &&
    (m.maxPages as number) <= 65536
  )
}

function cpuMs(): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

function rss(): number {
  try {
    return process.memoryUsage.rss()
  } catch {
    return 0
  }
}

function send(msg: object): void {
  try {
    if (process.connected) process.send?.(msg)
  } catch {
    // the parent is gone: 'disconnect' ends this process
  }
}

function main(): void {
  if (!process.send) {
    process.stderr.write('compute-runner: start me from sandbox.ts (no IPC channel)\n')
    process.exit(2)
  }
  try {
    process.chdir(os.tmpdir())
  } catch {
    // stay where we are; the job cannot reach the file system anyway
  }
  try {
    // The parent lowers it too, where it may; the worker thread inherits this thread's value.
    os.setPriority(19)
  } catch {
    // not permitted: the parent's setting stands
  }
  process.on('disconnect', () => process.exit(0))

  const timer = setInterval(() => send({ type: 'usage', cpuMs: cpuMs(), rss: rss() }), REPORT_MS)
  let finished = false
  const finish = (outcome: Outcome): void => {
    if (finished) return
    finished = true
    clearInterval(timer)
    send({ type: 'result', ...outcome, cpuMs: cpuMs(), rss: rss() })
    // Stay until the parent kills us (after it read the final CPU time) or disconnects.
  }

  process.once('message', (msg: unknown) => {
    if (!isJob(msg)) {
      finish({ ok: false, kind: 'crashed', message: 'the runner got a malformed job message' })
      return
    }
    const job: Job = {
      module: msg.module,
      input: msg.input,
      initialPages: msg.initialPages,
      maxPages: msg.maxPages,
      outputMax: msg.outputMax,
    }
    let worker: Worker
    try {
      worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: job,
        // The job's memory is a wasm memory (outside the JS heap); the worker's own JS is tiny.
        resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8, stackSizeMb: 4 },
        env: {},
        stdout: true,
        stderr: true,
      })
    } catch (err) {
      finish({ ok: false, kind: 'crashed', message: `could not start the worker: ${String(err)}` })
      return
    }
    worker.on('message', (outcome: Outcome) => {
      finish(outcome)
      void worker.terminate()
    })
    worker.on('error', (err: Error & { code?: string }) => {
      if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') {
        finish({ ok: false, kind: 'memory', message: 'the job ran out of memory' })
      } else {
        finish({ ok: false, kind: 'crashed', message: `the worker failed: ${err.message}` })
      }
    })
    worker.on('exit', (code) => {
      finish({ ok: false, kind: 'crashed', message: `the worker exited (code ${code})` })
    })
  })
}

/**
 * The worker thread's whole program. It runs from its source text (see WORKER_SOURCE), so it
 * must be self-contained: no references to anything outside this function.
 */
function workerMain(wt: typeof WorkerThreads): void {
  const PAGE = 65536
  const job = wt.workerData as Job

  /** An import refused to write past the output cap; wasm can't change that by catching it. */
  class OutputTooLarge extends Error {}

  const message = (err: unknown): string =>
    (err instanceof Error ? err.message : String(err)).slice(0, 500)

  const work = (): Outcome => {
    let memory: WebAssembly.Memory
    try {
      memory = new WebAssembly.Memory({ initial: job.initialPages, maximum: job.maxPages })
    } catch (err) {
      return {
        ok: false,
        kind: 'memory',
        message: `could not allocate the job's memory: ${message(err)}`,
      }
    }
    const input = job.input
    let out = new Uint8Array(Math.min(job.outputMax, 64 * 1024))
    let outLen = 0
    let tooLarge = false

    const oob = (what: string): WebAssembly.RuntimeError =>
      new WebAssembly.RuntimeError(`${what}: out of bounds memory access`)

    const spare = {
      memory,
      input_size: (): number => input.byteLength,
      read_input: (dst: number, offset: number, len: number): number => {
        const d = dst >>> 0
        const o = offset >>> 0
        const l = len >>> 0
        const n = o >= input.byteLength ? 0 : Math.min(l, input.byteLength - o)
        const buf = memory.buffer
        if (d + n > buf.byteLength) throw oob('read_input')
        new Uint8Array(buf, d, n).set(input.subarray(o, o + n))
        return n
      },
      write_output: (src: number, len: number): void => {
        const s = src >>> 0
        const l = len >>> 0
        const buf = memory.buffer
        if (s + l > buf.byteLength) throw oob('write_output')
        if (tooLarge || outLen + l > job.outputMax) {
          tooLarge = true
          throw new OutputTooLarge(`the output passed the cap of ${job.outputMax} bytes`)
        }
        if (outLen + l > out.byteLength) {
          const size = Math.min(job.outputMax, Math.max(out.byteLength * 2, outLen + l))
          const grown = new Uint8Array(size)
          grown.set(out.subarray(0, outLen))
          out = grown
        }
        out.set(new Uint8Array(buf, s, l), outLen)
        outLen += l
      },
    }

    const failure = (err: unknown): Outcome => {
      if (tooLarge) {
        return {
          ok: false,
          kind: 'too-large',
          message: `the output passed the cap of ${job.outputMax} bytes`,
        }
      }
      if (err instanceof WebAssembly.CompileError) {
        return { ok: false, kind: 'invalid', message: `not a valid module: ${message(err)}` }
      }
      if (err instanceof WebAssembly.LinkError) {
        return { ok: false, kind: 'forbidden-import', message: message(err) }
      }
      const bytes = memory.buffer.byteLength
      if (bytes > job.initialPages * PAGE && bytes * 8 >= job.maxPages * PAGE * 7) {
        // The memory grew to within an eighth of its maximum and then the job failed: most
        // likely a memory.grow was refused (it returns -1 in wasm; a grow asking for more than is
        // left fails short of the maximum) and the job gave up. Report the cause, not the symptom.
        return {
          ok: false,
          kind: 'memory',
          message:
            `the job used all the memory it may (${job.maxPages} pages) and then failed: ` +
            message(err),
        }
      }
      return { ok: false, kind: 'trap', message: `the job trapped: ${message(err)}` }
    }

    let run: unknown
    try {
      // The module arrived by structured clone: its own plain ArrayBuffer.
      const mod = new WebAssembly.Module(job.module as Uint8Array<ArrayBuffer>)
      const instance = new WebAssembly.Instance(mod, { spare })
      run = instance.exports.run
    } catch (err) {
      return failure(err)
    }
    if (typeof run !== 'function') {
      return { ok: false, kind: 'invalid', message: 'the module does not export a function "run"' }
    }
    let code: unknown
    try {
      code = (run as () => unknown)()
    } catch (err) {
      return failure(err)
    }
    if (tooLarge) return failure(null)
    if (code !== 0) return { ok: false, kind: 'trap', message: `run() returned ${String(code)}` }
    return { ok: true, output: out.slice(0, outLen) }
  }

  const outcome = work()
  wt.parentPort?.postMessage(outcome, outcome.ok ? [outcome.output.buffer as ArrayBuffer] : [])
}

/**
 * The worker runs from source text rather than from this file's URL, so that it works the same
 * from the bundle and from runner.ts under tsx (whose hooks don't reach worker threads). tsx
 * compiles with keepNames, which wraps functions in __name(): the prelude defines it.
 */
const WORKER_SOURCE =
  "'use strict';\nconst __name = (f) => f;\n" +
  `(${workerMain.toString()})(require('node:worker_threads'))\n`

if (isMainThread) main()
