// `spare daemon`: the node in the foreground, with the local API and web UI, until a signal.
import { SpareNode, SettingsError, NetworkConfigError } from '../engine/node.ts'
import { SpareService } from '../engine/api/service.ts'
import type { LogLevel } from '../engine/logger.ts'
import { ApiServer, loadOrCreateToken } from './server.ts'

export interface DaemonOptions {
  dataDir: string
  network?: string
  port?: number
  logLevel?: LogLevel
  uiDir?: string
}

/** Runs until SIGINT/SIGTERM; returns the process exit code. */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const node = new SpareNode({
    dataDir: opts.dataDir,
    ...(opts.network !== undefined ? { network: opts.network } : {}),
    ...(opts.logLevel ? { logLevel: opts.logLevel } : {}),
    logToStderr: true,
  })
  // The signal handlers come first: a signal during startup (opening many folders takes a while)
  // otherwise got Node's default action, and the process died without closing anything. Such a
  // stop lets the start finish, then closes. A second signal exits at once.
  let stopping = false
  let wake: (() => void) | null = null
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      process.stderr.write('spare: forced exit\n')
      process.exit(1)
    }
    stopping = true
    if (node.opened) node.log.info({ signal }, 'stopping')
    process.stderr.write(`spare: ${signal} received, closing…\n`)
    const force = setTimeout(() => {
      process.stderr.write('spare: close took over 20 s; exiting anyway\n')
      process.exit(1)
    }, 20_000)
    force.unref()
    wake?.()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  try {
    return await serve(
      node,
      opts,
      () => stopping,
      (w) => (wake = w),
    )
  } finally {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}

async function serve(
  node: SpareNode,
  opts: DaemonOptions,
  stopping: () => boolean,
  onStop: (wake: () => void) => void,
): Promise<number> {
  try {
    await node.ready()
  } catch (err) {
    process.stderr.write(`spare: cannot start: ${(err as Error).message}\n`)
    return err instanceof NetworkConfigError ? 2 : err instanceof SettingsError ? 1 : 1
  }
  if (stopping()) return closeAll(node, null)
  // A stray rejection deep in a library (a request cancelled by a peer leaving, say) must not
  // take the whole node down: log it loudly, with its stack, and keep serving.
  const onStray = (err: unknown): void => {
    const e = err instanceof Error ? err : new Error(String(err))
    node.log.error(
      { err: e.message, stack: e.stack },
      'unhandled rejection (a bug; the node keeps running)',
    )
    process.stderr.write(`spare: unhandled rejection: ${e.message}\n`)
  }
  process.on('unhandledRejection', onStray)
  const service = new SpareService(node)
  let server: ApiServer
  try {
    const token = await loadOrCreateToken(node.dataDir)
    server = new ApiServer(service, token, node.log, {
      dataDir: node.dataDir,
      ...(opts.port !== undefined ? { port: opts.port } : {}),
      ...(opts.uiDir ? { uiDir: opts.uiDir } : {}),
    })
    await server.listen()
  } catch (err) {
    process.stderr.write(`spare: cannot start the local API: ${(err as Error).message}\n`)
    await node.close()
    return 1
  }
  if (stopping()) return closeAll(node, server)
  const status = node.status()
  process.stdout.write(
    [
      `Spare ${status.version} is running.`,
      `  node     ${status.nodeId}`,
      `  network  ${status.network.mode}${status.network.bootstrap.length ? ` (${status.network.bootstrap.join(', ')})` : ''}`,
      `  data     ${status.dataDir}`,
      `  API      ${server.address.url} (token in ${node.dataDir}/api-token)`,
      `  web UI   ${server.loginLink()}  (one-time link; \`spare ui\` prints a new one)`,
      // What could not be read under the data directory (also in `spare status`).
      ...(status.notices ?? []).map((n) => `  notice   ${n}`),
      'Press Ctrl+C to stop.',
      '',
    ].join('\n'),
  )
  node.log.info({ api: server.address.url }, 'daemon running')
  await new Promise<void>((resolve) => {
    if (stopping()) resolve()
    else onStop(resolve)
  })
  return closeAll(node, server)
}

async function closeAll(node: SpareNode, server: ApiServer | null): Promise<number> {
  try {
    await server?.close().catch(() => {})
    await node.close()
    return 0
  } catch (err) {
    process.stderr.write(`spare: error while closing: ${(err as Error).message}\n`)
    return 1
  }
}
