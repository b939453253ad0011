// Structured logs (JSON lines, pino) to DATA_DIR/logs/spare.log, with levels. The file is rotated
// by size: past LOG_MAX_BYTES it becomes spare.log.1 (replacing the one before) and a new
// spare.log starts, at open and checked every minute, so a long-running node keeps at most about
// twice that on disk.
import path from 'node:path'
import { mkdirSync, renameSync, statSync } from 'node:fs'
import pino from 'pino'

export type Logger = pino.Logger
export { LOG_LEVELS, type LogLevel } from './log-levels.ts'
import type { LogLevel } from './log-levels.ts'

export const LOG_MAX_BYTES = 10 * 1024 * 1024
const ROTATE_CHECK_MS = 60_000

export interface OpenedLogger {
  logger: Logger
  file: string
  close(): Promise<void>
}

export function openLogger(
  dataDir: string,
  level: LogLevel,
  opts: { stderr?: boolean; maxBytes?: number; checkMs?: number } = {},
): OpenedLogger {
  const dir = path.join(dataDir, 'logs')
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, 'spare.log')
  const maxBytes = opts.maxBytes ?? LOG_MAX_BYTES
  /** Moves a full log aside; true when it did. */
  const rotate = (): boolean => {
    let size: number
    try {
      size = statSync(file).size
    } catch {
      return false
    }
    if (size < maxBytes) return false
    renameSync(file, `${file}.1`)
    return true
  }
  rotate()
  const dest = pino.destination({ dest: file, sync: false, mkdir: true })
  const streams: pino.StreamEntry[] = [{ level, stream: dest }]
  if (opts.stderr) streams.push({ level: 'warn', stream: process.stderr })
  const logger = pino({ level, base: { pid: process.pid } }, pino.multistream(streams))
  const check = setInterval(() => {
    try {
      if (rotate()) dest.reopen()
    } catch {
      // A failed rename leaves the log where it was; the next check tries again.
    }
  }, opts.checkMs ?? ROTATE_CHECK_MS)
  check.unref()
  let closed: Promise<void> | null = null
  return {
    logger,
    file,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        clearInterval(check)
        dest.flush(() => {
          dest.end()
          resolve()
        })
      })),
  }
}
