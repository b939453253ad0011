// The web UI's login session with the daemon, in the browser (never in Electron, which talks IPC).
//
// A login link (`/auth?code=…`) redirects to `/#session=ID`: a URL fragment never goes to a
// server. The page moves the id into localStorage, which only this origin (scheme, host and port)
// can read, and drops it from the address bar. Calls then carry it explicitly: HTTP as
// `Authorization: Session ID`, the WebSocket as a subprotocol. A cookie would not do: browsers
// send cookies to every port of 127.0.0.1, so any other local web service would receive it.
import { WEB_SESSION } from '../../../shared/contract.ts'

const SESSION_RE = /^[0-9a-f]{64}$/

/** Where the session lives: the page's localStorage, when the browser allows it. */
export interface SessionHost {
  localStorage?: Pick<Storage, 'getItem' | 'setItem'> | null
}

// When localStorage is unavailable (privacy settings) or refuses to store (full), the session
// lasts as long as the page. It comes first: storage may still hold an older one.
let memorySession: string | null = null

function storageOf(host: SessionHost): Pick<Storage, 'getItem' | 'setItem'> | null {
  try {
    // Reading window.localStorage itself throws when storage is blocked.
    return host.localStorage ?? null
  } catch {
    return null
  }
}

/** The session this page holds, or null. Read afresh each time: another tab may log in. */
export function readSession(host: SessionHost): string | null {
  if (memorySession !== null) return memorySession
  const storage = storageOf(host)
  if (!storage) return null
  try {
    const stored = storage.getItem(WEB_SESSION.storageKey)
    return stored !== null && SESSION_RE.test(stored) ? stored : null
  } catch {
    return null
  }
}

/**
 * Takes a session handed over in the URL fragment (`#session=ID`) into storage and removes it
 * from the address bar and the history entry. Returns whether there was one.
 */
export function takeSessionFromUrl(
  host: SessionHost & {
    location: Pick<Location, 'hash' | 'pathname' | 'search'>
    history: Pick<History, 'replaceState'>
  },
): boolean {
  const hash = host.location.hash.replace(/^#/, '')
  if (!hash.startsWith(`${WEB_SESSION.fragmentKey}=`)) return false
  const id = new URLSearchParams(hash).get(WEB_SESSION.fragmentKey) ?? ''
  host.history.replaceState(null, '', host.location.pathname + host.location.search)
  if (!SESSION_RE.test(id)) return false
  const storage = storageOf(host)
  try {
    if (!storage) throw new Error('no localStorage')
    storage.setItem(WEB_SESSION.storageKey, id)
    memorySession = null // stored: other tabs share it from now on
  } catch {
    memorySession = id // for as long as this page lives
  }
  return true
}

/** The headers that authenticate an HTTP call with this session (none without one). */
export function sessionHeaders(session: string | null): Record<string, string> {
  return session ? { Authorization: `${WEB_SESSION.scheme} ${session}` } : {}
}

/** The WebSocket subprotocols to offer: `spare`, plus the session when there is one. */
export function sessionProtocols(session: string | null): string[] {
  return session
    ? [WEB_SESSION.wsProtocol, `${WEB_SESSION.wsSessionPrefix}${session}`]
    : [WEB_SESSION.wsProtocol]
}
