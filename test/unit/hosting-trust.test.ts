// What a host or a stranger can make an owner believe, with real nodes on a local testnet: a
// donor (SpareNode) keeping an owner's (SpareNode) two-way folder. The dishonest side is Spare's
// own hosting code with one message changed (the status a cheating host sends, or a request and
// a release a stranger sends): fakes only at that edge.
//   - A host that keeps one block and says so must not pass the owner's audits, stay one of its
//     hosts, or have storage receipts countersigned.
//   - A peer that is not a member of a folder must not take it over at a host (a refused request
//     changes nothing) nor make the host drop it with a release.
//   - Two writers of one folder that use the same hosts must not take the folder from each other
//     at those hosts (each one's audits are answered, nobody is banned).
import { describe, expect, it, vi } from 'vitest'
import { randomBytes } from 'node:crypto'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import crypto from 'hypercore-crypto'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import type { SpareNode } from '../../main/engine/node.ts'
import {
  HOSTING_TOPIC,
  folderHostingTopic,
  type Hosting,
} from '../../main/engine/hosting/hosting.ts'
import type { Message } from '../../main/engine/hosting/messages.ts'
import type { FolderSummary } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import { useFixtures, useHostingTimers, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

// Short periods so a test sees several audits and receipts (defaults: 10 min and 1 h).
useHostingTimers('audit=700,timeout=2000,receipt=1200,gone=600000,window=100,stall=300')

interface SessionView {
  identity: string | null
  msg: unknown
}

/** The parts of a node's Hosting this test drives or changes (private to the class). */
interface HostingInside {
  sessions: Set<SessionView>
  send(s: SessionView, m: Message): void
  pump: (...args: unknown[]) => void
  tellOwner: (...args: unknown[]) => void
  cores: Map<string, { core: Hypercore }>
  state: { hosted: Array<{ folder: string; owner: string; cores: string[] }> }
  swarm: { join(topic: Buffer, mode: { server: boolean; client: boolean }): Promise<void> }
  ledger: { core: Hypercore }
}

function hostingOf(node: SpareNode): HostingInside {
  const h = (node as unknown as { hosting: Hosting | null }).hosting
  if (!h) throw new Error('the node has no hosting open')
  return h as unknown as HostingInside
}

type Receipt = { body: { kind: string; host: string; bytes: number; from: number } }

function hostsOf(node: SpareNode, id: string): NonNullable<FolderSummary['hosts']> {
  return node.listFolders().find((f) => f.id === id)?.hosts ?? []
}

async function donor(): Promise<SpareNode> {
  const d = await fx.readyNode()
  await d.setDonateLimits({ diskBytes: 1e9 })
  return d
}

/** Waits until `host` holds the folder `id` of `owner` and has passed one of its audits. */
async function hostingIt(host: SpareNode, owner: SpareNode, id: string): Promise<void> {
  await waitFor(
    async () => {
      const held = (await host.donateStatus()).hosting.find((x) => x.folder === id)
      return held && held.bytes >= SIZE && hostsOf(owner, id).some((x) => x.auditsPassed > 0)
    },
    60_000,
    'the host holding the folder and passing an audit',
  )
}

/** A folder with one file of `size` random bytes, shared by `owner`. */
async function sharedFolder(
  owner: SpareNode,
  size: number,
): Promise<{ id: string; invite: string; src: string }> {
  const src = path.join(await fx.tmpDir('spare-trust-src-'), 'src')
  await fs.mkdir(src, { recursive: true })
  await fs.writeFile(path.join(src, 'data.bin'), randomBytes(size))
  const { folder, invite } = await owner.share(src)
  return { id: folder.id, invite, src }
}

const SIZE = 2 * 1024 * 1024

describe('hosting trust', () => {
  it('a host that keeps one block fails its audits and is not credited for the folder', async () => {
    await fx.testnet()
    const h = await donor()
    const a = await fx.readyNode()
    const { id } = await sharedFolder(a, SIZE)
    const hostId = h.nodeId
    await hostingIt(h, a, id)
    // The cheat: keep block 0 of the largest core, drop everything else, fetch nothing more, and
    // say (truthfully) that block 0 of that core is all it has, while claiming the full size.
    const inside = hostingOf(h)
    inside.pump = () => {}
    const entries = [...inside.cores.entries()].sort((x, y) => y[1].core.length - x[1].core.length)
    const [kept] = entries[0]!
    for (const [key, { core }] of entries) {
      const from = key === kept ? 1 : 0
      if (core.length > from) await core.clear(from, core.length)
    }
    const realSend = inside.send.bind(inside)
    inside.send = (s, m) => {
      if (m.t === 'status' && !m.evicted) {
        m = { ...m, have: { [kept]: 1 }, blocks: { [kept]: 1 }, bytes: SIZE * 2 }
      }
      realSend(s, m)
    }
    for (const hosted of inside.state.hosted) inside.tellOwner(hosted, null)
    const cheatAt = Date.now()

    // The owner must stop counting it as a host (two failed audits: released and banned).
    await waitFor(
      () => !hostsOf(a, id).some((x) => x.host === hostId),
      20_000,
      'the owner to drop a host that keeps one block',
    ).catch((err: Error) => {
      const r = hostsOf(a, id).find((x) => x.host === hostId)
      throw new Error(`${err.message}: it still counts, ${JSON.stringify(r)}`)
    })
    // And it countersigned no storage receipt for a period after the cheat.
    const recent = a.ledger().recent as Receipt[]
    const late = recent.filter(
      (r) => r.body.kind === 'storage' && r.body.host === hostId && r.body.from >= cheatAt,
    )
    expect(late).toEqual([])
  }, 120_000)

  // A miss past what a host says it holds is forgiven once it "holds what was agreed" (the folder
  // outgrew the agreement): that was judged by the blocks it says it holds in all, a count with
  // no position. A host that kept nothing, refused to take more and said it held every block was
  // forgiven every miss once the folder grew a little: it stayed a host for good.
  it('a host that says it holds every block but keeps none fails its audits once the folder grows', async () => {
    await fx.testnet()
    const h = await donor()
    const a = await fx.readyNode()
    const { id, src } = await sharedFolder(a, SIZE)
    const hostId = h.nodeId
    await hostingIt(h, a, id)
    const inside = hostingOf(h)
    inside.pump = () => {}
    for (const { core } of inside.cores.values()) {
      if (core.length > 0) await core.clear(0, core.length)
    }
    const realSend = inside.send.bind(inside)
    inside.send = (s, m) => {
      if (m.t === 'status' && !m.evicted) {
        const all = Object.fromEntries([...inside.cores.keys()].map((k) => [k, 1e9]))
        m = { ...m, have: {}, blocks: all, bytes: SIZE * 4 }
      }
      if (m.t === 'reply') m = { ...m, ok: false, reason: 'this host is full' }
      realSend(s, m)
    }
    const tell = setInterval(() => {
      for (const hosted of inside.state.hosted) inside.tellOwner(hosted, null)
    }, 300)
    fx.defer(() => clearInterval(tell))
    await fs.writeFile(path.join(src, 'more.bin'), randomBytes(2 * SIZE))
    await waitFor(
      () => !hostsOf(a, id).some((x) => x.host === hostId),
      40_000,
      'the owner to drop a host that keeps nothing',
    ).catch((err: Error) => {
      const r = hostsOf(a, id).find((x) => x.host === hostId)
      throw new Error(`${err.message}: it still counts, ${JSON.stringify(r)}`)
    })
  }, 120_000)

  it('a stranger cannot take a folder over at its host, nor make the host drop it', async () => {
    await fx.testnet()
    const h = await donor()
    const a = await fx.readyNode()
    const { id } = await sharedFolder(a, SIZE)
    await hostingIt(h, a, id)
    const hostState = hostingOf(h).state.hosted.find((x) => x.folder === id)!
    const topic = (() => {
      // The folder's topic is the root log's discovery key; the stranger learned it somewhere
      // (another host of the folder learns it from the owner's request).
      const root = hostState.cores.find((k) => folderIdOfKey(k) === id) as string
      return crypto.discoveryKey(Buffer.from(root, 'hex'))
    })()

    // The stranger: a node that is no member of the folder, on the folder's hosting topic.
    const m = await fx.readyNode()
    const mInside = hostingOf(m)
    await mInside.swarm.join(folderHostingTopic(topic), { server: false, client: true })
    const toHost = await waitFor(
      () => [...mInside.sessions].find((s) => s.identity === h.nodeId && s.msg),
      30_000,
      'the stranger connected to the host',
    )
    const fake = randomBytes(32).toString('hex')
    const request = (bytes: number, n: number): void =>
      mInside.send(toHost, {
        t: 'request',
        id: 1_000_000 + n,
        folder: id,
        topic: topic.toString('hex'),
        cores: [fake],
        bytes,
      })
    const ownersOf = async (): Promise<string[]> =>
      (await h.donateStatus()).hosting.filter((x) => x.folder === id).map((x) => x.owner)

    // A request the host refuses (it cannot take 1 PB) changes nothing.
    request(1e15, 1)
    await new Promise((r) => setTimeout(r, 1500))
    expect(await ownersOf()).toEqual([a.nodeId])

    // One it accepts is the stranger's own: the owner's agreement is untouched.
    request(1024, 2)
    await new Promise((r) => setTimeout(r, 1500))
    expect((await ownersOf()).sort()).toEqual([a.nodeId, m.nodeId].sort())

    // Its release drops only what it asked for: the folder's cores stay.
    mInside.send(toHost, { t: 'release', folder: id })
    await new Promise((r) => setTimeout(r, 1500))
    expect(await ownersOf()).toEqual([a.nodeId])
    const held = (await h.donateStatus()).hosting.find((x) => x.folder === id)
    expect(held?.bytes ?? 0).toBeGreaterThanOrEqual(SIZE)

    // And the owner's audits are still answered.
    const before = hostsOf(a, id).find((x) => x.host === h.nodeId)?.auditsPassed ?? 0
    await waitFor(
      () => (hostsOf(a, id).find((x) => x.host === h.nodeId)?.auditsPassed ?? 0) > before + 1,
      15_000,
      "the owner's audits passing after the stranger's release",
    )
    expect(hostsOf(a, id).find((x) => x.host === h.nodeId)?.lastAudit?.ok).toBe(true)
  }, 120_000)

  it('two writers using the same hosts do not take the folder from each other', async () => {
    await fx.testnet()
    const [h1, h2] = [await donor(), await donor()]
    const a = await fx.readyNode()
    const { id, invite } = await sharedFolder(a, SIZE)
    const hosted = (n: SpareNode): boolean => {
      const hosts = hostsOf(n, id)
      return hosts.length === 2 && hosts.every((x) => x.auditsPassed > 0)
    }
    await waitFor(hosted.bind(null, a), 60_000, "the first writer's two hosts passing audits")
    const b = await fx.readyNode()
    const dst = path.join(await fx.tmpDir('spare-trust-dst-'), 'dst')
    await b.join(invite, dst)
    await waitFor(
      () => {
        const f = b.getFolder(id)
        return !f.waitingForAccept && hosted(b)
      },
      90_000,
      'the second writer accepted and its two hosts passing audits',
    )
    // Several audit periods later: both writers still have both hosts, each passing.
    const passedA = hostsOf(a, id).map((x) => x.auditsPassed)
    await new Promise((r) => setTimeout(r, 6000))
    for (const n of [a, b]) {
      const hosts = hostsOf(n, id)
      expect(hosts.map((x) => x.host).sort()).toEqual([h1.nodeId, h2.nodeId].sort())
      for (const x of hosts) expect(x.lastAudit?.ok).toBe(true)
    }
    const afterA = hostsOf(a, id).map((x) => x.auditsPassed)
    expect(afterA.every((n, i) => n > (passedA[i] ?? 0))).toBe(true)
  }, 180_000)

  // A peer asks a donor to host a "folder" whose cores are the donor's own (its ledger, whose key
  // its hello gives away; or its own folders' logs), then releases it: dropping a hosted core
  // clears and purges it, and the donor's own core went with it.
  it("a request naming the host's own cores is refused, and its release clears none of them", async () => {
    await fx.testnet()
    const h = await donor()
    const m = await fx.readyNode()
    const mInside = hostingOf(m)
    await mInside.swarm.join(HOSTING_TOPIC, { server: false, client: true })
    const toHost = await waitFor(
      () => [...mInside.sessions].find((s) => s.identity === h.nodeId && s.msg),
      30_000,
      'the peer connected to the donor',
    )
    const ledgerCore = hostingOf(h).ledger.core
    expect(ledgerCore.length).toBeGreaterThan(0)
    const topic = randomBytes(32)
    const folder = topic.toString('hex').slice(0, 16)
    mInside.send(toHost, {
      t: 'request',
      id: 1,
      folder,
      topic: topic.toString('hex'),
      cores: [ledgerCore.key.toString('hex')],
      bytes: 1024,
    })
    await new Promise((r) => setTimeout(r, 1500))
    expect((await h.donateStatus()).hosting.map((x) => x.folder)).not.toContain(folder)
    mInside.send(toHost, { t: 'release', folder })
    await new Promise((r) => setTimeout(r, 1500))
    const ledger = hostingOf(h).ledger.core
    expect(ledger.length).toBeGreaterThan(0)
    expect(await ledger.has(0)).toBe(true)
    expect(h.ledger().key).toBe(ledgerCore.key.toString('hex'))
  }, 60_000)

  // An agreement may pass what was agreed by one batch of blocks (the check runs before each
  // batch). Each core checked the agreement on its own, with what was held before any batch in
  // flight came in: a request listing many cores, each fetched at once, passed it by a batch per
  // core, up to the host's whole budget (which then refused honest owners as full).
  it('a request for many cores gets at most one batch past what it agreed', async () => {
    await fx.testnet()
    const h = await donor()
    const m = await fx.readyNode()
    const mInside = hostingOf(m)
    await mInside.swarm.join(HOSTING_TOPIC, { server: false, client: true })
    const toHost = await waitFor(
      () => [...mInside.sessions].find((s) => s.identity === h.nodeId && s.msg),
      30_000,
      'the peer connected to the donor',
    )
    const store = (m as unknown as { store: Corestore }).store
    const keys: string[] = []
    for (let i = 0; i < 8; i++) {
      const core = store.get({ name: `many-cores-${i}` })
      await core.ready()
      for (let b = 0; b < 32; b++) await core.append(randomBytes(64 * 1024))
      keys.push(core.key.toString('hex'))
    }
    const topic = randomBytes(32)
    const folder = topic.toString('hex').slice(0, 16)
    mInside.send(toHost, {
      t: 'request',
      id: 1,
      folder,
      topic: topic.toString('hex'),
      cores: keys,
      bytes: 1024,
    })
    const held = async (): Promise<number> =>
      (await h.donateStatus()).hosting.find((x) => x.folder === folder)?.bytes ?? 0
    await waitFor(async () => (await held()) > 0, 30_000, 'the donor fetching')
    await new Promise((r) => setTimeout(r, 4000))
    // One batch: 16 blocks of 64 KiB.
    expect(await held()).toBeLessThanOrEqual(16 * 64 * 1024 + 1024)
  }, 60_000)

  // Two folders at a host may share cores (anyone may ask for a made-up folder listing another's
  // cores). Eviction planned by each folder's bytes, its shared cores counted as freed, but a
  // dropped folder's cores that another agreement covers stay: the first folder evicted freed
  // nothing, eviction stopped, and the host stayed over its new limit.
  it('evicting under a lower limit frees the disk even when two folders share cores', async () => {
    await fx.testnet()
    const h = await donor()
    const a = await fx.readyNode()
    const { id } = await sharedFolder(a, SIZE)
    await hostingIt(h, a, id)
    const cores = hostingOf(h).state.hosted.find((x) => x.folder === id)!.cores
    const m = await fx.readyNode()
    const mInside = hostingOf(m)
    await mInside.swarm.join(HOSTING_TOPIC, { server: false, client: true })
    const toHost = await waitFor(
      () => [...mInside.sessions].find((s) => s.identity === h.nodeId && s.msg),
      30_000,
      'the peer connected to the donor',
    )
    const topic = randomBytes(32)
    const other = topic.toString('hex').slice(0, 16)
    mInside.send(toHost, {
      t: 'request',
      id: 1,
      folder: other,
      topic: topic.toString('hex'),
      cores,
      bytes: 1024,
    })
    await waitFor(
      async () => (await h.donateStatus()).hosting.some((x) => x.folder === other),
      10_000,
      'the donor taking the second folder',
    )
    const limit = SIZE / 2
    const after = await h.setDonateLimits({ diskBytes: limit })
    expect(after.usedBytes).toBeLessThanOrEqual(limit)
  }, 90_000)

  // A donor's user joins a folder the donor hosts: the node's folder opens the same cores. When
  // the donor then stops hosting it (an eviction, the owner's release), dropping the hosted cores
  // cleared and purged them: the node's own copy went, and the purge closed its sessions too.
  it('a host that joined a folder it hosts keeps its copy when it stops hosting it', async () => {
    await fx.testnet()
    const h = await donor()
    const a = await fx.readyNode()
    const { id, invite } = await sharedFolder(a, SIZE)
    await hostingIt(h, a, id)
    const cores = hostingOf(h).state.hosted.find((x) => x.folder === id)!.cores
    const dst = path.join(await fx.tmpDir('spare-trust-join-'), 'dst')
    await h.join(invite, dst)
    await waitFor(
      async () => (await fs.stat(path.join(dst, 'data.bin')).catch(() => null))?.size === SIZE,
      60_000,
      'the donor synced the folder it hosts',
    )
    await a.close()
    await h.setDonateLimits({ diskBytes: 1 })
    expect((await h.donateStatus()).hosting.some((x) => x.folder === id)).toBe(false)
    const store = (h as unknown as { store: Corestore }).store
    let held = 0
    let blocks = 0
    for (const key of cores) {
      const core = store.get({ key: Buffer.from(key, 'hex') })
      await core.ready()
      blocks += core.length
      for (let i = 0; i < core.length; i++) if (await core.has(i)) held++
      await core.close()
    }
    expect(blocks).toBeGreaterThan(0)
    expect(held).toBe(blocks)
  }, 120_000)

  // Expired versions' blocks are cleared everywhere (the owner's sweep), leaving a gap at the
  // start of the owner's blobs core that no peer can fill. A host fetched in order and stopped
  // at the gap for good: it held none of what came after, failed the audits of those blocks,
  // and every host that replaced it stopped there too.
  // A batch counts against its agreement while it is fetched. A fetch that threw (the core closed
  // under it) left its batch counted for good: a few such batches and the folder read as at its
  // agreed size, and the host never fetched it (here: 4 batches of 1 MiB against 3.5 MiB agreed).
  it('a host whose fetches fail for a while still fetches the whole folder', async () => {
    await fx.testnet()
    const h = await donor()
    const a = await fx.readyNode()
    const { id } = await sharedFolder(a, SIZE)
    const inside = hostingOf(h)
    const proto = Object.getPrototypeOf(inside.ledger.core) as Hypercore
    const real = proto.download
    let thrown = 0
    vi.spyOn(proto, 'download').mockImplementation(function (this: Hypercore, ...args) {
      const hosted = [...inside.cores.values()].some((e) => e.core === this)
      if (hosted && thrown < 8) {
        thrown++
        throw new Error('SESSION_CLOSED: the core closed')
      }
      return real.apply(this, args)
    })
    try {
      await hostingIt(h, a, id)
    } finally {
      vi.restoreAllMocks()
    }
    expect(thrown).toBe(8)
  }, 120_000)

  it('a host keeps a folder whose expired versions left gaps, and passes its audits', async () => {
    await fx.testnet()
    const a = await fx.readyNode()
    const src = path.join(await fx.tmpDir('spare-trust-gap-'), 'src')
    await fs.mkdir(src, { recursive: true })
    await fs.writeFile(path.join(src, 'old.bin'), randomBytes(SIZE))
    const { folder } = await a.share(src)
    const id = folder.id
    const as = new SpareService(a)
    const idle = (): boolean => a.listFolders().find((f) => f.id === id)?.state === 'idle'
    await waitFor(idle, 30_000, 'the folder indexed')
    await fs.rm(path.join(src, 'old.bin'))
    await fs.writeFile(path.join(src, 'new.bin'), randomBytes(SIZE))
    await waitFor(
      () => a.listFolders().find((f) => f.id === id)?.files === 1 && idle(),
      30_000,
      'the change recorded',
    )
    await as.call('folders.configure', { id, versionsDays: 0 }) // old.bin's blocks go now
    await new Promise((r) => setTimeout(r, 1500))

    const h = await donor()
    await waitFor(
      async () => {
        const held = (await h.donateStatus()).hosting.find((x) => x.folder === id)
        return (
          !!held &&
          held.bytes >= SIZE &&
          (hostsOf(a, id).find((x) => x.host === h.nodeId)?.auditsPassed ?? 0) >= 4
        )
      },
      60_000,
      'the host to hold what is left of the folder and pass audits',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(hostsOf(a, id))}`)
    })
    const r = hostsOf(a, id).find((x) => x.host === h.nodeId)
    expect(r?.lastAudit?.ok).toBe(true)
  }, 120_000)
})

/** A folder's id from one of its logs' keys (the root log's discovery key names it). */
function folderIdOfKey(key: string): string {
  return crypto.discoveryKey(Buffer.from(key, 'hex')).toString('hex').slice(0, 16)
}
