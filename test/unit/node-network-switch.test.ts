// Live network-mode changes (`spare network MODE`) racing each other and close(): real nodes on
// real HyperDHT testnets on 127.0.0.1.
import { describe, expect, it, vi } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import type HyperDHT from 'hyperdht'
import type { SpareNode } from '../../main/engine/node.ts'
import { encodeInvite } from '../../main/engine/folders/invite.ts'
import type { OpenNetwork } from '../../main/engine/net/network.ts'
import type { Swarm } from '../../main/engine/net/swarm.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

interface Insides {
  net: OpenNetwork
  swarm: Swarm
  hosting: { swarm: Swarm } | null
  compute: { swarm: Swarm } | null
}

function insides(node: SpareNode): Insides {
  return node as unknown as Insides
}

/** Every DHT the node's swarms use (its own, the hosting one, the compute one). */
function swarmDhts(node: SpareNode): HyperDHT[] {
  const n = insides(node)
  return [n.swarm, n.hosting?.swarm, n.compute?.swarm]
    .filter((s): s is Swarm => !!s)
    .map((s) => s.swarm.dht)
}

async function savedNetwork(node: SpareNode): Promise<string> {
  const text = await fs.readFile(path.join(node.dataDir, 'settings.json'), 'utf8')
  return (JSON.parse(text) as { network: string }).network
}

/** A node on `network` whose `local` mode uses a free port of its own (not the shared 49737). */
async function nodeWithLocalPort(network: string, port: number): Promise<SpareNode> {
  const dataDir = path.join(await fx.tmpDir('spare-unit-data-'), 'data')
  await fs.mkdir(dataDir, { recursive: true })
  const settings = { version: 1, network, localBootstrapPort: port }
  await fs.writeFile(path.join(dataDir, 'settings.json'), JSON.stringify(settings))
  return fx.readyNode({ dataDir, network })
}

/**
 * A UDP port on 127.0.0.1 held by a socket that never answers: a `local` network on it opens
 * slowly (its DHT waits for a bootstrap node that is silent), as when the bootstrap host hangs.
 */
async function silentPort(): Promise<number> {
  const sock = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve))
  fx.defer(() => new Promise<void>((resolve) => sock.close(() => resolve())))
  return sock.address().port
}

describe('SpareNode.setNetwork', () => {
  // `local` opens its network in several steps (the bootstrap port, the DHT's bind); a custom list
  // in one. The change asked for last must win, and no swarm may stay on a DHT that was closed.
  it('two changes at once end on the last one, every swarm on one live DHT', async () => {
    // Testnets first: teardowns run in reverse, so the node closes before they go.
    const a = await fx.testnet()
    const b = await fx.testnet()
    const node = await nodeWithLocalPort(a, await silentPort())
    const first = insides(node).net
    await Promise.all([node.setNetwork('local'), node.setNetwork(b)])
    const net = insides(node).net
    expect(node.status().network.bootstrap.join(',')).toBe(b)
    expect(await savedNetwork(node)).toBe(b)
    expect(net.dht.destroyed).toBe(false)
    for (const dht of swarmDhts(node)) expect(dht).toBe(net.dht)
    expect(first.dht.destroyed).toBe(true)
  }, 60_000)

  it('close() during a change leaves no DHT open', async () => {
    const a = await fx.testnet()
    const node = await nodeWithLocalPort(a, await silentPort())
    const first = insides(node).net
    const changing = node.setNetwork('local').catch(() => null)
    const closing = node.close()
    await Promise.all([changing, closing])
    expect(first.dht.destroyed).toBe(true)
    expect(insides(node).net.dht.destroyed).toBe(true)
    for (const dht of swarmDhts(node)) expect(dht.destroyed).toBe(true)
  })

  // A local bootstrap takeover (the DHT changed shape) re-announced only the node's own swarm:
  // the compute and hosting swarms, on the same DHT, found no donors, submitters or hosts until
  // Hyperswarm's own refresh 10 minutes later. Before and after a network change.
  it('a DHT that changed shape re-announces the compute and hosting topics too', async () => {
    const a = await fx.testnet()
    const b = await fx.testnet()
    const node = await fx.readyNode({ network: a })
    const compute = insides(node).compute!.swarm
    const hosting = insides(node).hosting!.swarm
    const refresh = vi.spyOn(compute, 'refreshAll')
    const hostingRefresh = vi.spyOn(hosting, 'refreshAll')
    insides(node).net.onTopologyChange?.()
    expect(refresh).toHaveBeenCalledTimes(1)
    expect(hostingRefresh).toHaveBeenCalledTimes(1)
    await node.setNetwork(b)
    insides(node).net.onTopologyChange?.()
    expect(refresh).toHaveBeenCalledTimes(2)
    expect(hostingRefresh).toHaveBeenCalledTimes(2)
  }, 60_000)

  // Folders with no peers look again every 5 s on loopback, every 2 minutes elsewhere. The pace
  // was chosen once at start: a node switched from a loopback network to a real one kept
  // re-announcing every 5 s on it. 192.0.2.1 is TEST-NET-1 (never routed; the test runs offline).
  it('re-announces lonely folders at the pace of the network it switched to', async () => {
    const a = await fx.testnet()
    const node = await fx.readyNode({ network: a })
    const dir = await fx.tmpDir()
    const invite = encodeInvite({
      key: randomBytes(32),
      encryptionKey: randomBytes(32),
      name: 'Nobody',
      sync: false,
      writer: false,
      seed: null,
    })
    await node.join(invite, path.join(dir, 'lonely'))
    // Resolves once every swarm listens on the new DHT: about 18 s, its bootstrap never answers.
    await node.setNetwork('192.0.2.1:49737')
    const refresh = vi.spyOn(insides(node).swarm, 'refreshAll')
    await new Promise((r) => setTimeout(r, 6000))
    expect(refresh).not.toHaveBeenCalled()
  }, 60_000)
})
