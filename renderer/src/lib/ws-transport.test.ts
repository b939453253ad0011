import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createClient } from '../../../shared/client.ts'
import { ApiError } from '../../../shared/contract.ts'
import {
  DROPPED_MESSAGE,
  backoffDelay,
  createWsTransport,
  daemonSocketUrl,
  type SocketLike,
  type WsTransport,
} from './ws-transport.ts'

/** A WebSocket double: records what the transport sends, lets the test play the server. */
class FakeSocket implements SocketLike {
  static instances: FakeSocket[] = []
  readyState = 0
  sent: Array<{ id: number; method: string; params: unknown }> = []
  closedByClient = false
  onopen: ((ev: Event) => void) | null = null
  onmessage: ((ev: MessageEvent) => void) | null = null
  onclose: ((ev: CloseEvent) => void) | null = null
  onerror: ((ev: Event) => void) | null = null

  constructor(readonly url: string) {
    FakeSocket.instances.push(this)
  }
  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send() on a socket that is not open')
    this.sent.push(JSON.parse(data) as { id: number; method: string; params: unknown })
  }
  close(): void {
    this.closedByClient = true
    this.readyState = 3
  }
  // --- server side ---
  open(): void {
    this.readyState = 1
    this.onopen?.(new Event('open'))
  }
  reply(message: unknown): void {
    this.onmessage?.(new MessageEvent('message', { data: JSON.stringify(message) }))
  }
  raw(data: string): void {
    this.onmessage?.(new MessageEvent('message', { data }))
  }
  drop(reason = ''): void {
    this.readyState = 3
    this.onclose?.(new CloseEvent('close', { code: 1006, reason }))
  }
  static last(): FakeSocket {
    const s = FakeSocket.instances[FakeSocket.instances.length - 1]
    if (!s) throw new Error('no socket was opened')
    return s
  }
}

function makeTransport(extra: Partial<Parameters<typeof createWsTransport>[0]> = {}): WsTransport {
  return createWsTransport({
    url: 'ws://127.0.0.1:7777/api/ws',
    createSocket: (url) => new FakeSocket(url),
    initialDelayMs: 100,
    maxDelayMs: 1000,
    random: () => 0.5, // no jitter
    ...extra,
  })
}

let transport: WsTransport | null = null

beforeEach(() => {
  FakeSocket.instances = []
  vi.useFakeTimers()
})

afterEach(() => {
  transport?.close()
  transport = null
  vi.useRealTimers()
})

describe('daemonSocketUrl', () => {
  it('uses ws: on http and wss: on https, on the page’s own host', () => {
    expect(daemonSocketUrl({ protocol: 'http:', host: '127.0.0.1:7777' }, '/api/ws')).toBe(
      'ws://127.0.0.1:7777/api/ws',
    )
    expect(daemonSocketUrl({ protocol: 'https:', host: 'spare.example:443' }, '/api/ws')).toBe(
      'wss://spare.example:443/api/ws',
    )
  })
})

describe('backoffDelay', () => {
  it('doubles per attempt up to the cap, with ±25 % jitter', () => {
    const mid = () => 0.5
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffDelay(a, 100, 1000, mid))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ])
    expect(backoffDelay(1, 100, 1000, () => 0)).toBe(75)
    expect(backoffDelay(1, 100, 1000, () => 1)).toBe(125)
  })
})

describe('createWsTransport', () => {
  it('connects to the URL and reports connecting, then open', () => {
    transport = makeTransport()
    const socket = FakeSocket.last()
    expect(socket.url).toBe('ws://127.0.0.1:7777/api/ws')
    expect(transport.connection.getState().status).toBe('connecting')
    const seen: string[] = []
    transport.connection.subscribe(() => seen.push(transport!.connection.getState().status))
    socket.open()
    expect(transport.connection.getState()).toMatchObject({ status: 'open', generation: 1 })
    expect(seen).toEqual(['open'])
  })

  it('queues calls made while connecting and sends them once open', async () => {
    transport = makeTransport()
    const socket = FakeSocket.last()
    const answer = transport.call('folders.list', {})
    expect(socket.sent).toEqual([])
    socket.open()
    expect(socket.sent).toEqual([{ id: 1, method: 'folders.list', params: {} }])
    socket.reply({ id: 1, result: [] })
    await expect(answer).resolves.toEqual([])
  })

  it('matches answers to requests by id, whatever their order', async () => {
    transport = makeTransport()
    const socket = FakeSocket.last()
    socket.open()
    const a = transport.call('node.status', {})
    const b = transport.call('peers.list', {})
    const c = transport.call('folders.get', { id: 'abc' })
    const [ra, rb, rc] = socket.sent
    expect([ra?.method, rb?.method, rc?.method]).toEqual([
      'node.status',
      'peers.list',
      'folders.get',
    ])
    expect(new Set(socket.sent.map((m) => m.id)).size).toBe(3)
    socket.reply({ id: rc!.id, error: { code: 'NOT_FOUND', message: 'no folder abc' } })
    socket.reply({ id: rb!.id, result: ['peer'] })
    socket.reply({ id: ra!.id, result: { nodeId: 'n' } })
    await expect(a).resolves.toEqual({ nodeId: 'n' })
    await expect(b).resolves.toEqual(['peer'])
    const err = await c.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ code: 'NOT_FOUND', message: 'no folder abc' })
  })

  it('delivers events to subscribers until they unsubscribe', () => {
    transport = makeTransport()
    const socket = FakeSocket.last()
    socket.open()
    const got: Array<[string, unknown]> = []
    const off = transport.subscribe((event, data) => got.push([event, data]))
    socket.reply({ event: 'folder.removed', data: { id: '0123456789abcdef' } })
    off()
    socket.reply({ event: 'folder.removed', data: { id: 'fedcba9876543210' } })
    expect(got).toEqual([['folder.removed', { id: '0123456789abcdef' }]])
  })

  it('ignores malformed messages but settles an unreadable answer to a pending call', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    transport = makeTransport()
    const socket = FakeSocket.last()
    socket.open()
    const call = transport.call('node.status', {})
    socket.raw('not json')
    socket.reply({ hello: 'world' })
    socket.reply({ id: 999, result: 1 }) // nobody asked
    socket.reply({ id: 1 }) // neither result nor error
    const err = await call.catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'INTERNAL' })
    expect(warn).toHaveBeenCalled()
    warn.mockRestore()
  })

  it('rejects every pending call when the socket drops, then reconnects with backoff', async () => {
    transport = makeTransport()
    const first = FakeSocket.last()
    first.open()
    const pending = transport.call('folders.list', {})
    first.drop('server restarting')
    const err = await pending.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ code: 'UNAVAILABLE', message: DROPPED_MESSAGE })
    expect(transport.connection.getState()).toMatchObject({
      status: 'retrying',
      attempt: 1,
      lastError: 'server restarting',
    })

    // While retrying, calls fail fast instead of hanging.
    await expect(transport.call('node.status', {})).rejects.toMatchObject({ code: 'UNAVAILABLE' })

    vi.advanceTimersByTime(99)
    expect(FakeSocket.instances).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.instances).toHaveLength(2)
    expect(transport.connection.getState().status).toBe('connecting')

    // The second attempt fails too: the next wait doubles.
    FakeSocket.last().drop()
    expect(transport.connection.getState()).toMatchObject({ status: 'retrying', attempt: 2 })
    vi.advanceTimersByTime(199)
    expect(FakeSocket.instances).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.instances).toHaveLength(3)

    const third = FakeSocket.last()
    third.open()
    expect(transport.connection.getState()).toMatchObject({
      status: 'open',
      attempt: 0,
      generation: 2,
      lastError: null,
    })
    const again = transport.call('folders.list', {})
    third.reply({ id: third.sent[0]!.id, result: [] })
    await expect(again).resolves.toEqual([])
    // Events keep flowing to subscribers registered before the drop.
  })

  it('says when a node that refuses the socket refused this browser’s login', async () => {
    let answer: 'ok' | 'refused' | 'unreachable' = 'refused'
    const checkLogin = vi.fn(async () => answer)
    transport = makeTransport({ checkLogin })
    const first = FakeSocket.last()
    first.open()
    // A drop of an open socket is the node going away: nothing to ask.
    first.drop()
    expect(checkLogin).not.toHaveBeenCalled()
    vi.advanceTimersByTime(100)
    // The new socket is refused before it opens: a restarted daemon that forgot the session.
    FakeSocket.last().drop()
    await vi.waitFor(() => expect(transport?.connection.getState().loggedOut).toBe(true))
    expect(transport.connection.getState().status).toBe('retrying')
    expect(checkLogin).toHaveBeenCalledTimes(1)

    // Logged in again from another tab: the next attempt opens and the state says so.
    answer = 'ok'
    vi.advanceTimersByTime(200)
    FakeSocket.last().open()
    expect(transport.connection.getState()).toMatchObject({ status: 'open', loggedOut: false })
  })

  it('keeps event subscriptions across reconnects', () => {
    transport = makeTransport()
    const got: string[] = []
    transport.subscribe((event) => got.push(event))
    FakeSocket.last().open()
    FakeSocket.last().drop()
    vi.advanceTimersByTime(100)
    FakeSocket.last().open()
    FakeSocket.last().reply({ event: 'node.updated', data: {} })
    expect(got).toEqual(['node.updated'])
  })

  it('retryNow skips the wait', () => {
    transport = makeTransport({ initialDelayMs: 5000, maxDelayMs: 5000 })
    FakeSocket.last().drop()
    expect(FakeSocket.instances).toHaveLength(1)
    transport.connection.retryNow()
    expect(FakeSocket.instances).toHaveLength(2)
    // The old timer must not open a third socket.
    vi.advanceTimersByTime(10_000)
    expect(FakeSocket.instances).toHaveLength(2)
  })

  it('rejects a call that gets no answer in time', async () => {
    transport = makeTransport({ callTimeoutMs: 1000 })
    FakeSocket.last().open()
    const call = transport.call('node.status', {})
    vi.advanceTimersByTime(1000)
    await expect(call).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })

  it('close() rejects pending calls, closes the socket and stops reconnecting', async () => {
    transport = makeTransport()
    const socket = FakeSocket.last()
    socket.open()
    const call = transport.call('node.status', {})
    transport.close()
    await expect(call).rejects.toMatchObject({ code: 'UNAVAILABLE' })
    expect(socket.closedByClient).toBe(true)
    expect(transport.connection.getState().status).toBe('closed')
    socket.drop()
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.instances).toHaveLength(1)
    await expect(transport.call('node.status', {})).rejects.toMatchObject({ code: 'UNAVAILABLE' })
  })

  it('treats a socket constructor that throws as a failed attempt', () => {
    let fail = true
    transport = createWsTransport({
      url: 'ws://x/api/ws',
      createSocket: (url) => {
        if (fail) throw new Error('refused by CSP')
        return new FakeSocket(url)
      },
      initialDelayMs: 100,
      random: () => 0.5,
    })
    expect(transport.connection.getState()).toMatchObject({
      status: 'retrying',
      lastError: 'refused by CSP',
    })
    fail = false
    vi.advanceTimersByTime(100)
    expect(FakeSocket.instances).toHaveLength(1)
  })

  it('works under createClient: results are validated against the contract', async () => {
    transport = makeTransport()
    const client = createClient(transport)
    const socket = FakeSocket.last()
    socket.open()
    const good = client.call('folders.invite', { id: '0123456789abcdef' })
    socket.reply({ id: socket.sent[0]!.id, result: { invite: 'spare:abc' } })
    await expect(good).resolves.toEqual({ invite: 'spare:abc' })
    const bad = client.call('folders.invite', { id: '0123456789abcdef' })
    socket.reply({ id: socket.sent[1]!.id, result: { nope: true } })
    await expect(bad).rejects.toMatchObject({ code: 'INTERNAL' })
    expect(socket.sent[0]).toEqual({
      id: socket.sent[0]!.id,
      method: 'folders.invite',
      params: { id: '0123456789abcdef' },
    })
  })
})
