// The node's one Hyperswarm: replicates the Corestore over every connection, joins and leaves
// folder topics, and keeps the peer bookkeeping the API reports.
import { EventEmitter } from 'node:events'
import Hyperswarm, { type Discovery, type SwarmConnection } from 'hyperswarm'
import type HyperDHT from 'hyperdht'
import Protomux from 'protomux'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import type { HypercorePeer } from 'hypercore'
import type { Logger } from '../logger.ts'
import { unbatched } from './unbatched.ts'
import { openMessageChannel, signHello, verifyHello } from './peer-channel.ts'

/** The node swarm's hello: each end proves its node identity on the connection. */
export const NODE_HELLO_PROTOCOL = 'spare-node/1'
export const NODE_HELLO_TAG = 'spare-node-hello-v1\0'

export interface PeerRecord {
  id: string
  connectedAt: Date
  conn: SwarmConnection
  /** The node identity (hex) the peer proved on this connection; null until then, or never. */
  identity: string | null
}

/** Bytes of Hypercore blocks sent to and received from each peer (by its public key, hex). */
export interface PeerTraffic {
  up: number
  down: number
}

export interface JoinMode {
  server: boolean
  client: boolean
}

export interface SwarmOptions {
  /** Replaces the default `store.replicate(conn)` (the hosting swarm throttles its streams). */
  replicate?: (conn: SwarmConnection) => void
  /**
   * The node's identity: proven to every peer in a hello (NODE_HELLO_PROTOCOL; with the default
   * replication only). A peer that proves the identity of another connection's peer is that
   * node started again (a fresh transport key each start): the older connection is dropped.
   */
  identity?: { publicKey: Buffer; secretKey: Buffer }
}

/** The hello: identity (32 bytes) and signature (64); a newer version may append fields. */
function decodeNodeHello(buf: Buffer): { identity: string; sig: string } {
  if (buf.length < 96) throw new Error('node hello too short')
  return {
    identity: buf.subarray(0, 32).toString('hex'),
    sig: buf.subarray(32, 96).toString('hex'),
  }
}

export class Swarm extends EventEmitter {
  swarm: Hyperswarm
  readonly peers = new Map<string, PeerRecord>()
  readonly traffic = new Map<string, PeerTraffic>()
  private readonly topics = new Map<
    string,
    { refs: number; discovery: Discovery | null; mode: JoinMode }
  >()
  private closed = false
  private paused = false

  constructor(
    dht: HyperDHT,
    keyPair: { publicKey: Buffer; secretKey: Buffer },
    private readonly store: Corestore,
    private readonly log: Logger,
    private readonly opts: SwarmOptions = {},
  ) {
    super()
    this.swarm = new Hyperswarm({ dht, keyPair })
    this.swarm.on('connection', (conn) => this.onConnection(conn))
  }

  /**
   * Moves to another DHT (a network-mode change): a new Hyperswarm on `dht`, every connection of
   * the old one dropped, every topic joined again (unless paused). The old DHT is destroyed.
   */
  async switchTo(dht: HyperDHT, keyPair: { publicKey: Buffer; secretKey: Buffer }): Promise<void> {
    if (this.closed) return
    const old = this.swarm
    this.swarm = new Hyperswarm({ dht, keyPair })
    this.swarm.on('connection', (conn) => this.onConnection(conn))
    for (const conn of old.connections) conn.destroy()
    await old.destroy()
    if (this.closed) return // close() destroyed the new swarm meanwhile
    await this.swarm.listen()
    for (const [k, entry] of this.topics) {
      entry.discovery = this.paused ? null : this.swarm.join(Buffer.from(k, 'hex'), entry.mode)
    }
    this.emit('peers')
  }

  private onConnection(conn: SwarmConnection): void {
    if (this.paused) {
      conn.destroy()
      return
    }
    const id = conn.remotePublicKey.toString('hex')
    this.log.debug({ peer: id.slice(0, 16) }, 'peer connected')
    const rec: PeerRecord = { id, connectedAt: new Date(), conn, identity: null }
    this.peers.set(id, rec)
    conn.on('error', (err: Error) =>
      this.log.debug({ peer: id.slice(0, 16), err: err.message }, 'connection error'),
    )
    conn.on('close', () => {
      const rec = this.peers.get(id)
      if (rec && rec.conn === conn) this.peers.delete(id)
      this.log.debug({ peer: id.slice(0, 16) }, 'peer disconnected')
      this.emit('peers')
    })
    if (this.opts.replicate) this.opts.replicate(conn)
    else {
      // The mux is made here, unbatched, before replication or any other channel on this
      // connection can send on it.
      const mux = unbatched(Protomux.from(conn))
      this.store.replicate(conn)
      if (this.opts.identity) this.openHello(mux, rec)
    }
    this.emit('connection', conn)
    this.emit('peers')
  }

  /**
   * The node hello on `rec`'s connection. A peer that sends none (an older node) stays counted
   * by its transport key. Newest wins: when a crashed node comes back, its old connection is
   * dead but only times out about 17 s later, and it was counted twice until then (Hyperswarm
   * dedupes only connections between the same two transport keys).
   */
  private openHello(mux: Protomux, rec: PeerRecord): void {
    const me = this.opts.identity!
    const tag = rec.id.slice(0, 16)
    const msg = openMessageChannel(mux, {
      protocol: NODE_HELLO_PROTOCOL,
      decode: decodeNodeHello,
      onopen: () => {
        const sig = Buffer.from(signHello(NODE_HELLO_TAG, rec.conn, me.secretKey), 'hex')
        msg?.send(Buffer.concat([me.publicKey, sig]))
      },
      onclose: () => {},
      onmessage: async (m) => {
        if (rec.identity !== null) return // one hello per connection
        if (!verifyHello(NODE_HELLO_TAG, rec.conn, m.identity, m.sig)) {
          this.log.debug({ peer: tag }, 'node hello with a bad signature')
          return
        }
        rec.identity = m.identity
        for (const other of [...this.peers.values()]) {
          if (other === rec || other.identity !== m.identity) continue
          this.log.info({ peer: tag }, 'peer reconnected; older connection dropped')
          this.peers.delete(other.id)
          other.conn.destroy()
        }
        this.emit('peers')
      },
      onbad: (reason) => this.log.debug({ peer: tag, reason }, 'bad node hello'),
      onfail: () => {},
    })
  }

  /**
   * Joins a topic (as server and client unless told). Joins are reference counted. A join that
   * asks for a role the topic's earlier joins did not (a folder announcing a topic something else
   * only looked up) widens the topic to it, until its last join leaves: the first join's mode used
   * to stay, and the folder was never announced. (Never narrowed: leave() does not say which
   * join leaves, and one role too many only costs a lookup or an announce.)
   */
  async join(topic: Buffer, mode: JoinMode = { server: true, client: true }): Promise<void> {
    if (this.closed) return
    const k = topic.toString('hex')
    const existing = this.topics.get(k)
    if (existing) {
      existing.refs++
      const wider = {
        server: existing.mode.server || mode.server,
        client: existing.mode.client || mode.client,
      }
      if (wider.server === existing.mode.server && wider.client === existing.mode.client) return
      existing.mode = wider
      await existing.discovery
        ?.refresh(wider)
        .catch((err: Error) => this.log.debug({ err: err.message }, 'refresh failed'))
      return
    }
    const entry = { refs: 1, discovery: null as Discovery | null, mode }
    this.topics.set(k, entry)
    if (this.paused) return
    entry.discovery = this.swarm.join(topic, mode)
    await entry.discovery.flushed()
  }

  /**
   * Pausing leaves every topic and drops every connection; resuming joins them again. One change
   * at a time, in the order asked: a pause still leaving topics when a resume came went on
   * leaving them (and dropped every connection) after the resume had joined them again.
   */
  setPaused(paused: boolean): Promise<void> {
    const run = this.pauseChange.then(() => this.applyPaused(paused))
    this.pauseChange = run.catch(() => {})
    return run
  }

  private pauseChange: Promise<void> = Promise.resolve()

  private async applyPaused(paused: boolean): Promise<void> {
    if (this.closed || paused === this.paused) return
    this.paused = paused
    if (paused) {
      for (const [k, entry] of this.topics) {
        entry.discovery = null
        await this.swarm.leave(Buffer.from(k, 'hex'))
      }
      for (const conn of this.swarm.connections) conn.destroy()
    } else {
      for (const [k, entry] of this.topics) {
        entry.discovery = this.swarm.join(Buffer.from(k, 'hex'), entry.mode)
      }
    }
  }

  /** Counts block traffic of a core (a folder's db and blobs cores) per peer. */
  countTraffic(core: Hypercore): void {
    const add = (peer: HypercorePeer, up: number, down: number): void => {
      const id = peer.remotePublicKey.toString('hex')
      const t = this.traffic.get(id) ?? { up: 0, down: 0 }
      t.up += up
      t.down += down
      this.traffic.set(id, t)
    }
    core.on('upload', (_index, byteLength, peer) => add(peer, byteLength, 0))
    core.on('download', (_index, byteLength, peer) => add(peer, 0, byteLength))
  }

  /** Re-announces and looks up every joined topic now (after the DHT changed shape). */
  refreshAll(): void {
    // Each with its own mode: a client-only join must not start announcing itself as a server.
    for (const { discovery, mode } of this.topics.values()) {
      discovery
        ?.refresh(mode)
        .catch((err: Error) => this.log.debug({ err: err.message }, 'refresh failed'))
    }
  }

  async leave(topic: Buffer): Promise<void> {
    if (this.closed) return
    const k = topic.toString('hex')
    const t = this.topics.get(k)
    if (!t) return
    if (--t.refs > 0) return
    this.topics.delete(k)
    if (t.discovery) await this.swarm.leave(topic)
  }

  /** Resolves when pending discovery lookups are done (used while waiting for peers). */
  flush(): Promise<void> {
    return this.swarm.flush()
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.swarm.destroy()
  }
}
