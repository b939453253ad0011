// Structured logs (JSON lines, pino) to DATA_DIR/logs/spare.log, with levels. The file is rotated
// by size: past LOG_MAX_BYTES it becomes spare.log.1 (replacing the one before) and a new
// spare.log starts, at open and checked every minute, so a long-running node keeps at most about
// twice that on disk.
import path from 'node:path'
import { closeSync, mkdirSync, openSync, renameSync, statSync } from 'node:fs'
import pino from 'pino'

export type Logger = pino.Logger
export { LOG_LEVELS, type LogLevel } from './log-levels.ts'
import type { LogLevel } from './log-levels.ts'

export const LOG_MAX_BYTES = 10 * 1024 * 1024
const ROTATE_CHECK_MS = 60_000
/** At most this long for the log file to close (close()). */
const CLOSE_WAIT_MS = 5_000

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
  const file = path.join(dir, 'spare.log')
  // pino opens the file asynchronously and a failed open was an unhandled 'error' event that
  // took the process down: open it here first, so a read-only data directory is a clear error.
  try {
    mkdirSync(dir, { recursive: true })
    closeSync(openSync(file, 'a'))
  } catch (err) {
    throw new Error(`cannot write the log file ${file}: ${(err as Error).message}`, {
      cause: err,
    })
  }
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
  try {
    rotate()
  } catch (err) {
    // Something in the way of spare.log.1 (a directory, say): a start refused over its log's
    // rotation. It appends to the full log instead, and the checks below try again.
    process.stderr.write(
      `spare: cannot move the full log ${file} aside: ${(err as Error).message}\n`,
    )
  }
  const dest = pino.destination({ dest: file, sync: false, mkdir: true })
  // A write or reopen failing later (disk full, the folder removed) must not crash the node
  // either: said once on stderr, and the node goes on without its log file.
  let failed = false
  dest.on('error', (err: Error) => {
    if (failed) return
    failed = true
    process.stderr.write(`spare: cannot write the log file ${file}: ${err.message}\n`)
  })
  // Once closing, later lines are dropped: a closing node's work still under way (a tick waiting
  // on a store being closed) logged after the file was destroyed, and SonicBoom's write threw
  // ("SonicBoom destroyed") from inside that work's own error handling.
  let closing = false
  const toFile = {
    write(line: string): void {
      if (!closing) dest.write(line)
    },
  }
  const streams: pino.StreamEntry[] = [{ level, stream: toFile }]
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
    // Resolves once the file is closed, so every line is on disk: end() only starts the last
    // writes, and a daemon exiting right after lost its shutdown lines. A log that failed (its
    // 'error' said on stderr) may never close: then after CLOSE_WAIT_MS at most.
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        closing = true
        clearInterval(check)
        const timer = setTimeout(resolve, CLOSE_WAIT_MS)
        timer.unref()
        const done = (): void => {
          clearTimeout(timer)
          resolve()
        }
        dest.once('close', done)
        dest.once('error', done)
        dest.end()
      })),
  }
}
