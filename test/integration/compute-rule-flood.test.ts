// A peer that floods a donor with messages that decode but break the rules (here: its hello,
// again and again). Each used to be a strike, saved to the state file, and a warning in the log:
// as many as it cared to send. Now one connection gets MAX_RULE_BREAKS of them before its compute
// channel closes, and at most one log line a second. Real parts: a local testnet, a real donor,
// a peer that speaks the protocol by hand over a real Hyperswarm connection.
import { describe, expect, it } from 'vitest'
import { Writable } from 'node:stream'
import HyperDHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import Protomux from 'protomux'
import crypto from 'hypercore-crypto'
import pino from 'pino'
import { COMPUTE_TOPIC } from '../../main/engine/compute/compute.ts'
import {
  COMPUTE_HELLO_TAG,
  COMPUTE_PROTOCOL,
  COMPUTE_PROTOCOL_VERSION,
  decodeMessage,
  encodeMessage,
} from '../../main/engine/compute/messages.ts'
import {
  MAX_RULE_BREAKS,
  openMessageChannel,
  signHello,
} from '../../main/engine/net/peer-channel.ts'
import { waitFor } from '../helpers/daemon.ts'
import { useLocalTestnet } from '../helpers/testnet-hook.ts'
import { bootstrapOf } from '../helpers/child-peer.ts'
import { computeNode } from '../helpers/compute-node.ts'

const t = useLocalTestnet()

const FLOOD = 200

describe('a peer flooding a donor with rule breaks', () => {
  it('costs at most MAX_RULE_BREAKS strikes and a line a second, then its channel', async () => {
    const lines: Array<{ msg: string; leftOut?: number }> = []
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l))
        done()
      },
    })
    const { compute } = await computeNode(
      t.cleanup,
      t.network,
      { cpuPercent: 100, cpuCores: 2, suspendAboveOtherPercent: null, allowOnBattery: true },
      undefined,
      pino({ level: 'warn' }, sink),
    )
    await (compute as unknown as { swarm: { flush(): Promise<void> } }).swarm.flush()

    const me = crypto.keyPair()
    const identity = me.publicKey.toString('hex')
    const dht = new HyperDHT({
      bootstrap: bootstrapOf(t.network),
      host: '127.0.0.1',
      firewalled: false,
    })
    const swarm = new Hyperswarm({ dht })
    t.cleanup.add(async () => {
      await swarm.destroy()
      await dht.destroy()
    })
    let closed = false
    swarm.on('connection', (conn) => {
      conn.on('error', () => {})
      const msg = openMessageChannel(Protomux.from(conn), {
        protocol: COMPUTE_PROTOCOL,
        version: COMPUTE_PROTOCOL_VERSION,
        decode: decodeMessage,
        onopen: () => {
          const hello = encodeMessage({
            t: 'hello',
            identity,
            ledger: crypto.randomBytes(32).toString('hex'),
            slots: 0,
            sig: signHello(COMPUTE_HELLO_TAG, conn, me.secretKey),
          })
          // One hello is right; every one after it breaks the rules.
          for (let i = 0; i < FLOOD; i++) msg?.send(hello)
        },
        onclose: () => (closed = true),
        onmessage: async () => {},
        onbad: () => {},
        onfail: () => {},
      })
    })
    swarm.join(COMPUTE_TOPIC, { server: false, client: true })

    await waitFor(() => closed, { timeoutMs: 30_000, what: 'the compute channel closed' })
    await waitFor(() => (compute.strikes()[identity] ?? 0) >= MAX_RULE_BREAKS, {
      timeoutMs: 5000,
      what: 'the strikes',
    })
    await new Promise((r) => setTimeout(r, 500))
    expect(compute.strikes()[identity]).toBe(MAX_RULE_BREAKS)
    const misbehaved = lines.filter((l) => l.msg === 'peer misbehaved')
    // The flood is over in well under a few seconds: a line a second at most.
    expect(misbehaved.length).toBeGreaterThanOrEqual(1)
    expect(misbehaved.length).toBeLessThanOrEqual(3)
    const last = lines.find((l) => l.msg.includes('channel closed'))
    expect(last?.leftOut).toBe(MAX_RULE_BREAKS - misbehaved.length)
  }, 60_000)
})
