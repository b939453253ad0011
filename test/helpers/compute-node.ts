// A compute node in the test process, for tests that need to see or steer its insides: Spare's
// own Compute with a CPU governor, a ledger and a DHT node on the local testnet, real job
// processes. Everything registers its own teardown through `cleanup`.
import path from 'node:path'
import Corestore from 'corestore'
import HyperDHT from 'hyperdht'
import pino from 'pino'
import { COMPUTE_TOPIC, Compute } from '../../main/engine/compute/compute.ts'
import type { Logger } from '../../main/engine/logger.ts'
import { Ledger } from '../../main/engine/ledger/ledger.ts'
import { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import { DonateLimitsSchema, type DonateLimits } from '../../main/engine/limits/governor.ts'
import { bootstrapOf } from './child-peer.ts'
import { type Cleanup, tempDir, waitFor } from './daemon.ts'

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

/** A donor as a submitter met it: its identity once it said hello, and the slots it offers. */
export interface MetDonor {
  identity: string | null
  slots: number
}

/**
 * Has `submitter` look for donors (as it does while jobs wait) until the donors it met, with
 * slots to give, are `enough`.
 */
export async function meetDonors(
  submitter: Compute,
  enough: (met: MetDonor[]) => boolean,
  what: string,
): Promise<void> {
  const inside = submitter as unknown as {
    sessions: Set<MetDonor & { msg: unknown }>
    swarm: { join(topic: Buffer, mode: { server: boolean; client: boolean }): Promise<void> }
  }
  await inside.swarm.join(COMPUTE_TOPIC, { server: false, client: true })
  await waitFor(
    () => enough([...inside.sessions].filter((s) => s.identity && s.msg && s.slots > 0)),
    { timeoutMs: 60_000, what },
  )
}
