// A dishonest donor for tests: Spare's own hosting code, with one of two lies.
//   drop (default): once it has fetched a folder's blocks it drops them and never fetches again,
//     while still holding the agreement, and it claims far more than it keeps in its storage
//     receipts. An owner's audits must catch it and replace it, and the owner must refuse its
//     receipts and count them against it.
//   overclaim-served: it keeps and serves the folder honestly (its storage receipts are true),
//     but every served receipt it proposes claims ten times what it served plus 20 MB, and it
//     proposes one to every connected peer each receipt period even when it served nothing. A
//     member must refuse them and count them against it.
//
// usage: node --import tsx test/helpers/lying-host.ts BOOTSTRAP DATA_DIR [drop|overclaim-served]
import pino from 'pino'
import { Hosting, parseTimers } from '../../main/engine/hosting/hosting.ts'
import { DonateLimitsSchema } from '../../main/engine/limits/governor.ts'
import { openPeer } from './child-peer.ts'

const [bootstrapArg, dataDir, modeArg = 'drop'] = process.argv.slice(2)
if (!bootstrapArg || !dataDir || (modeArg !== 'drop' && modeArg !== 'overclaim-served')) {
  process.stderr.write('usage: lying-host BOOTSTRAP DATA_DIR [drop|overclaim-served]\n')
  process.exit(2)
}
const { store, identity, dht } = await openPeer(bootstrapArg, dataDir)
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

type Claim = { folder: string; bytes: number; from: number }

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
  servedClaims: (s: { identity: string | null }, now: number) => Claim[]
  state: { hosted: Array<{ folder: string; auditsAnswered: number }> }
  timers: { receiptMs: number }
  proposeReceipts: () => Promise<void>
}
const inside = hosting as unknown as Internals
const realPump = inside.pump.bind(hosting)
let dropped = false
const realProposeReceipts = inside.proposeReceipts.bind(hosting)
if (modeArg === 'drop') {
  // Receipts are due soon after it takes a folder, so its lie is told before audits replace it;
  // it proposes none before it drops (every receipt it proposes is a lie).
  inside.timers.receiptMs = 300
  inside.proposeReceipts = () => (dropped ? realProposeReceipts() : Promise.resolve())
}
if (modeArg === 'overclaim-served') {
  const realClaims = inside.servedClaims.bind(hosting)
  const lastLie = new WeakMap<object, number>()
  inside.servedClaims = (s, now) => {
    const real = realClaims(s, now)
    const lies = real.map((c) => ({ ...c, bytes: c.bytes * 10 + 20e6 }))
    if (lies.length === 0 && s.identity && now - (lastLie.get(s) ?? 0) >= inside.timers.receiptMs) {
      // Served nothing to this peer: claim 20 MB of every folder it keeps anyway.
      for (const h of inside.state.hosted)
        lies.push({ folder: h.folder, bytes: 20e6, from: now - 1000 })
    }
    if (lies.length) {
      lastLie.set(s, now)
      process.stdout.write(JSON.stringify({ overclaimed: lies.length }) + '\n')
    }
    return lies
  }
}
// drop: fetch once, then drop everything and stop fetching.
inside.pump = (...args: unknown[]) => {
  if (!dropped) realPump(...args)
}
hosting.on('changed', () => {
  if (modeArg !== 'drop') return
  void (async () => {
    const entries = [...inside.cores.values()]
    if (dropped || entries.length === 0) return
    if (!entries.every((e) => e.core.length > 0 && e.core.contiguousLength === e.core.length))
      return
    dropped = true
    for (const e of entries) await e.core.clear(0, e.core.length)
    // From now on every receipt it proposes claims 50 GB; it proposes one at once (before its
    // owner's audits replace it), and no earlier than one receipt period after its last one.
    inside.heldOf = () => 50e9
    // An honest host proposes a storage receipt only after a passed audit: it claims one.
    for (const h of inside.state.hosted) h.auditsAnswered = Math.max(1, h.auditsAnswered)
    process.stdout.write(JSON.stringify({ dropped: entries.length }) + '\n')
    setTimeout(() => void realProposeReceipts().catch(() => {}), inside.timers.receiptMs + 50)
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
