// A compute node in the test process, for tests that need to see or steer its insides: Spare's
// own Compute with a CPU governor, a ledger and a DHT node on the local testnet, real job
// processes. Everything registers its own teardown through `cleanup`.
import path from 'node:path'
import Corestore from 'corestore'
import HyperDHT from 'hyperdht'
import pino from 'pino'
import { Compute } from '../../main/engine/compute/compute.ts'
import type { Logger } from '../../main/engine/logger.ts'
import { Ledger } from '../../main/engine/ledger/ledger.ts'
import { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import { DonateLimitsSchema, type DonateLimits } from '../../main/engine/limits/governor.ts'
import { bootstrapOf } from './child-peer.ts'
import { type Cleanup, tempDir } from './daemon.ts'

export interface KeyPair {
  publicKey: Buffer
  secretKey: Buffer
}

/**
 * Opens a node on `network` (host:port,...) with `limits`. `identity`: another node's key pair,
 * for a peer that shows up as that node on a second connection. `log`: where it logs (errors
 * only, nowhere, unless told).
 */
export async function computeNode(
  cleanup: Cleanup,
  network: string,
  limits: Partial<DonateLimits>,
  identity?: KeyPair,
  log?: Logger,
): Promise<{ compute: Compute; identity: KeyPair }> {
  const dataDir = await tempDir(cleanup, 'spare-compute-')
  const store = new Corestore(path.join(dataDir, 'store'))
  await store.ready()
  const id: KeyPair = identity ?? (await store.createKeyPair('spare-identity'))
  const ledger = await Ledger.open(store, id)
  const dht = new HyperDHT({
    bootstrap: bootstrapOf(network),
    host: '127.0.0.1',
    firewalled: false,
  })
  await dht.ready()
  const parsed = DonateLimitsSchema.parse(limits)
  const governor = new CpuGovernor({
    limits: parsed,
    probe: { name: 'test', idleMs: async () => null, onBattery: async () => false },
  })
  const compute = new Compute({
    store,
    dht,
    identity: id,
    log: log ?? pino({ level: 'error' }),
    dataDir,
    ledger,
    governor,
    limits: parsed,
  })
  await compute.open()
  cleanup.add(async () => {
    await compute.close()
    governor.destroy()
    await ledger.close()
    await dht.destroy()
    await store.close()
  })
  return { compute, identity: id }
}
