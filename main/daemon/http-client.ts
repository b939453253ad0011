// The CLI's transport: HTTP POSTs to the running daemon of a data directory, with its token.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { API_PATHS, ApiError } from '../../shared/contract.ts'
import { createClient, toApiError, type SpareClient, type Transport } from '../../shared/client.ts'
import { API_FILE, TOKEN_FILE, apiProof, type ApiInfo } from './api-files.ts'

export class NoDaemonError extends Error {
  constructor(dataDir: string, detail: string) {
    super(`no Spare daemon is running for ${dataDir} (${detail}). Start one with \`spare daemon\`.`)
    this.name = 'NoDaemonError'
  }
}

export async function readApiInfo(dataDir: string): Promise<{ info: ApiInfo; token: string }> {
  let text: string
  try {
    text = await fs.readFile(path.join(dataDir, API_FILE), 'utf8')
  } catch {
    throw new NoDaemonError(dataDir, `${API_FILE} not found`)
  }
  let info: unknown = null
  try {
    info = JSON.parse(text)
  } catch {
    // not JSON: damaged, below
  }
  // JSON.parse takes `null`, `[]` or `3` too: anything but an object with a port is damaged.
  if (typeof info !== 'object' || info === null || !Number.isInteger((info as ApiInfo).port))
    throw new NoDaemonError(dataDir, `${API_FILE} is damaged`)
  let token: string
  try {
    token = (await fs.readFile(path.join(dataDir, TOKEN_FILE), 'utf8')).trim()
  } catch {
    throw new NoDaemonError(dataDir, `${TOKEN_FILE} not readable`)
  }
  return { info: info as ApiInfo, token }
}

/**
 * One authenticated POST to the daemon; its JSON answer. A daemon that cannot be reached is a
 * NoDaemonError; an answer that is not JSON an ApiError, and so is an error status.
 */
export async function postToDaemon(
  url: string,
  token: string,
  dataDir: string,
  body?: unknown,
): Promise<unknown> {
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    })
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause
    throw new NoDaemonError(dataDir, cause?.code ?? (err as Error).message)
  }
  let answer: unknown
  try {
    answer = await res.json()
  } catch {
    throw new ApiError('INTERNAL', `the daemon answered HTTP ${res.status} without JSON`)
  }
  if (!res.ok) throw toApiError(answer, `the daemon answered HTTP ${res.status}`)
  return answer
}

export function httpTransport(baseUrl: string, token: string, dataDir: string): Transport {
  return {
    async call(method, params) {
      const body = await postToDaemon(`${baseUrl}${API_PATHS.call}`, token, dataDir, {
        method,
        params,
      })
      return (body as { result?: unknown }).result
    },
    subscribe() {
      return () => {}
    },
  }
}

/** How long the CLI waits for the daemon's proof (a stopped daemon accepts but never answers). */
export const PROOF_TIMEOUT_MS = 20_000

/**
 * Checks that the process on the port in api.json holds the token, without sending it: after
 * the daemon died, api.json stays and any local process may have taken its port.
 */
export async function checkDaemon(
  info: ApiInfo,
  token: string,
  dataDir: string,
  timeoutMs = PROOF_TIMEOUT_MS,
): Promise<void> {
  const nonce = randomBytes(32).toString('hex')
  // The proof is instant for a live daemon; a stopped one (SIGSTOP, a wedged process) still
  // accepts connections but never answers, and the CLI hung for undici's 300 s.
  const signal = AbortSignal.timeout(timeoutMs)
  let res: Response
  let body: { proof?: unknown } | null
  try {
    res = await fetch(`http://127.0.0.1:${info.port}${API_PATHS.proof}?nonce=${nonce}`, {
      signal,
    })
    body = (await res.json().catch((err: unknown) => {
      if (signal.aborted) throw err
      return null
    })) as { proof?: unknown } | null
  } catch (err) {
    if (signal.aborted) {
      throw new NoDaemonError(
        dataDir,
        `the process on port ${info.port} did not answer within ${timeoutMs / 1000} s: is it stopped?`,
      )
    }
    const cause = (err as { cause?: { code?: string } }).cause
    throw new NoDaemonError(dataDir, cause?.code ?? (err as Error).message)
  }
  if (!res.ok || typeof body?.proof !== 'string') {
    throw new NoDaemonError(
      dataDir,
      `the process on port ${info.port} is not its daemon: ${API_FILE} is stale, or the daemon is older than this CLI`,
    )
  }
  const proof = Buffer.from(body.proof)
  const expected = Buffer.from(apiProof(token, nonce))
  if (proof.length !== expected.length || !timingSafeEqual(proof, expected)) {
    throw new ApiError(
      'UNAUTHORIZED',
      `missing or wrong API token: the process on port ${info.port} does not hold the token in ${path.join(dataDir, TOKEN_FILE)} (was it replaced, or is ${API_FILE} stale?)`,
    )
  }
}

export async function connect(
  dataDir: string,
): Promise<{ client: SpareClient; info: ApiInfo; token: string }> {
  const { info, token } = await readApiInfo(dataDir)
  await checkDaemon(info, token, dataDir)
  const client = createClient(httpTransport(`http://127.0.0.1:${info.port}`, token, dataDir))
  return { client, info, token }
}
