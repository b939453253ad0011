// The node's swarm joins topics on behalf of several parts (folders, the ledger, `spare ledger
// verify`), reference counted. Real Hyperswarm on a real HyperDHT testnet on 127.0.0.1.
import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import pino from 'pino'
import Corestore from 'corestore'
import HyperDHT from 'hyperdht'
import crypto from 'hypercore-crypto'
import createTestnet from 'hyperdht/testnet.js'
import { Swarm } from '../../main/engine/net/swarm.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

describe('Swarm topics', () => {
  // A topic first joined only to look it up (client) and then by a folder (server and client)
  // kept the first join's mode: the folder was never announced, so no peer that only looks it
  // up (a reader) could find this node.
  it('a later join asking to announce a topic announces it', async () => {
    const testnet = await createTestnet(3, { host: '127.0.0.1' })
    fx.defer(() => testnet.destroy())
    const opts = { bootstrap: testnet.bootstrap, host: '127.0.0.1', firewalled: false }
    const store = new Corestore(await fx.tmpDir())
    fx.defer(() => store.close())
    const keyPair = crypto.keyPair()
    const dht = new HyperDHT({ ...opts, keyPair })
    const swarm = new Swarm(dht, keyPair, store, pino({ level: 'silent' }))
    fx.defer(() => swarm.close())
    await swarm.swarm.listen()

    const topic = randomBytes(32)
    await swarm.join(topic, { server: false, client: true })
    await swarm.join(topic)

    const other = new HyperDHT(opts)
    fx.defer(() => other.destroy())
    const found: string[] = []
    for await (const reply of other.lookup(topic))
      for (const peer of reply.peers) found.push(peer.publicKey.toString('hex'))
    expect(found).toContain(keyPair.publicKey.toString('hex'))
  })
})
