// Plain node:http requests with full control over headers (Host, Origin, Cookie), for testing
// the daemon's local API guards.
import http from 'node:http'

export interface HttpResult {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

export interface HttpRequest {
  method?: string
  path?: string
  headers?: Record<string, string>
  body?: string | Buffer
}

/** Sends one request to 127.0.0.1:port; rejects on a connection error (e.g. a reset). */
export function request(port: number, req: HttpRequest = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const r = http.request(
      {
        host: '127.0.0.1',
        port,
        method: req.method ?? 'GET',
        path: req.path ?? '/',
        headers: req.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
        res.on('error', reject)
      },
    )
    r.on('error', reject)
    if (req.body !== undefined) r.end(req.body)
    else r.end()
  })
}

/** POST /api/call with a JSON body. */
export function apiCall(
  port: number,
  method: string,
  params: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  return request(port, {
    method: 'POST',
    path: '/api/call',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ method, params }),
  })
}
