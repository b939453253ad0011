// Files a running daemon keeps in its data directory for the CLI to find it.
export const TOKEN_FILE = 'api-token'
export const API_FILE = 'api.json'

export interface ApiInfo {
  port: number
  pid: number
  url: string
}
