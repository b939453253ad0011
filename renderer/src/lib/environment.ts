// Picks the transport for where the UI runs: Electron IPC when the preload exposed `window.spare`,
// else the daemon's WebSocket on the host that served the page.
import { API_PATHS } from '../../../shared/contract.ts'
import { createClient, type SpareClient } from '../../../shared/client.ts'
import { createBridgeTransport, findBridge } from './bridge-transport.ts'
import { alwaysConnected, type ConnectionSource } from './connection.ts'
import { readSession, sessionHeaders, sessionProtocols, type SessionHost } from './web-session.ts'
import {
  createWsTransport,
  daemonSocketUrl,
  type LoginCheck,
  type SocketFactory,
} from './ws-transport.ts'

/** Everything the screens need from the outside world; tests build their own. */
export interface SpareEnvironment {
  client: SpareClient
  connection: ConnectionSource
  /** The native folder picker (Electron only); null in a browser. */
  pickFolder: (() => Promise<string | null>) | null
  /** 'app' inside Electron, 'web' in the daemon's web UI. */
  shell: 'app' | 'web'
}

export interface EnvironmentHost extends SessionHost {
  spare?: unknown
  location: Pick<Location, 'protocol' | 'host'>
}

/**
 * Whether the daemon that served this page takes this page's session (web-session.ts): a
 * harmless node.status over HTTP, which the daemon refuses with 401 without a session or once it
 * forgot it (it restarted).
 */
export async function checkDaemonLogin(
  location: Pick<Location, 'protocol' | 'host'>,
  session: string | null,
): Promise<LoginCheck> {
  try {
    const res = await fetch(`${location.protocol}//${location.host}${API_PATHS.call}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...sessionHeaders(session) },
      body: JSON.stringify({ method: 'node.status', params: {} }),
      credentials: 'omit',
      cache: 'no-store',
    })
    return res.status === 401 ? 'refused' : 'ok'
  } catch {
    return 'unreachable'
  }
}

export function createEnvironment(
  host: EnvironmentHost,
  createSocket?: SocketFactory,
): SpareEnvironment {
  const bridge = findBridge(host)
  if (bridge) {
    return {
      client: createClient(createBridgeTransport(bridge)),
      connection: alwaysConnected(),
      pickFolder: typeof bridge.pickFolder === 'function' ? () => bridge.pickFolder() : null,
      shell: 'app',
    }
  }
  const transport = createWsTransport({
    url: daemonSocketUrl(host.location, API_PATHS.ws),
    ...(createSocket ? { createSocket } : {}),
    protocols: () => sessionProtocols(readSession(host)),
    checkLogin: () => checkDaemonLogin(host.location, readSession(host)),
  })
  return {
    client: createClient(transport),
    connection: transport.connection,
    pickFolder: null,
    shell: 'web',
  }
}
