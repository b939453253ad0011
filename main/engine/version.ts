// The running Spare's version, read once from package.json.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { findPackageRoot } from './util/root.ts'

function readVersion(): string {
  const root = findPackageRoot(import.meta.url)
  if (!root) return '0.0.0'
  try {
    const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      version?: string
    }
    return pkg.version ?? '0.0.0'
  } catch {
    return '0.0.0'
  }
}

export const VERSION = readVersion()
