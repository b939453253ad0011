// app://spare/ serves the built renderer (renderer/dist) and nothing else, with a strict CSP on
// every response. The decisions (which file, which headers) are in security.ts.
import fs from 'node:fs/promises'
import path from 'node:path'
import { protocol } from 'electron'
import { APP_SCHEME, appResponseHeaders, resolveAppFile } from './security.ts'

/** Must run before app 'ready': a standard, secure scheme gets an origin, 'self' and fetch. */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    {
      scheme: APP_SCHEME,
      privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true },
    },
  ])
}

function errorResponse(status: number): Response {
  return new Response(null, {
    status,
    headers: { 'Content-Type': 'text/plain', 'X-Content-Type-Options': 'nosniff' },
  })
}

/** Reads a file only if its real path (symlinks resolved) is still inside the real root. */
async function readInside(realRoot: string, filePath: string): Promise<Buffer | null> {
  try {
    const real = await fs.realpath(filePath)
    if (!real.startsWith(realRoot + path.sep)) return null
    return await fs.readFile(real)
  } catch {
    return null
  }
}

export function handleAppProtocol(rendererDir: string): void {
  const root = path.resolve(rendererDir)
  const realRoot = fs.realpath(root).catch(() => root)
  protocol.handle(APP_SCHEME, async (request) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') return errorResponse(405)
    const resolved = resolveAppFile(root, request.url)
    if (!resolved.ok) return errorResponse(resolved.status)
    const rootReal = await realRoot
    let filePath = resolved.filePath
    let body = await readInside(rootReal, filePath)
    if (body === null && resolved.spaFallback) {
      filePath = path.join(root, 'index.html')
      body = await readInside(rootReal, filePath)
    }
    if (body === null) return errorResponse(404)
    return new Response(request.method === 'HEAD' ? null : new Uint8Array(body), {
      status: 200,
      headers: appResponseHeaders(filePath),
    })
  })
}
