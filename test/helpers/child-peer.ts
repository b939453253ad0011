// What the test peers that run in a child process share (compute-client.ts, fake-donor.ts,
// hostile-submitter.ts, lying-host.ts): their arguments' BOOTSTRAP DATA_DIR start, a store and
// identity in DATA_DIR, a DHT node on the local testnet and, for the compute ones, Spare's own
// Compute with a ledger and a CPU governor that never holds.
import { promises as fs } from 'node:fs'
import Corestore from 'corestore'
import HyperDHT from 'hyperdht'
import pino from 'pino'
import { Compute } from '../../main/engine/compute/compute.ts'
import { Ledger } from '../../main/engine/ledger/ledger.ts'
import { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import { DonateLimitsSchema, type DonateLimits } from '../../main/engine/limits/governor.ts'

/** `host:port,...` as HyperDHT's bootstrap list. */
export function bootstrapOf(network: string): Array<{ host: string; port: number }> {
  return network.split(',').map((hp) => {
    const [host, port] = hp.split(':')
    return { host: host!, port: Number(port) }
  })
}

/** A store in DATA_DIR/store, its identity, and a DHT node on BOOTSTRAP. */
export async function openPeer(bootstrapArg: string, dataDir: string) {
  await fs.mkdir(dataDir, { recursive: true })
  const store = new Corestore(`${dataDir}/store`)
  await store.ready()
  const identity = await store.createKeyPair('spare-identity')
  const dht = new HyperDHT({
    bootstrap: bootstrapOf(bootstrapArg),
    host: '127.0.0.1',
    firewalled: false,
  })
  await dht.ready()
  return { store, identity, dht }
}

/** openPeer plus Compute (not yet open) with `limits`; `stop` closes it all. */
export async function openComputePeer(
  bootstrapArg: string,
  dataDir: string,
  limitsIn: Partial<DonateLimits> = {},
) {
  const { store, identity, dht } = await openPeer(bootstrapArg, dataDir)
  const ledger = await Ledger.open(store, identity)
  const limits = DonateLimitsSchema.parse(limitsIn)
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
  const stop = async (): Promise<void> => {
    await compute.close()
    governor.destroy()
    await ledger.close()
    await dht.destroy()
    await store.close()
  }
  return { store, identity, dht, ledger, compute, stop }
}
