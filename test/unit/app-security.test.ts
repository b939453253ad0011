import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  APP_ENTRY_URL,
  CONTENT_SECURITY_POLICY,
  appResponseHeaders,
  contentTypeFor,
  externalUrlToOpen,
  isAllowedNavigation,
  isAppUrl,
  isPermissionAllowed,
  isTrustedSender,
  resolveAppFile,
} from '../../main/app/security.ts'

const ROOT = path.resolve('/srv/spare/renderer/dist')

describe('isTrustedSender', () => {
  const ok = { fromOurWindow: true, isMainFrame: true, frameUrl: 'app://spare/index.html' }

  it('accepts the main frame of our window showing app://spare', () => {
    expect(isTrustedSender(ok)).toBe(true)
    expect(isTrustedSender({ ...ok, frameUrl: 'app://spare/folders#x' })).toBe(true)
  })

  it('refuses other windows, subframes and vanished frames', () => {
    expect(isTrustedSender({ ...ok, fromOurWindow: false })).toBe(false)
    expect(isTrustedSender({ ...ok, isMainFrame: false })).toBe(false)
    expect(isTrustedSender({ ...ok, frameUrl: null })).toBe(false)
  })

  it('refuses every other origin', () => {
    for (const frameUrl of [
      'https://spare/index.html',
      'http://127.0.0.1:8384/',
      'file:///srv/spare/renderer/dist/index.html',
      'app://evil/index.html',
      'app://spare.evil/index.html',
      'app://user:pw@spare/index.html',
      'devtools://devtools/bundled/inspector.html',
      'about:blank',
      'data:text/html,hi',
      'not a url',
      '',
    ]) {
      expect(isTrustedSender({ ...ok, frameUrl }), frameUrl).toBe(false)
    }
  })
})

describe('externalUrlToOpen', () => {
  it('opens http and https links', () => {
    expect(externalUrlToOpen('https://github.com/holepunchto')).toBe(
      'https://github.com/holepunchto',
    )
    expect(externalUrlToOpen('http://example.com')).toBe('http://example.com/')
    expect(externalUrlToOpen('HTTPS://Example.COM/a b')).toBe('https://example.com/a%20b')
  })

  it('refuses every other scheme, credentials, garbage and non-strings', () => {
    for (const url of [
      'file:///etc/passwd',
      'javascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'smb://host/share',
      'app://spare/index.html',
      'ms-msdt:/id PCWDiagnostic',
      'vscode://file/etc/passwd',
      'https://user:pass@example.com/',
      'https://',
      '//example.com',
      'example.com',
      '',
      'x'.repeat(10_000),
      42,
      null,
      undefined,
      { href: 'https://example.com' },
    ]) {
      expect(externalUrlToOpen(url), String(url).slice(0, 40)).toBeNull()
    }
  })
})

describe('permissions', () => {
  it('allows only the clipboard write of our own pages', () => {
    expect(isPermissionAllowed('clipboard-sanitized-write', 'app://spare/index.html')).toBe(true)
    expect(isPermissionAllowed('clipboard-sanitized-write', 'app://spare')).toBe(true)
    expect(isPermissionAllowed('clipboard-sanitized-write', 'https://evil.example/')).toBe(false)
    for (const p of [
      'clipboard-read',
      'media',
      'notifications',
      'geolocation',
      'openExternal',
      'hid',
    ]) {
      expect(isPermissionAllowed(p, 'app://spare/index.html'), p).toBe(false)
    }
  })
})

describe('navigation', () => {
  it('allows only the app itself', () => {
    expect(isAllowedNavigation(APP_ENTRY_URL)).toBe(true)
    expect(isAllowedNavigation('https://example.com')).toBe(false)
    expect(isAllowedNavigation('file:///')).toBe(false)
    expect(isAppUrl('app://spare')).toBe(true)
  })
})

describe('resolveAppFile', () => {
  const file = (url: string): string | number => {
    const r = resolveAppFile(ROOT, url)
    return r.ok ? path.relative(ROOT, r.filePath) : r.status
  }

  it('maps app://spare/ paths to files under the root', () => {
    expect(file('app://spare/')).toBe('index.html')
    expect(file('app://spare')).toBe('index.html')
    expect(file('app://spare/index.html')).toBe('index.html')
    expect(file('app://spare/assets/index-abc.js')).toBe(path.join('assets', 'index-abc.js'))
    expect(file('app://spare/assets/a%20b.css?v=1#x')).toBe(path.join('assets', 'a b.css'))
  })

  it('marks extension-less paths for the index.html fallback', () => {
    const route = resolveAppFile(ROOT, 'app://spare/folders/abc')
    expect(route.ok && route.spaFallback).toBe(true)
    const asset = resolveAppFile(ROOT, 'app://spare/assets/x.js')
    expect(asset.ok && asset.spaFallback).toBe(false)
  })

  it('never leaves the root', () => {
    for (const url of [
      'app://spare/../../etc/passwd',
      'app://spare/%2e%2e/%2e%2e/etc/passwd',
      'app://spare/assets/%2e%2e/%2e%2e/%2e%2e/package.json',
      'app://spare/assets/..%2f..%2f..%2fpackage.json',
      'app://spare/..%5c..%5cwindows%5cwin.ini',
      'app://spare/assets%5c..%5c..%5csecret',
      'app://spare/%00index.html',
      'app://spare/%E0%A4%A',
      'app://spare/.env',
      'app://spare/assets/.git/config',
    ]) {
      const r = resolveAppFile(ROOT, url)
      if (r.ok) {
        expect(r.filePath.startsWith(ROOT + path.sep), url).toBe(true)
      } else {
        expect([400, 403, 404], url).toContain(r.status)
      }
    }
    // The URL parser already folds (even encoded) dot segments at the root...
    expect(file('app://spare/%2e%2e/%2e%2e/etc/passwd')).toBe(path.join('etc', 'passwd'))
    // ...but not encoded slashes, which only appear after decoding.
    expect(file('app://spare/assets/..%2f..%2f..%2fpackage.json')).toBe(403)
    expect(file('app://spare/..%5c..%5cwin.ini')).toBe(400)
    expect(file('app://spare/%00')).toBe(400)
    expect(file('app://spare/%E0%A4%A')).toBe(400)
  })

  it('refuses other hosts and schemes', () => {
    expect(file('app://evil/index.html')).toBe(404)
    expect(file('file:///srv/spare/renderer/dist/index.html')).toBe(400)
    expect(file('https://spare/index.html')).toBe(400)
    expect(file('garbage')).toBe(400)
  })
})

describe('response headers', () => {
  it('send a strict CSP with every file', () => {
    const headers = appResponseHeaders('/x/index.html')
    expect(headers['Content-Security-Policy']).toBe(CONTENT_SECURITY_POLICY)
    expect(headers['Content-Type']).toBe('text/html; charset=utf-8')
    expect(headers['X-Content-Type-Options']).toBe('nosniff')
    const directives = new Map(
      CONTENT_SECURITY_POLICY.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/)
        return [name, values]
      }),
    )
    expect(directives.get('default-src')).toEqual(["'none'"])
    expect(directives.get('script-src')).toEqual(["'self'"])
    expect(directives.get('object-src')).toEqual(["'none'"])
    expect(directives.get('frame-ancestors')).toEqual(["'none'"])
    expect(directives.get('style-src')).toEqual(["'self'"])
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe|\*/)
  })

  it('types the files a Vite build produces', () => {
    expect(contentTypeFor('a/b.js')).toMatch(/^text\/javascript/)
    expect(contentTypeFor('a/b.CSS')).toMatch(/^text\/css/)
    expect(contentTypeFor('a/b.svg')).toBe('image/svg+xml')
    expect(contentTypeFor('a/b.woff2')).toBe('font/woff2')
    expect(contentTypeFor('a/b.unknown')).toBe('application/octet-stream')
  })
})
