// Structured logs (JSON lines, pino) to DATA_DIR/logs/spare.log, with levels.
import path from 'node:path'
import { mkdirSync } from 'node:fs'
import pino from 'pino'

export type Logger = pino.Logger
export { LOG_LEVELS, type LogLevel } from './log-levels.ts'
import type { LogLevel } from './log-levels.ts'

export interface OpenedLogger {
  logger: Logger
  file: string
  close(): Promise<void>
}

export function openLogger(
  dataDir: string,
  level: LogLevel,
  opts: { stderr?: boolean } = {},
): OpenedLogger {
  const dir = path.join(dataDir, 'logs')
  mkdirSync(dir, { recursive: true })
  const file = path.join(dir, 'spare.log')
  const dest = pino.destination({ dest: file, sync: false, mkdir: true })
  const streams: pino.StreamEntry[] = [{ level, stream: dest }]
  if (opts.stderr) streams.push({ level: 'warn', stream: process.stderr })
  const logger = pino({ level, base: { pid: process.pid } }, pino.multistream(streams))
  return {
    logger,
    file,
    close: () =>
      new Promise<void>((resolve) => {
        dest.flush(() => {
          dest.end()
          resolve()
        })
      }),
  }
}
