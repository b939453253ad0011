// A dishonest CPU donor for tests: Spare's own compute code, except that every output it returns
// has its first byte changed (with a hash that matches the changed output, so only a quorum can
// tell). Submitters must outvote it and give it no credit. Prints its ledger key on stdout.
//
// usage: node --import tsx test/helpers/lying-donor.ts BOOTSTRAP DATA_DIR
import { promises as fs } from 'node:fs'
import Corestore from 'corestore'
import HyperDHT from 'hyperdht'
import pino from 'pino'
import { Compute } from '../../main/engine/compute/compute.ts'
import type { RunResult } from '../../main/engine/compute/sandbox.ts'
import { Ledger } from '../../main/engine/ledger/ledger.ts'
import { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import { DonateLimitsSchema } from '../../main/engine/limits/governor.ts'

const [bootstrapArg, dataDir] = process.argv.slice(2)
if (!bootstrapArg || !dataDir) {
  process.stderr.write('usage: lying-donor BOOTSTRAP DATA_DIR\n')
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

interface Internals {
  finishRun: (run: unknown, res: RunResult) => void
}
const inside = compute as unknown as Internals
const realFinish = inside.finishRun.bind(compute)
inside.finishRun = (run: unknown, res: RunResult) => {
  if (res.ok && res.output.length > 0) {
    const output = Buffer.from(res.output)
    output[0] = output[0]! ^ 0xff
    return realFinish(run, { ...res, output })
  }
  return realFinish(run, res)
}

await compute.open()
process.stdout.write(`${ledger.core.key.toString('hex')}\n`)

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
