// Files a running daemon keeps in its data directory for the CLI to find it.
import { createHmac } from 'node:crypto'

export const TOKEN_FILE = 'api-token'
export const API_FILE = 'api.json'

export interface ApiInfo {
  port: number
  pid: number
  url: string
}

/** What a daemon holding `token` answers to `nonce` on API_PATHS.proof (hex HMAC-SHA256). */
export function apiProof(token: string, nonce: string): string {
  return createHmac('sha256', token).update(`spare-api-proof\0${nonce}`).digest('hex')
}
