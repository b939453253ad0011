// A Compute driven directly (no swarm), for tests of what it does with messages from a peer: a
// real governor, real job processes and a real data dir; the peer is a fake session whose sent
// messages are decoded into a list. Corestore, DHT and ledger are never touched on these paths.
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import crypto from 'hypercore-crypto'
import pino from 'pino'
import type Corestore from 'corestore'
import type HyperDHT from 'hyperdht'
import {
  Compute,
  jobId,
  type ComputeDeps,
  type ComputeTimers,
} from '../../main/engine/compute/compute.ts'
import {
  COMPUTE_PROTOCOL_VERSION,
  decodeMessage,
  type Message,
} from '../../main/engine/compute/messages.ts'
import type { Ledger } from '../../main/engine/ledger/ledger.ts'
import { CpuGovernor } from '../../main/engine/limits/cpu.ts'
import { DonateLimitsSchema, type DonateLimits } from '../../main/engine/limits/governor.ts'

/** What Compute keeps per connection, as far as these tests set it. */
export interface FakeSession {
  conn: unknown
  msg: { send(buf: Buffer): void } | null
  identity: string | null
  ledger: string | null
  slots: number
  waiting: Map<string, unknown>
  /** The compute protocol version the peer at the other end speaks. */
  version: number
}

/**
 * A Compute with its data dir (`compute/jobs` made), donating at 100% with no other limit; its
 * job processes are waited for, and the dir removed, by the teardown given to `defer`.
 */
export async function directCompute(
  prefix: string,
  defer: (fn: () => Promise<void>) => void,
  timers: Partial<ComputeTimers> = {},
  keep?: ComputeDeps['keep'],
): Promise<{ compute: Compute; governor: CpuGovernor; dataDir: string; limits: DonateLimits }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), prefix))
  await mkdir(path.join(dataDir, 'compute', 'jobs'), { recursive: true })
  const limits = DonateLimitsSchema.parse({
    cpuPercent: 100,
    suspendAboveOtherPercent: null,
    allowOnBattery: true,
  })
  const governor = new CpuGovernor({
    limits,
    probe: { name: 'test', idleMs: async () => null, onBattery: async () => false },
    tickMs: 0,
    probeMs: 0,
  })
  await governor.refresh()
  const compute = new Compute({
    store: {} as Corestore,
    dht: {} as HyperDHT,
    identity: crypto.keyPair(),
    log: pino({ level: 'silent' }),
    dataDir,
    ledger: {} as Ledger,
    governor,
    limits,
    timers,
    keep,
  })
  const live = (
    compute as unknown as { live: Map<string, { proc: { done: Promise<unknown> } | null }> }
  ).live
  defer(async () => {
    for (const r of live.values()) await r.proc?.done
    governor.destroy()
    await rm(dataDir, { recursive: true, force: true })
  })
  return { compute, governor, dataDir, limits }
}

/** A peer's session whose messages from Compute land, decoded, in `sent`. */
export function fakeSession(sent: Message[], slots = 0): FakeSession {
  return {
    conn: null,
    msg: { send: (buf) => sent.push(decodeMessage(buf)) },
    identity: crypto.keyPair().publicKey.toString('hex'),
    ledger: null,
    slots,
    waiting: new Map(),
    version: COMPUTE_PROTOCOL_VERSION,
  }
}

/** A job message for `module` and `input`, with a fresh nonce and a minute of wall time. */
export function jobMessage(module: Buffer, input: Buffer): Extract<Message, { t: 'job' }> {
  const nonce = crypto.randomBytes(16).toString('hex')
  return {
    t: 'job',
    id: jobId(module, input, nonce),
    nonce,
    module: module.toString('base64'),
    input: input.toString('base64'),
    wallMs: 60_000,
  }
}
