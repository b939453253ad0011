// The running Spare's version, read once from package.json.
import { readFileSync } from 'node:fs'

function readVersion(): string {
  try {
    const url = new URL('../../package.json', import.meta.url)
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: string }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
}

export const VERSION = readVersion()
