// Network modes: how a node finds its peers.
//  - public: HyperDHT's default bootstrap (the packaged app; real users).
//  - local:  an embedded bootstrap node on 127.0.0.1:PORT; every socket bound to loopback. The
//            first local node on the machine hosts the bootstrap node; when it leaves, the next
//            node to notice takes the port over. Every local node is a full (non-ephemeral) DHT
//            node, so records survive the host leaving.
//  - custom: an explicit `host:port,...` bootstrap list (private networks, tests).
import { isIPv4, isIPv6 } from 'node:net'
import HyperDHT from 'hyperdht'
import type { NetworkMode } from '../../../shared/contract.ts'

export interface BootstrapNode {
  host: string
  port: number
}

export type NetworkConfig =
  | { mode: 'public' }
  | { mode: 'local'; port: number }
  | { mode: 'custom'; bootstrap: BootstrapNode[] }

export class NetworkConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NetworkConfigError'
  }
}

const HOST_RE =
  /^(?:\d{1,3}(?:\.\d{1,3}){3}|[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*)$/

/** Parses 'public', 'local' or 'host:port,host:port'. Throws NetworkConfigError with a clear reason. */
export function parseNetwork(value: string, localPort: number): NetworkConfig {
  const v = value.trim()
  if (v === 'public') return { mode: 'public' }
  if (v === 'local') return { mode: 'local', port: localPort }
  if (!v)
    throw new NetworkConfigError(
      'the network is empty: use public, local or HOST:PORT[,HOST:PORT...]',
    )
  const bootstrap: BootstrapNode[] = []
  for (const part of v.split(',')) {
    const item = part.trim()
    const m = /^(.+):(\d{1,5})$/.exec(item)
    if (!m || !m[1] || !m[2]) {
      throw new NetworkConfigError(
        `"${item}" is not HOST:PORT (the network is public, local or HOST:PORT[,HOST:PORT...])`,
      )
    }
    const host = m[1]
    const port = Number(m[2])
    if (isIPv6(host.replace(/^\[(.*)\]$/, '$1')))
      throw new NetworkConfigError(
        `IPv6 addresses are not supported ("${host}"): the DHT speaks IPv4; give an IPv4 address or a host name`,
      )
    // Digits and dots only is an IPv4 address or a typo (no top-level domain is numeric).
    const numeric = /^[\d.]+$/.test(host)
    if (numeric ? !isIPv4(host) : !HOST_RE.test(host))
      throw new NetworkConfigError(`"${host}" is not a valid host name or IPv4 address`)
    if (port < 1 || port > 65535)
      throw new NetworkConfigError(`port ${port} is out of range 1-65535`)
    bootstrap.push({ host, port })
  }
  return { mode: 'custom', bootstrap }
}

export function describeNetwork(config: NetworkConfig): { mode: NetworkMode; bootstrap: string[] } {
  switch (config.mode) {
    case 'public':
      return { mode: 'public', bootstrap: [] }
    case 'local':
      return { mode: 'local', bootstrap: [`127.0.0.1:${config.port}`] }
    case 'custom':
      return { mode: 'custom', bootstrap: config.bootstrap.map((b) => `${b.host}:${b.port}`) }
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** True when every socket of this configuration stays on loopback. */
export function isLoopbackOnly(config: NetworkConfig): boolean {
  if (config.mode === 'local') return true
  if (config.mode === 'custom') return config.bootstrap.every((b) => isLoopback(b.host))
  return false
}

/**
 * The first port every DHT node Spare opens tries (then the next four, then any). HyperDHT's
 * default, 49737, is the local network's bootstrap port: a node on the public network took it
 * (on every interface, 127.0.0.1 included), so a `local` node started next on the machine found
 * the port busy, took that for another local node hosting the bootstrap, and bootstrapped off the
 * public node instead. Other Holepunch apps keep HyperDHT's default and can still hold 49737.
 */
export const DHT_PORT = 49738

export interface OpenNetwork {
  dht: HyperDHT
  /**
   * Called when the DHT's shape changed under us (local mode: this node took over the bootstrap
   * port), so announcements should be refreshed at once. Set by the swarm's owner.
   */
  onTopologyChange: (() => void) | null
  /** Stops the embedded bootstrap node (local mode) and the DHT. */
  close(): Promise<void>
}

/**
 * Creates the HyperDHT node for a configuration. On loopback the node knows it is reachable, so
 * it starts with `firewalled: false` (a firewalled start stalls first connections by 15 s or more;
 * see PERF-NOTES) and as a full DHT node.
 */
export async function openNetwork(
  config: NetworkConfig,
  keyPair: { publicKey: Buffer; secretKey: Buffer },
  log: (msg: string) => void = () => {},
): Promise<OpenNetwork> {
  if (config.mode === 'public') {
    const dht = new HyperDHT({ keyPair, port: DHT_PORT })
    return { dht, onTopologyChange: null, close: () => dht.destroy() }
  }
  const bootstrap =
    config.mode === 'local' ? [{ host: '127.0.0.1', port: config.port }] : config.bootstrap
  const loopback = isLoopbackOnly(config)
  let host: LocalBootstrapHost | null = null
  if (config.mode === 'local') {
    host = new LocalBootstrapHost(config.port, log)
    await host.tryTakeOver([])
  }
  const dht = new HyperDHT({
    keyPair,
    bootstrap,
    port: DHT_PORT,
    ...(loopback ? { host: '127.0.0.1', firewalled: false } : {}),
    // In the local mode every node is a full DHT node, so records outlive the bootstrap host.
    ...(config.mode === 'local' ? { ephemeral: false } : {}),
  })
  const net: OpenNetwork = {
    dht,
    onTopologyChange: null,
    async close() {
      await host?.close()
      await dht.destroy()
    },
  }
  if (host) {
    await dht.ready()
    // A bootstrap node taken over later starts out knowing this node, so the others find us again.
    host.watch(
      () => [{ host: '127.0.0.1', port: dht.address().port }],
      () => net.onTopologyChange?.(),
    )
  }
  return net
}

/** Hosts the local network's bootstrap node when its port is free; checks again every few seconds. */
class LocalBootstrapHost {
  private node: HyperDHT | null = null
  private timer: NodeJS.Timeout | null = null
  private closed = false
  private busy = false

  constructor(
    readonly port: number,
    private readonly log: (msg: string) => void,
  ) {}

  /** Tries to bind the bootstrap port; returns true when this node now hosts it. */
  async tryTakeOver(known: BootstrapNode[]): Promise<boolean> {
    if (this.node || this.closed || this.busy) return false
    this.busy = true
    try {
      // bootstrapper()'s host is only the address it announces: its sockets bind where `host`
      // in the options says, 0.0.0.0 (every interface) when it is not given.
      const node = HyperDHT.bootstrapper(this.port, '127.0.0.1', {
        bootstrap: known,
        host: '127.0.0.1',
      })
      try {
        await node.ready()
      } catch {
        await node.destroy().catch(() => {})
        return false // another local node hosts it
      }
      if (this.closed) {
        await node.destroy()
        return false
      }
      this.node = node
      this.log(`hosting the local bootstrap node on 127.0.0.1:${this.port}`)
      return true
    } finally {
      this.busy = false
    }
  }

  /** Every few seconds: take the port over if its host left, then tell the swarm to re-announce. */
  watch(known: () => BootstrapNode[], onTakeOver: () => void): void {
    this.timer = setInterval(() => {
      this.tryTakeOver(known()).then(
        (took) => took && onTakeOver(),
        () => {},
      )
    }, 3000)
    this.timer.unref()
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.timer) clearInterval(this.timer)
    const node = this.node
    this.node = null
    await node?.destroy()
  }
}
