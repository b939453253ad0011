import Corestore from 'corestore'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
const N = Number(process.argv[2] ?? 1_000_000)
const store = new Corestore(mkdtempSync(path.join(os.tmpdir(), 'hm-bench-')))
const core = store.get({ name: 'tiny' })
await core.ready()
let t = Date.now()
const B = 10000
for (let i = 0; i < N; i += B)
  await core.append(Array.from({ length: Math.min(B, N - i) }, () => Buffer.alloc(8)))
console.log('append', N, 'blocks', Date.now() - t, 'ms')
async function oldCount(core, start, end) {
  let n = 0
  for (let i = start; i < end; i++) {
    if (await core.has(i)) n++
    if ((i - start) % 8192 === 8191) await new Promise((r) => setImmediate(r))
  }
  return n
}
async function newCount(core, start, end) {
  let n = 0
  for (let i = start; i < end; i += 1 << 20) {
    if (i > start) await new Promise((r) => setImmediate(r))
    n += await core.count(i, Math.min(end, i + (1 << 20)))
  }
  return n
}
for (const [name, fn] of [
  ['old', oldCount],
  ['new', newCount],
]) {
  let ticks = 0,
    maxGap = 0,
    last = performance.now(),
    on = true
  const spin = () => {
    const now = performance.now()
    maxGap = Math.max(maxGap, now - last)
    last = now
    ticks++
    if (on) setImmediate(spin)
  }
  setImmediate(spin)
  const t0 = performance.now()
  const n = await fn(core, 0, core.length)
  const dt = performance.now() - t0
  on = false
  console.log(
    name,
    'count',
    n,
    'in',
    dt.toFixed(1),
    'ms; event-loop turns',
    ticks,
    'longest stall',
    maxGap.toFixed(1),
    'ms',
  )
}
await store.close()
