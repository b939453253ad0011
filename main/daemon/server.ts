// The daemon's local API: HTTP + WebSocket on 127.0.0.1, and the web UI (renderer/dist).
//
// Guards, in order, on every request:
//  1. Host must be 127.0.0.1:PORT or localhost:PORT (defeats DNS rebinding);
//  2. Origin, when present, must be this server's own origin (no other web page can drive it);
//  3. for the API and the WebSocket, a credential: `Authorization: Bearer TOKEN` (CLI, scripts)
//     or a web UI session (`Authorization: Session ID`, or on a WebSocket the subprotocol
//     `spare-session.ID`) that a one-time login link handed to the page in a URL fragment.
// No cookie: a browser sends cookies to every port of 127.0.0.1, so any other local web service
// would receive it. The UI's static files hold no secret and are served without a credential.
import http from 'node:http'
import { promises as fs, existsSync } from 'node:fs'
import path from 'node:path'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import {
  API_PATHS,
  ApiError,
  WEB_SESSION,
  WsRequestSchema,
  type ErrorCode,
} from '../../shared/contract.ts'
import type { SpareService } from '../engine/api/service.ts'
import type { Logger } from '../engine/logger.ts'
import { writeFileAtomic } from '../engine/util/atomic.ts'
import { findPackageRoot } from '../engine/util/root.ts'

import { API_FILE, TOKEN_FILE, apiProof, type ApiInfo } from './api-files.ts'

export { API_FILE, TOKEN_FILE, type ApiInfo }
// Web UI sessions live in memory: the most recent MAX_SESSIONS, each until unused for SESSION_IDLE_MS.
const MAX_SESSIONS = 64
const SESSION_IDLE_MS = 7 * 24 * 60 * 60 * 1000
// A login link works once, for LOGIN_CODE_MS; at most MAX_LOGIN_CODES wait unused.
const LOGIN_CODE_MS = 10 * 60 * 1000
const MAX_LOGIN_CODES = 64
const SESSION_RE = /^[0-9a-f]{64}$/
// A WebSocket client with more than this queued unsent (it stopped reading) is dropped: the
// daemon must not buffer events without bound for a stuck browser tab.
const MAX_WS_BUFFERED = 8 * 1024 * 1024
/** Close code for a dropped slow client (1008: policy violation); the UI reconnects. */
export const WS_TOO_SLOW = 1008
const WS_DROP_GRACE_MS = 5000
/**
 * Close code for a WebSocket whose web UI session ended (evicted by newer logins, or unused for 7
 * days): 4401 ("unauthorized" in the private range); the UI shows the reason and its login help.
 */
export const WS_SESSION_ENDED = 4401
const WS_SESSION_ENDED_REASON = 'session ended; run `spare ui` for a new login link'
// How often sessions unused for SESSION_IDLE_MS are looked for (and their sockets closed).
const SESSION_SWEEP_MS = 60 * 1000
// Calls one WebSocket may have running at once; more are answered BUSY at once, so a client can't
// make the daemon hold unbounded promises and results.
const MAX_WS_IN_FLIGHT = 64
// WebSockets open at once, over all clients; more are refused (HTTP 429) until one closes, so a
// client that opens sockets in a loop (a UI reconnecting without closing) can't exhaust the
// daemon's memory and file descriptors. A browser tab holds one; the CLI none.
const MAX_WEB_SOCKETS = 64
// Big enough for one compute job: a 2 MiB module and a 2 MiB input, base64 (about 5.6 MB).
const MAX_BODY = 6 * 1024 * 1024

const STATUS: Record<ErrorCode, number> = {
  BAD_INPUT: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAVAILABLE: 503,
  BUSY: 429,
  INTERNAL: 500,
}

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ')

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
}

export function defaultUiDir(): string {
  const root = findPackageRoot(import.meta.url)
  return root
    ? path.join(root, 'renderer', 'dist')
    : fileURLToPath(new URL('../../renderer/dist', import.meta.url))
}

/** Reads the token, creating it (mode 0600) if absent. */
export async function loadOrCreateToken(dataDir: string): Promise<string> {
  const file = path.join(dataDir, TOKEN_FILE)
  try {
    const t = (await fs.readFile(file, 'utf8')).trim()
    if (/^[0-9a-f]{64}$/.test(t)) {
      await fs.chmod(file, 0o600)
      return t
    }
  } catch {
    // absent: create below
  }
  const token = randomBytes(32).toString('hex')
  await writeFileAtomic(file, token + '\n', { mode: 0o600 })
  return token
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/**
 * Answers an upgrade it refuses and closes the connection once the answer is out (as ws itself
 * does): destroyed right after the write, the answer could be lost to a reset.
 */
function refuseUpgrade(socket: Duplex, answer: string): void {
  socket.once('finish', () => socket.destroy())
  socket.end(answer)
}

/** The subprotocols a WebSocket handshake offers (`Sec-WebSocket-Protocol`, comma-separated). */
function offeredProtocols(req: http.IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol']
  if (typeof header !== 'string') return []
  return header
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)
}

export interface ApiServerOptions {
  dataDir: string
  port?: number
  uiDir?: string
  /** Clock for login-code and session expiry; tests move it. */
  now?: () => number
  /** Bytes a WebSocket client may leave unread before it is dropped (default 8 MiB). */
  maxWsBuffered?: number
  /** Calls one WebSocket may have running at once (default 64). */
  maxWsInFlight?: number
  /** WebSockets open at once, over all clients (default 64). */
  maxWebSockets?: number
  /** How often expired sessions are looked for (default 1 minute). */
  sessionSweepMs?: number
}

/** Who opened a connection: the API token (CLI, scripts) or a web UI session. */
type Credential = { session: string | null }

export class ApiServer {
  private server: http.Server | null = null
  private wss: WebSocketServer | null = null
  /** Session id → last use (epoch ms); in least-recently-used order. */
  private readonly sessions = new Map<string, number>()
  /** Login code → expiry (epoch ms); in creation order. */
  private readonly loginCodes = new Map<string, number>()
  private port = 0
  private readonly sockets = new Set<WebSocket>()
  /** The open WebSockets of each web UI session: closed when it ends. */
  private readonly sessionSockets = new Map<string, Set<WebSocket>>()
  private sweepTimer: NodeJS.Timeout | null = null

  constructor(
    private readonly service: SpareService,
    private readonly token: string,
    private readonly log: Logger,
    private readonly opts: ApiServerOptions,
  ) {}

  private now(): number {
    return (this.opts.now ?? Date.now)()
  }

  /**
   * Sizes of the in-memory login state, the open WebSockets and their send buffers (tests,
   * diagnostics).
   */
  stats(): { sessions: number; loginCodes: number; sockets: number; wsBuffered: number } {
    let wsBuffered = 0
    let sockets = 0
    for (const ws of this.sockets) {
      wsBuffered += ws.bufferedAmount
      if (ws.readyState === ws.OPEN) sockets++
    }
    return { sessions: this.sessions.size, loginCodes: this.loginCodes.size, sockets, wsBuffered }
  }

  get address(): ApiInfo {
    return { port: this.port, pid: process.pid, url: `http://127.0.0.1:${this.port}` }
  }

  async listen(): Promise<ApiInfo> {
    const server = http.createServer((req, res) => {
      this.handle(req, res).catch((err: Error) => {
        this.log.error({ err: err.message }, 'api request failed')
        if (!res.headersSent) this.sendError(res, new ApiError('INTERNAL', 'internal error'))
        else res.end()
      })
    })
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_BODY,
      // Select `spare` when offered; never echo another (the session one is a secret).
      handleProtocols: (protocols) =>
        protocols.has(WEB_SESSION.wsProtocol) ? WEB_SESSION.wsProtocol : false,
    })
    server.on('upgrade', (req, socket, head) => {
      const who = this.guard(req, { webSocket: true })
      if (who instanceof ApiError || pathnameOf(req.url) !== API_PATHS.ws) {
        refuseUpgrade(
          socket,
          `HTTP/1.1 ${who instanceof ApiError ? STATUS[who.code] : 404} Denied\r\nConnection: close\r\n\r\n`,
        )
        return
      }
      const max = this.opts.maxWebSockets ?? MAX_WEB_SOCKETS
      // (handleUpgrade opens the socket synchronously: no verifyClient, so no upgrade is pending.)
      if (this.sockets.size >= max) {
        const body = JSON.stringify(
          new ApiError(
            'BUSY',
            `${max} WebSockets are open to this daemon already; close one and try again`,
          ).toJSON(),
        )
        refuseUpgrade(
          socket,
          `HTTP/1.1 ${STATUS.BUSY} Too Many WebSockets\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
        )
        return
      }
      this.wss!.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, who.session))
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.opts.port ?? 0, '127.0.0.1', () => resolve())
    })
    this.server = server
    this.sweepTimer = setInterval(
      () => this.pruneSessions(),
      this.opts.sessionSweepMs ?? SESSION_SWEEP_MS,
    )
    this.sweepTimer.unref()
    const addr = server.address()
    this.port = typeof addr === 'object' && addr ? addr.port : 0
    await writeFileAtomic(
      path.join(this.opts.dataDir, API_FILE),
      JSON.stringify(this.address) + '\n',
      {
        mode: 0o600,
      },
    )
    return this.address
  }

  /** A one-time login link for the web UI (valid 10 minutes, once). */
  loginLink(): string {
    this.pruneLoginCodes()
    const code = randomBytes(24).toString('hex')
    this.loginCodes.set(code, this.now() + LOGIN_CODE_MS)
    while (this.loginCodes.size > MAX_LOGIN_CODES) this.deleteFirst(this.loginCodes)
    return `${this.address.url}/auth?code=${code}`
  }

  private pruneLoginCodes(): void {
    const now = this.now()
    for (const [code, expires] of this.loginCodes) if (expires < now) this.loginCodes.delete(code)
  }

  private deleteFirst(map: Map<string, number>): void {
    const first = map.keys().next()
    if (!first.done) map.delete(first.value)
  }

  /** A new web UI session; the least recently used one goes when there are too many. */
  private createSession(): string {
    this.pruneSessions()
    const session = randomBytes(32).toString('hex')
    this.sessions.set(session, this.now())
    for (const id of this.sessions.keys()) {
      if (this.sessions.size <= MAX_SESSIONS) break
      this.endSession(id)
    }
    return session
  }

  private pruneSessions(): void {
    const oldest = this.now() - SESSION_IDLE_MS
    for (const [id, used] of this.sessions) if (used < oldest) this.endSession(id)
  }

  /** Forgets a session and closes the WebSockets it opened (WS_SESSION_ENDED). */
  private endSession(id: string): void {
    this.sessions.delete(id)
    const open = this.sessionSockets.get(id)
    if (!open) return
    this.sessionSockets.delete(id)
    for (const ws of open) this.closeWs(ws, WS_SESSION_ENDED, WS_SESSION_ENDED_REASON)
  }

  /** Whether `id` is a live session; a hit counts as a use. */
  private useSession(id: string): boolean {
    if (!SESSION_RE.test(id)) return false
    const used = this.sessions.get(id)
    if (used === undefined) return false
    if (used < this.now() - SESSION_IDLE_MS) {
      this.endSession(id)
      return false
    }
    this.sessions.delete(id) // re-inserted last: the map stays in least-recently-used order
    this.sessions.set(id, this.now())
    return true
  }

  async close(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer)
    this.sweepTimer = null
    for (const ws of this.sockets) ws.terminate()
    this.wss?.close()
    const server = this.server
    this.server = null
    if (server) {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
    const file = path.join(this.opts.dataDir, API_FILE)
    // Remove api.json only if it is still ours.
    try {
      const info = JSON.parse(await fs.readFile(file, 'utf8')) as ApiInfo
      if (info.pid === process.pid) await fs.rm(file, { force: true })
    } catch {
      // already gone
    }
  }

  /**
   * Host, Origin and credential checks. Returns the error to send, or who is allowed (an
   * anonymous request counts as no session).
   */
  private guard(
    req: http.IncomingMessage,
    opts: { allowAnonymous?: boolean; webSocket?: boolean } = {},
  ): ApiError | Credential {
    const host = req.headers.host ?? ''
    if (host !== `127.0.0.1:${this.port}` && host !== `localhost:${this.port}`) {
      return new ApiError('UNAUTHORIZED', 'wrong Host header')
    }
    const origin = req.headers.origin
    if (
      origin !== undefined &&
      origin !== `http://127.0.0.1:${this.port}` &&
      origin !== `http://localhost:${this.port}`
    ) {
      return new ApiError('UNAUTHORIZED', 'foreign Origin refused')
    }
    if (opts.allowAnonymous) return { session: null }
    return (
      this.authenticated(req, opts.webSocket === true) ??
      new ApiError('UNAUTHORIZED', 'missing or wrong API token')
    )
  }

  private authenticated(req: http.IncomingMessage, webSocket: boolean): Credential | null {
    const auth = req.headers.authorization
    if (auth?.startsWith('Bearer ') && safeEqual(auth.slice(7).trim(), this.token))
      return { session: null }
    const scheme = `${WEB_SESSION.scheme} `
    const session = (id: string): Credential | null =>
      this.useSession(id) ? { session: id } : null
    if (auth?.startsWith(scheme)) return session(auth.slice(scheme.length).trim())
    if (!webSocket) return null
    const offered = offeredProtocols(req)
    // A browser fails the handshake unless the server selects one of its subprotocols.
    if (!offered.includes(WEB_SESSION.wsProtocol)) return null
    const carrier = offered.find((p) => p.startsWith(WEB_SESSION.wsSessionPrefix))
    return carrier ? session(carrier.slice(WEB_SESSION.wsSessionPrefix.length)) : null
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader('X-Content-Type-Options', 'nosniff')
    res.setHeader('Referrer-Policy', 'no-referrer')
    res.setHeader('Cache-Control', 'no-store')
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://127.0.0.1')
    } catch {
      return this.sendError(res, new ApiError('BAD_INPUT', 'the request target is not a URL'))
    }
    if (url.pathname === API_PATHS.proof) {
      // Anonymous (Host and Origin still checked): lets the CLI check that this process holds
      // the data directory's token before it sends it (api.json may be stale, its port taken).
      const denied = this.guard(req, { allowAnonymous: true })
      if (denied instanceof ApiError) return this.sendError(res, denied)
      const nonce = url.searchParams.get('nonce') ?? ''
      if (!/^[0-9a-f]{32,128}$/.test(nonce))
        return this.sendError(res, new ApiError('BAD_INPUT', 'nonce: 32 to 128 hex characters'))
      return this.sendJson(res, 200, { proof: apiProof(this.token, nonce) })
    }
    if (url.pathname === '/auth') {
      const denied = this.guard(req, { allowAnonymous: true })
      if (denied instanceof ApiError) return this.sendError(res, denied)
      return this.login(url, res)
    }
    if (!url.pathname.startsWith('/api/')) {
      // The UI's static files: no secret in them, so no credential (Host and Origin still count).
      // A page without a session shows the login help itself.
      const deniedUi = this.guard(req, { allowAnonymous: true })
      if (deniedUi instanceof ApiError) return this.sendError(res, deniedUi)
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return this.sendError(res, new ApiError('NOT_FOUND', 'GET only'))
      return this.serveUi(url.pathname, res)
    }
    const denied = this.guard(req)
    if (denied instanceof ApiError) return this.sendError(res, denied)
    if (url.pathname === API_PATHS.call) {
      if (req.method !== 'POST') return this.sendError(res, new ApiError('NOT_FOUND', 'POST only'))
      return this.callHttp(req, res)
    }
    if (url.pathname === '/api/ui-link' && req.method === 'POST') {
      return this.sendJson(res, 200, { url: this.loginLink() })
    }
    return this.sendError(res, new ApiError('NOT_FOUND', 'no such endpoint'))
  }

  private login(url: URL, res: http.ServerResponse): void {
    this.pruneLoginCodes()
    const code = url.searchParams.get('code') ?? ''
    const expires = this.loginCodes.get(code)
    this.loginCodes.delete(code) // one use only, valid or not
    if (!expires || expires < this.now()) {
      res.statusCode = 401
      res.setHeader('Content-Type', 'text/plain; charset=utf-8')
      res.end(
        'This login link is not valid (links work once, for 10 minutes). Run `spare ui` for a new one.\n',
      )
      return
    }
    // The session goes to the page in the fragment, which the browser never sends to a server;
    // the page moves it to localStorage (scoped to this origin, port included) and drops it from
    // the address bar.
    const session = this.createSession()
    res.statusCode = 303
    res.setHeader('Location', `/#${WEB_SESSION.fragmentKey}=${session}`)
    res.end()
  }

  private async callHttp(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    let body: unknown
    try {
      body = JSON.parse(await readBody(req))
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        res.setHeader('Connection', 'close')
        return this.sendJson(res, 413, new ApiError('BAD_INPUT', err.message).toJSON())
      }
      return this.sendError(
        res,
        new ApiError('BAD_INPUT', `the request body is not JSON: ${(err as Error).message}`),
      )
    }
    const b = body as { method?: unknown; params?: unknown } | null
    if (!b || typeof b !== 'object' || typeof b.method !== 'string') {
      return this.sendError(
        res,
        new ApiError('BAD_INPUT', 'expected {"method": "...", "params": {...}}'),
      )
    }
    try {
      const result = await this.service.call(b.method, b.params)
      this.sendJson(res, 200, { result })
    } catch (err) {
      this.sendError(res, err instanceof ApiError ? err : new ApiError('INTERNAL', String(err)))
    }
  }

  /**
   * Sends unless the client left too much unread: then it is dropped (close code WS_TOO_SLOW,
   * the socket cut WS_DROP_GRACE_MS later if the close can't get through), so a stuck client
   * costs at most about maxWsBuffered plus one message.
   */
  private sendWs(ws: WebSocket, text: string): void {
    if (ws.readyState !== ws.OPEN) return
    const limit = this.opts.maxWsBuffered ?? MAX_WS_BUFFERED
    if (ws.bufferedAmount > limit) {
      this.log.warn(
        { buffered: ws.bufferedAmount },
        'dropping a WebSocket client that stopped reading',
      )
      this.closeWs(ws, WS_TOO_SLOW, `too slow: over ${limit} bytes unread; reconnect`)
      return
    }
    ws.send(text)
  }

  /** Closes with `code` and `reason`; cuts the socket WS_DROP_GRACE_MS later if that can't. */
  private closeWs(ws: WebSocket, code: number, reason: string): void {
    if (ws.readyState !== ws.OPEN) return
    ws.close(code, reason)
    const timer = setTimeout(() => ws.terminate(), WS_DROP_GRACE_MS)
    timer.unref()
    ws.once('close', () => clearTimeout(timer))
  }

  /** A WebSocket, opened with the token or (`session` not null) a web UI session. */
  private onSocket(ws: WebSocket, session: string | null): void {
    this.sockets.add(ws)
    if (session !== null) {
      const open = this.sessionSockets.get(session) ?? new Set<WebSocket>()
      open.add(ws)
      this.sessionSockets.set(session, open)
    }
    const unsubscribe = this.service.subscribe((event, data) => {
      this.sendWs(ws, JSON.stringify({ event, data }))
    })
    const maxInFlight = this.opts.maxWsInFlight ?? MAX_WS_IN_FLIGHT
    let inFlight = 0
    ws.on('message', (raw) => {
      // A call is a use of the session; one that ended meanwhile closes the socket instead.
      if (session !== null && !this.useSession(session)) {
        this.closeWs(ws, WS_SESSION_ENDED, WS_SESSION_ENDED_REASON)
        return
      }
      let msg
      try {
        msg = WsRequestSchema.parse(JSON.parse(raw.toString()))
      } catch {
        this.sendWs(
          ws,
          JSON.stringify({ id: -1, error: { code: 'BAD_INPUT', message: 'malformed message' } }),
        )
        return
      }
      const { id, method, params } = msg
      if (inFlight >= maxInFlight) {
        const busy = new ApiError(
          'BUSY',
          `${maxInFlight} calls are already running on this connection; wait for their answers`,
        )
        this.sendWs(ws, JSON.stringify({ id, ...busy.toJSON() }))
        return
      }
      inFlight++
      this.service.call(method, params).then(
        (result) => {
          inFlight--
          this.sendWs(ws, JSON.stringify({ id, result }))
        },
        (err: unknown) => {
          inFlight--
          const e = err instanceof ApiError ? err : new ApiError('INTERNAL', String(err))
          this.sendWs(ws, JSON.stringify({ id, ...e.toJSON() }))
        },
      )
    })
    ws.on('close', () => {
      unsubscribe()
      this.sockets.delete(ws)
      if (session !== null) {
        const open = this.sessionSockets.get(session)
        open?.delete(ws)
        if (open?.size === 0) this.sessionSockets.delete(session)
      }
    })
    ws.on('error', () => ws.terminate())
  }

  private async serveUi(pathname: string, res: http.ServerResponse): Promise<void> {
    const root = path.resolve(this.opts.uiDir ?? defaultUiDir())
    if (!existsSync(path.join(root, 'index.html'))) {
      res.statusCode = 503
      res.setHeader('Content-Type', 'text/plain; charset=utf-8')
      res.end('The web UI is not built. Run `npm run build` in the Spare folder, then reload.\n')
      return
    }
    let rel: string
    try {
      rel = decodeURIComponent(pathname)
    } catch {
      return this.sendError(res, new ApiError('BAD_INPUT', 'bad path'))
    }
    let file = path.resolve(root, '.' + path.posix.normalize('/' + rel))
    if (file !== root && !file.startsWith(root + path.sep))
      return this.sendError(res, new ApiError('NOT_FOUND', 'not found'))
    const st = await fs.stat(file).catch(() => null)
    if (!st || st.isDirectory()) file = path.join(root, 'index.html') // the app routes on the client
    res.statusCode = 200
    res.setHeader('Content-Type', MIME[path.extname(file)] ?? 'application/octet-stream')
    res.setHeader('Content-Security-Policy', CSP)
    res.setHeader('X-Frame-Options', 'DENY')
    res.end(await fs.readFile(file))
  }

  private sendJson(res: http.ServerResponse, status: number, body: unknown): void {
    res.statusCode = status
    res.setHeader('Content-Type', 'application/json')
    res.end(JSON.stringify(body))
  }

  private sendError(res: http.ServerResponse, err: ApiError): void {
    this.sendJson(res, STATUS[err.code], err.toJSON())
  }
}

/** The path of a request target; null when it does not parse (`//[`). Never throws. */
function pathnameOf(target: string | undefined): string | null {
  try {
    return new URL(target ?? '/', 'http://x').pathname
  } catch {
    return null
  }
}

class BodyTooLarge extends Error {
  constructor() {
    super('request body too large (6 MiB at most)')
  }
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY) {
        reject(new BodyTooLarge())
        req.removeAllListeners('data')
        req.resume() // drain, so the 413 can be read
        return
      }
      chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}
