// Conflict copies follow Syncthing's convention: NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT,
// where the time is the losing version's modification time (UTC) and DEVICE the device that wrote
// it. Both come from the version itself, so every device names a copy the same way.
import path from 'node:path'
import { MAX_PATH_BYTES, MAX_SEGMENT_BYTES } from '../folders/safe-path.ts'

const MARK = '.sync-conflict-'

function two(n: number): string {
  return String(n).padStart(2, '0')
}

export function conflictName(key: string, mtime: number, device: string): string {
  const d = new Date(mtime)
  const stamp =
    `${d.getUTCFullYear()}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}-` +
    `${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}`
  const dir = path.posix.dirname(key)
  const base = path.posix.basename(key)
  // A leading dot is part of the name, not an extension (".bashrc").
  const dot = base.lastIndexOf('.')
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, '']
  const mark = `${MARK}${stamp}-${device}`
  // A name near the limits would make a copy no device accepts (and the losing version would
  // leave the tree): the stem, then the extension, are shortened to fit, whole characters only.
  const prefix = dir === '/' ? '/' : `${dir}/`
  const room = Math.min(MAX_SEGMENT_BYTES, MAX_PATH_BYTES - bytes(prefix)) - bytes(mark)
  let [s, e] = [Array.from(stem), Array.from(ext)]
  while (bytes(s.join('')) + bytes(e.join('')) > room && s.length) s = s.slice(0, -1)
  while (bytes(e.join('')) > room && e.length) e = e.slice(0, -1)
  return `${prefix}${s.join('')}${mark}${e.join('')}`
}

function bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8')
}

export function isConflictName(key: string): boolean {
  return /\.sync-conflict-\d{8}-\d{6}-[0-9A-Za-z]+(\.[^/]*)?$/.test(key)
}

const PARTS = /\.sync-conflict-(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})-([0-9A-Za-z]+)/

/**
 * What a copy's name says: the name without the mark (the original's, unless conflictName
 * shortened it), and the time and device the mark names.
 */
export function conflictParts(
  copy: string,
): { plain: string; mtime: number; device: string } | null {
  const m = PARTS.exec(copy)
  if (!m) return null
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ]
  return {
    plain: copy.replace(PARTS, ''),
    mtime: Date.UTC(y, mo - 1, d, h, mi, s),
    device: m[7] as string,
  }
}
