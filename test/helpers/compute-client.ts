// A compute node in a child process that looks up the compute topic (as a submitter does), for
// tests that kill it the hard way (SIGKILL: its connections end without a word) and start it
// again on the same data dir: the same identity, a fresh transport key.
// Prints one line of JSON on stdout: {"identity": HEX}.
//
// usage: node --import tsx test/helpers/compute-client.ts BOOTSTRAP DATA_DIR
import { promises as fs } from 'node:fs'
import Corestore from 'corestore'
import HyperDHT from 'hyperdht'
import pino from 'pino'
import { COMPUTE_TOPIC, Compute } from '../../main/engine/compute/compute.ts'
import { Ledger } from '../../main/engine/ledger/ledger.ts'
import { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import { DonateLimitsSchema } from '../../main/engine/limits/governor.ts'

const [bootstrapArg, dataDir] = process.argv.slice(2)
if (!bootstrapArg || !dataDir) {
  process.stderr.write('usage: compute-client BOOTSTRAP DATA_DIR\n')
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
const limits = DonateLimitsSchema.parse({})
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
await compute.open()
// A submitter's lookup, without a job to submit.
const inside = compute as unknown as {
  swarm: { join(topic: Buffer, mode: { server: boolean; client: boolean }): Promise<void> }
}
await inside.swarm.join(COMPUTE_TOPIC, { server: false, client: true })
process.stdout.write(`${JSON.stringify({ identity: identity.publicKey.toString('hex') })}\n`)
