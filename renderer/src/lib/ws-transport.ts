// The WebSocket transport of the contract, for the daemon's web UI. The page authenticates with
// its session (web-session.ts), offered as a subprotocol on every connect: the daemon's API token
// never lives in JS.
//
// Wire format (shared/contract.ts): the client sends {id, method, params}; the server answers
// {id, result} or {id, error: {code, message}}, and pushes {event, data} at any time.
// When the socket drops, every pending call is rejected and a new socket is opened after an
// exponential backoff with jitter.
import { ApiError, WsServerMessageSchema } from '../../../shared/contract.ts'
import type { Transport } from '../../../shared/client.ts'
import { toApiError } from '../../../shared/client.ts'
import type { ConnectionSource, ConnectionState } from './connection.ts'

/** The part of the browser's WebSocket this transport uses; tests inject a fake. */
export interface SocketLike {
  readonly readyState: number
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: ((ev: Event) => void) | null
  onmessage: ((ev: MessageEvent) => void) | null
  onclose: ((ev: CloseEvent) => void) | null
  onerror: ((ev: Event) => void) | null
}

export type SocketFactory = (url: string, protocols: string[]) => SocketLike

export interface WsTransportOptions {
  url: string
  /** Opens a socket; defaults to the browser's WebSocket. */
  createSocket?: SocketFactory
  /** The subprotocols to offer, read on every connect (a login in another tab takes effect). */
  protocols?: () => string[]
  /** First retry delay in ms (doubles per failed attempt). */
  initialDelayMs?: number
  /** Upper bound of the retry delay in ms. */
  maxDelayMs?: number
  /** A call with no answer after this long is rejected (the socket stays up). */
  callTimeoutMs?: number
  /** Source of randomness for the jitter (0..1); tests pin it. */
  random?: () => number
  now?: () => number
  /**
   * Asks the node, over plain HTTP, whether this browser is still logged in; called when a socket
   * fails to open, since a browser's WebSocket can't tell a refused login from a node that is down.
   */
  checkLogin?: () => Promise<LoginCheck>
}

/** What checkLogin found: logged in, refused (401), or the node can't be reached. */
export type LoginCheck = 'ok' | 'refused' | 'unreachable'

export interface WsTransport extends Transport {
  close(): void
  /** The socket's state, for the "not connected" banner and for refetching after a reconnect. */
  readonly connection: ConnectionSource
}

const WS_OPEN = 1

interface Pending {
  method: string
  resolve(result: unknown): void
  reject(err: ApiError): void
  timer: ReturnType<typeof setTimeout> | null
  /** The serialized request, kept until the socket is open to send it. */
  unsent: string | null
}

export const NOT_CONNECTED_MESSAGE = 'Not connected to the Spare node. Retrying…'
export const DROPPED_MESSAGE = 'The connection to the Spare node dropped before it answered.'

/** The URL of the daemon's WebSocket on the host that served this page. */
export function daemonSocketUrl(
  location: Pick<Location, 'protocol' | 'host'>,
  path: string,
): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${location.host}${path}`
}

/** The delay before retry number `attempt` (1-based): exponential, capped, with ±25 % jitter. */
export function backoffDelay(
  attempt: number,
  initialDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const base = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.max(0, attempt - 1))
  return Math.round(base * (0.75 + 0.5 * random()))
}

export function createWsTransport(options: WsTransportOptions): WsTransport {
  const {
    url,
    createSocket = (u: string, p: string[]): SocketLike => new WebSocket(u, p),
    protocols = () => [],
    initialDelayMs = 500,
    maxDelayMs = 10_000,
    callTimeoutMs = 60_000,
    random = Math.random,
    now = Date.now,
    checkLogin,
  } = options

  const pending = new Map<number, Pending>()
  const eventListeners = new Set<(event: string, data: unknown) => void>()
  const stateListeners = new Set<() => void>()
  let nextId = 1
  let socket: SocketLike | null = null
  let retryTimer: ReturnType<typeof setTimeout> | null = null
  let checking = false
  let state: ConnectionState = {
    status: 'connecting',
    attempt: 0,
    retryAt: null,
    generation: 0,
    lastError: null,
    loggedOut: false,
  }

  function setState(patch: Partial<ConnectionState>): void {
    state = { ...state, ...patch }
    for (const listener of [...stateListeners]) listener()
  }

  function settle(id: number): Pending | undefined {
    const entry = pending.get(id)
    if (!entry) return undefined
    pending.delete(id)
    if (entry.timer) clearTimeout(entry.timer)
    return entry
  }

  function rejectAll(message: string): void {
    for (const id of [...pending.keys()]) settle(id)?.reject(new ApiError('UNAVAILABLE', message))
  }

  function connect(): void {
    if (state.status === 'closed') return
    retryTimer = null
    setState({ status: 'connecting', retryAt: null })
    let ws: SocketLike
    try {
      ws = createSocket(url, protocols())
    } catch (err) {
      // A malformed URL or a CSP refusal throws synchronously: treat it like a failed attempt.
      scheduleRetry(err instanceof Error ? err.message : null)
      return
    }
    socket = ws
    let opened = false
    ws.onopen = () => {
      if (socket !== ws) return
      opened = true
      setState({
        status: 'open',
        attempt: 0,
        retryAt: null,
        generation: state.generation + 1,
        lastError: null,
        loggedOut: false,
      })
      for (const entry of pending.values()) {
        if (entry.unsent === null) continue
        ws.send(entry.unsent)
        entry.unsent = null
      }
    }
    ws.onmessage = (ev) => {
      if (socket !== ws) return
      handleMessage(ev.data)
    }
    ws.onclose = (ev) => {
      if (socket !== ws) return
      socket = null
      rejectAll(DROPPED_MESSAGE)
      if (state.status === 'closed') return
      scheduleRetry(ev.reason || null)
      if (!opened) checkLoginNow()
    }
    // Browsers always follow `error` with `close`, which does the work.
    ws.onerror = () => {}
  }

  function scheduleRetry(reason: string | null): void {
    const attempt = state.attempt + 1
    const delay = backoffDelay(attempt, initialDelayMs, maxDelayMs, random)
    setState({ status: 'retrying', attempt, retryAt: now() + delay, lastError: reason })
    retryTimer = setTimeout(connect, delay)
  }

  function checkLoginNow(): void {
    if (!checkLogin || checking) return
    checking = true
    checkLogin()
      .catch((): LoginCheck => 'unreachable')
      .then((found) => {
        checking = false
        if (state.status === 'open' || state.status === 'closed') return
        const loggedOut = found === 'refused'
        if (loggedOut !== state.loggedOut) setState({ loggedOut })
      })
  }

  function handleMessage(raw: unknown): void {
    if (typeof raw !== 'string') return
    let body: unknown
    try {
      body = JSON.parse(raw)
    } catch {
      console.warn('spare: ignored a WebSocket message that is not JSON')
      return
    }
    const parsed = WsServerMessageSchema.safeParse(body)
    if (!parsed.success) {
      // An answer we can't read must still settle its call, or the caller would wait forever.
      const id =
        typeof body === 'object' && body !== null ? (body as { id?: unknown }).id : undefined
      const entry = typeof id === 'number' ? settle(id) : undefined
      if (entry) entry.reject(new ApiError('INTERNAL', `unreadable answer to ${entry.method}`))
      else console.warn('spare: ignored a malformed WebSocket message')
      return
    }
    const msg = parsed.data
    if ('event' in msg) {
      for (const listener of [...eventListeners]) {
        try {
          listener(msg.event, msg.data)
        } catch (err) {
          console.error('spare: an event listener threw', err)
        }
      }
      return
    }
    const entry = settle(msg.id)
    if (!entry) return
    if ('error' in msg) entry.reject(toApiError({ error: msg.error }, 'the node failed'))
    else entry.resolve(msg.result)
  }

  connect()

  return {
    call(method, params) {
      if (state.status === 'closed') {
        return Promise.reject(new ApiError('UNAVAILABLE', 'The connection to the node is closed.'))
      }
      if (state.status === 'retrying') {
        return Promise.reject(new ApiError('UNAVAILABLE', NOT_CONNECTED_MESSAGE))
      }
      const id = nextId++
      const message = JSON.stringify({ id, method, params })
      return new Promise<unknown>((resolve, reject) => {
        const entry: Pending = { method, resolve, reject, timer: null, unsent: message }
        entry.timer = setTimeout(() => {
          settle(id)?.reject(
            new ApiError('UNAVAILABLE', `The Spare node did not answer ${method} in time.`),
          )
        }, callTimeoutMs)
        pending.set(id, entry)
        if (socket && socket.readyState === WS_OPEN && state.status === 'open') {
          socket.send(message)
          entry.unsent = null
        }
      })
    },
    subscribe(listener) {
      eventListeners.add(listener)
      return () => {
        eventListeners.delete(listener)
      }
    },
    close() {
      if (state.status === 'closed') return
      setState({ status: 'closed', retryAt: null })
      if (retryTimer) clearTimeout(retryTimer)
      retryTimer = null
      const ws = socket
      socket = null
      rejectAll('The connection to the node is closed.')
      ws?.close(1000, 'client closed')
    },
    connection: {
      getState: () => state,
      subscribe(listener) {
        stateListeners.add(listener)
        return () => {
          stateListeners.delete(listener)
        }
      },
      retryNow() {
        if (state.status !== 'retrying') return
        if (retryTimer) clearTimeout(retryTimer)
        connect()
      },
    },
  }
}
