// A greedy CPU donor for tests: Spare's own compute code, except that it knows the right output
// already (OUTPUT_FILE: it computed it before), answers every job with it at once, and claims it
// started an hour before and used that hour of CPU. The claim fits its own made-up period, so
// only the submitter's clock can tell. Submitters must not credit it for time it did not spend.
// Prints its identity on stdout.
//
// usage: node --import tsx test/helpers/greedy-donor.ts BOOTSTRAP DATA_DIR OUTPUT_FILE
import { promises as fs } from 'node:fs'
import Corestore from 'corestore'
import HyperDHT from 'hyperdht'
import pino from 'pino'
import { Compute } from '../../main/engine/compute/compute.ts'
import type { RunResult } from '../../main/engine/compute/sandbox.ts'
import { Ledger } from '../../main/engine/ledger/ledger.ts'
import { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import { DonateLimitsSchema } from '../../main/engine/limits/governor.ts'

const [bootstrapArg, dataDir, outputFile] = process.argv.slice(2)
if (!bootstrapArg || !dataDir || !outputFile) {
  process.stderr.write('usage: greedy-donor BOOTSTRAP DATA_DIR OUTPUT_FILE\n')
  process.exit(2)
}
const bootstrap = bootstrapArg.split(',').map((hp) => {
  const [host, port] = hp.split(':')
  return { host: host!, port: Number(port) }
})
await fs.mkdir(dataDir, { recursive: true })
const store = new Corestore(`${dataDir}/store`)
await store.ready()
const identity = await store.createKeyPair('spare-identity')
const ledger = await Ledger.open(store, identity)
const dht = new HyperDHT({ bootstrap, host: '127.0.0.1', firewalled: false })
await dht.ready()
const limits = DonateLimitsSchema.parse({
  cpuPercent: 100,
  cpuCores: 2,
  suspendAboveOtherPercent: null,
})
const governor = new CpuGovernor({
  limits,
  probe: { name: 'test', idleMs: async () => null, onBattery: async () => false },
})
const compute = new Compute({
  store,
  dht,
  identity,
  log: pino({ level: 'warn' }, pino.destination(2)),
  dataDir,
  ledger,
  governor,
  limits,
})

interface LiveRun {
  record: { state: string; startedAt: number | null }
}
interface Internals {
  finishRun: (run: LiveRun, res: RunResult) => void
  startRun: (run: LiveRun) => void
}
const inside = compute as unknown as Internals
const realFinish = inside.finishRun.bind(compute)
const output = await fs.readFile(outputFile)
const HOUR = 3600_000
inside.startRun = (run: LiveRun) => {
  run.record.state = 'running'
  run.record.startedAt = Date.now() - HOUR
  setTimeout(() => {
    realFinish(run, { ok: true, output, cpuMs: HOUR, wallMs: HOUR, peakRssBytes: 0 })
  }, 20)
}

await compute.open()
process.stdout.write(`${identity.publicKey.toString('hex')}\n`)

const stop = async (): Promise<void> => {
  await compute.close()
  governor.destroy()
  await ledger.close()
  await dht.destroy()
  await store.close()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
