// A dishonest donor for tests: Spare's own hosting code, except that once it has fetched a
// folder's blocks it drops them and never fetches again, while still holding the agreement, and
// it claims far more than it keeps in its receipts. An owner's audits must catch it and replace
// it, and the owner must refuse its receipts and count them against it.
//
// usage: node --import tsx test/helpers/lying-host.ts BOOTSTRAP DATA_DIR
import { promises as fs } from 'node:fs'
import Corestore from 'corestore'
import HyperDHT from 'hyperdht'
import pino from 'pino'
import { Hosting, parseTimers } from '../../main/engine/hosting/hosting.ts'
import { DonateLimitsSchema } from '../../main/engine/limits/governor.ts'

const [bootstrapArg, dataDir] = process.argv.slice(2)
if (!bootstrapArg || !dataDir) {
  process.stderr.write('usage: lying-host BOOTSTRAP DATA_DIR\n')
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
const dht = new HyperDHT({ bootstrap, host: '127.0.0.1', firewalled: false })
await dht.ready()
const hosting = new Hosting({
  store,
  dht,
  identity,
  log: pino({ level: 'warn' }, pino.destination(2)),
  dataDir,
  // Plenty of room: owners prefer it.
  limits: DonateLimitsSchema.parse({ diskBytes: 100e9 }),
  timers: parseTimers(process.env.SPARE_HOSTING_TIMERS),
  folders: () => [],
  memberTopics: () => [],
})

interface Internals {
  cores: Map<
    string,
    {
      core: {
        length: number
        contiguousLength: number
        clear(s: number, e: number): Promise<unknown>
      }
    }
  >
  pump: (...args: unknown[]) => void
  heldOf: (...args: unknown[]) => number
}
const inside = hosting as unknown as Internals
const realPump = inside.pump.bind(hosting)
let dropped = false
// Fetch once, then drop everything and stop fetching.
inside.pump = (...args: unknown[]) => {
  if (!dropped) realPump(...args)
}
hosting.on('changed', () => {
  void (async () => {
    const entries = [...inside.cores.values()]
    if (dropped || entries.length === 0) return
    if (!entries.every((e) => e.core.length > 0 && e.core.contiguousLength === e.core.length))
      return
    dropped = true
    for (const e of entries) await e.core.clear(0, e.core.length)
    // From now on every receipt it proposes claims 50 GB.
    inside.heldOf = () => 50e9
    process.stdout.write(JSON.stringify({ dropped: entries.length }) + '\n')
  })()
})
await hosting.open()
process.stdout.write(JSON.stringify({ identity: identity.publicKey.toString('hex') }) + '\n')

process.once('SIGTERM', () => {
  void (async () => {
    await hosting.close()
    await dht.destroy()
    await store.close()
    process.exit(0)
  })()
})
