// The framed per-peer channels (hosting, compute): what a peer on another version of the protocol
// sends. Real Protomux muxes over a real encrypted stream pair (Hyperswarm's secret-stream).
import { describe, expect, it } from 'vitest'
import { createRequire } from 'node:module'
import Protomux from 'protomux'
import type { ProtomuxEncoding } from 'protomux'
import {
  FIRST_PROTOCOL_VERSION,
  MAX_BAD_MESSAGES,
  openMessageChannel,
  type MessageChannelOptions,
} from '../../main/engine/net/peer-channel.ts'

interface SecretStream {
  rawStream: NodeJS.ReadWriteStream
  destroy(): void
  on(event: 'close' | 'error', fn: (...args: unknown[]) => void): void
}
const SecretStream = createRequire(import.meta.url)('@hyperswarm/secret-stream') as new (
  isInitiator: boolean,
) => SecretStream

const PROTOCOL = 'spare-test/1'

/** Two ends of one encrypted connection, each with its mux. */
function pair(): { a: Protomux; b: Protomux; closed: () => boolean; end: () => void } {
  const sa = new SecretStream(true)
  const sb = new SecretStream(false)
  sa.rawStream.pipe(sb.rawStream).pipe(sa.rawStream)
  let closed = false
  for (const s of [sa, sb]) {
    s.on('error', () => {})
    s.on('close', () => (closed = true))
  }
  return {
    a: Protomux.from(sa),
    b: Protomux.from(sb),
    closed: () => closed,
    end: () => {
      sa.destroy()
      sb.destroy()
    },
  }
}

interface Msg {
  t: 'ping'
  n: number
}

/** This test protocol's version 1 knows one message type, ping. */
function decode(buf: Buffer): Msg {
  const raw = JSON.parse(buf.toString('utf8')) as { t?: unknown; n?: unknown }
  if (raw.t !== 'ping' || typeof raw.n !== 'number')
    throw new Error(`unknown type ${String(raw.t)}`)
  return { t: 'ping', n: raw.n }
}

const enc = (m: object): Buffer => Buffer.from(JSON.stringify(m))

/** A channel end on `mux` whose handlers do nothing unless `opts` gives them. */
function quietEnd(mux: Protomux, opts: Partial<MessageChannelOptions<Msg>> = {}) {
  return openMessageChannel<Msg>(mux, {
    protocol: PROTOCOL,
    decode,
    onopen: () => {},
    onclose: () => {},
    onmessage: async () => {},
    onbad: () => {},
    onfail: () => {},
    ...opts,
  })
}

/** The receiving end on version 1: what it handled, refused as bad, and ignored. */
function receiver(mux: Protomux) {
  const got: number[] = []
  const bad: string[] = []
  const newer: Array<{ reason: string; v: number }> = []
  let onGot: (() => void) | null = null
  let closed!: () => void
  const whenClosed = new Promise<void>((resolve) => (closed = resolve))
  openMessageChannel<Msg>(mux, {
    protocol: PROTOCOL,
    decode,
    onopen: () => {},
    onclose: () => closed(),
    onmessage: async (m) => {
      got.push(m.n)
      onGot?.()
    },
    onbad: (reason) => bad.push(reason),
    onnewer: (reason, v) => newer.push({ reason, v }),
    onfail: () => {},
  })
  return {
    got,
    bad,
    newer,
    whenClosed,
    /** Resolves once a ping numbered `n` was handled (messages arrive in order). */
    until: (n: number) =>
      new Promise<void>((resolve) => {
        onGot = () => got.includes(n) && resolve()
        onGot()
      }),
  }
}

describe('peer channel versions', () => {
  it("ignores a message type it does not know from a peer on a newer version (no 'bad')", async () => {
    const { a, b, end } = pair()
    const r = receiver(b)
    const send = quietEnd(a, { version: 2 })
    send!.send(enc({ t: 'ping', n: 1 }))
    send!.send(enc({ t: 'added-in-v2', n: 2 }))
    send!.send(enc({ t: 'ping', n: 3 }))
    await r.until(3)
    expect(r.got).toEqual([1, 3])
    expect(r.bad).toEqual([])
    expect(r.newer).toEqual([{ reason: 'unknown type added-in-v2', v: 2 }])
    end()
  })

  it('tells each end the version the other speaks when the channel opens', async () => {
    const { a, b, end } = pair()
    const opened = (mux: Protomux, version?: number): Promise<number> =>
      new Promise((resolve) => {
        quietEnd(mux, { ...(version === undefined ? {} : { version }), onopen: resolve })
      })
    const [atA, atB] = await Promise.all([opened(a, 3), opened(b)])
    expect(atA).toBe(FIRST_PROTOCOL_VERSION)
    expect(atB).toBe(3)
    end()
  })

  it('still reports what it cannot read from a peer on the same version as bad', async () => {
    const { a, b, end } = pair()
    const r = receiver(b)
    const send = quietEnd(a)
    send!.send(enc({ t: 'nonsense', n: 1 }))
    send!.send(enc({ t: 'ping', n: 2 }))
    await r.until(2)
    expect(r.bad).toEqual(['unknown type nonsense'])
    expect(r.newer).toEqual([])
    end()
  })

  // Nodes from before versions were sent open the channel with no handshake and ignore ours.
  it('talks both ways with a peer that sends no version, which counts as the first', async () => {
    const { a, b, end } = pair()
    const r = receiver(b)
    const heard: Buffer[] = []
    const old = a.createChannel({ protocol: PROTOCOL, onopen: () => {}, onclose: () => {} })!
    const oldMsg = old.addMessage({ onmessage: (buf) => heard.push(buf) })
    old.open()
    oldMsg.send(enc({ t: 'later', n: 1 }))
    oldMsg.send(enc({ t: 'ping', n: 2 }))
    await r.until(2)
    expect(r.got).toEqual([2])
    expect(r.bad).toEqual(['unknown type later'])
    // And the old end reads what the new one sends.
    const back = quietEnd(b, { protocol: 'spare-test/back' })
    const oldBack = a.createChannel({ protocol: 'spare-test/back' })!
    const gotBack = new Promise<Buffer>((resolve) => oldBack.addMessage({ onmessage: resolve }))
    oldBack.open()
    back!.send(enc({ t: 'ping', n: 9 }))
    expect(JSON.parse((await gotBack).toString())).toEqual({ t: 'ping', n: 9 })
    end()
  })

  it('reads a handshake that is not a version as the first version, and keeps the connection', async () => {
    const { a, b, closed, end } = pair()
    const r = receiver(b)
    // 0xff announces a uint of 8 more bytes; two follow.
    const junk: ProtomuxEncoding<unknown> = {
      preencode: (state) => void (state.end += 3),
      encode: (state) => {
        state.buffer.set([0xff, 1, 2], state.start)
        state.start += 3
      },
      decode: () => null,
    }
    const hostile = a.createChannel({ protocol: PROTOCOL, handshake: junk })!
    const hostileMsg = hostile.addMessage({})
    hostile.open(null)
    hostileMsg.send(enc({ t: 'x', n: 1 }))
    hostileMsg.send(enc({ t: 'ping', n: 2 }))
    await r.until(2)
    expect(r.bad).toEqual(['unknown type x'])
    expect(closed()).toBe(false)
    end()
  })

  // A peer sending junk as fast as it can wrote a strike and a log line for every frame of a few
  // bytes, without end.
  it('closes the channel after MAX_BAD_MESSAGES undecodable messages, handling nothing more', async () => {
    const { a, b, closed, end } = pair()
    const r = receiver(b)
    // A second channel whose message, sent last, arrives after everything sent before it.
    const barrier = new Promise<void>((resolve) => {
      const mine = b.createChannel({ protocol: 'spare-test/barrier' })!
      mine.addMessage({ onmessage: () => resolve() })
      mine.open()
    })
    const theirs = a.createChannel({ protocol: 'spare-test/barrier' })!
    const barrierMsg = theirs.addMessage({})
    theirs.open()
    const hostile = a.createChannel({ protocol: PROTOCOL })!
    const hostileMsg = hostile.addMessage({})
    hostile.open()
    for (let i = 0; i < 1000; i++) hostileMsg.send(Buffer.from('junk'))
    hostileMsg.send(enc({ t: 'ping', n: 1 }))
    barrierMsg.send(Buffer.from('after'))
    await barrier
    expect(r.bad.length).toBe(MAX_BAD_MESSAGES)
    expect(r.got).toEqual([])
    await r.whenClosed
    // The connection itself stays: replication runs on it too.
    expect(closed()).toBe(false)
    end()
  })
})
