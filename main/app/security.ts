// The Electron shell's security decisions as pure functions: which IPC senders are trusted, which
// URLs may leave the app for the browser, which file an app:// request may read and the CSP sent
// with it. No electron import here, so all of it is unit-tested under plain Node
// (test/unit/app-security.test.ts); the electron-facing files only call these.
import path from 'node:path'

/** The custom protocol the app's own pages are served from (registered standard + secure). */
export const APP_SCHEME = 'app'
export const APP_HOST = 'spare'
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`

/**
 * The Content-Security-Policy sent with every app:// response (on top of the one in
 * renderer/index.html; a page obeys both). Scripts and styles only from the app itself (no inline,
 * no eval); no network at all (the renderer reaches the node over IPC); no plugins, frames, workers,
 * forms or <base>.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "frame-src 'none'",
  "worker-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

function parseUrl(raw: unknown): URL | null {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 8192) return null
  try {
    return new URL(raw)
  } catch {
    return null
  }
}

/** True for a URL of the app's own origin (app://spare/...). Node's URL gives custom schemes the
 *  origin "null", so protocol and host are compared instead. */
export function isAppUrl(raw: unknown): boolean {
  const url = parseUrl(raw)
  return (
    url !== null &&
    url.protocol === `${APP_SCHEME}:` &&
    url.host === APP_HOST &&
    url.username === '' &&
    url.password === ''
  )
}

/** What the IPC handler knows about a message's sender, reduced to plain values. */
export interface SenderInfo {
  /** The sending WebContents is our main window's (compared by id). */
  fromOurWindow: boolean
  /** event.senderFrame is present and is that window's main (top) frame. */
  isMainFrame: boolean
  /** event.senderFrame.url, or null when the frame is gone. */
  frameUrl: string | null
}

/** Every IPC message is checked: our window, its main frame, showing our own protocol. */
export function isTrustedSender(sender: SenderInfo): boolean {
  return sender.fromOurWindow && sender.isMainFrame && isAppUrl(sender.frameUrl)
}

/**
 * The only URLs handed to the operating system's browser: absolute http(s) URLs with a host and no
 * embedded credentials. Returns the normalized href to open, or null to refuse.
 */
export function externalUrlToOpen(raw: unknown): string | null {
  const url = parseUrl(raw)
  if (url === null) return null
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null
  if (url.hostname === '' || url.username !== '' || url.password !== '') return null
  return url.href
}

/**
 * Web permissions: every one is denied, except writing plain text to the clipboard from the app's
 * own pages ("Copy invite"; Chromium asks for it on navigator.clipboard.writeText). No reading.
 */
export function isPermissionAllowed(permission: string, requestingUrl: unknown): boolean {
  return permission === 'clipboard-sanitized-write' && isAppUrl(requestingUrl)
}

/** Navigation inside the window is only ever to the app itself (a reload). */
export function isAllowedNavigation(raw: unknown): boolean {
  return isAppUrl(raw)
}

export type AppFileResolution =
  | {
      ok: true
      /** Absolute path inside the root. */
      filePath: string
      /** Serve index.html instead when this file doesn't exist (client-side routes). */
      spaFallback: boolean
    }
  | { ok: false; status: 400 | 403 | 404 }

/**
 * Maps an app:// request URL to a file under `rootDir` (renderer/dist). Anything that would leave
 * the root (encoded "..", backslashes, absolute paths, NUL bytes), another host or another scheme is
 * refused. `/` is index.html; an extension-less path may fall back to index.html.
 */
export function resolveAppFile(rootDir: string, requestUrl: string): AppFileResolution {
  const url = parseUrl(requestUrl)
  if (url === null || url.protocol !== `${APP_SCHEME}:`) return { ok: false, status: 400 }
  if (url.host !== APP_HOST) return { ok: false, status: 404 }
  let pathname: string
  try {
    pathname = decodeURIComponent(url.pathname)
  } catch {
    return { ok: false, status: 400 }
  }
  if (pathname.includes('\0') || pathname.includes('\\')) return { ok: false, status: 400 }
  const segments = pathname.split('/').filter((s) => s.length > 0)
  if (segments.some((s) => s === '..' || s === '.')) return { ok: false, status: 403 }
  // Dotfiles are never part of a build; refusing them keeps e.g. a stray .env out of reach.
  if (segments.some((s) => s.startsWith('.'))) return { ok: false, status: 404 }
  const relative = segments.length === 0 ? 'index.html' : segments.join('/')
  const root = path.resolve(rootDir)
  const filePath = path.resolve(root, relative)
  if (filePath !== root && !filePath.startsWith(root + path.sep)) return { ok: false, status: 403 }
  if (filePath === root) return { ok: false, status: 404 }
  const last = segments[segments.length - 1] ?? ''
  return { ok: true, filePath, spaFallback: segments.length > 0 && !last.includes('.') }
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
}

export function contentTypeFor(filePath: string): string {
  return CONTENT_TYPES[path.extname(filePath).toLowerCase()] ?? 'application/octet-stream'
}

/** Headers of every app:// response. */
export function appResponseHeaders(filePath: string): Record<string, string> {
  return {
    'Content-Type': contentTypeFor(filePath),
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'X-Content-Type-Options': 'nosniff',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  }
}
