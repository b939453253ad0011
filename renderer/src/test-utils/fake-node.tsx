// Test doubles at the process edge: a fake node behind the real createClient, so component tests
// exercise the contract's result validation too. Every call's params are checked with the
// contract's own schemas, like the real service does. node.status, node.setNetwork, sync.pause and
// sync.resume have built-in handlers (node-wide pause and network mode, as the engine keeps them)
// that a test's own handlers replace.
import { render, type RenderResult } from '@testing-library/react'
import type { ReactElement } from 'react'
import { vi } from 'vitest'
import { createClient, type SpareClient } from '../../../shared/client.ts'
import {
  ApiError,
  describeZodError,
  methods,
  type EventName,
  type EventPayload,
  type FolderSummary,
  type MethodName,
  type MethodParams,
  type MethodResult,
  type NodeStatus,
  type Peer,
} from '../../../shared/contract.ts'
import { OPEN_STATE, type ConnectionSource, type ConnectionState } from '../lib/connection.ts'
import type { SpareEnvironment } from '../lib/environment.ts'
import { SpareProvider } from '../lib/spare-context.tsx'

export type Handlers = {
  [M in MethodName]?: (params: MethodParams<M>) => MethodResult<M> | Promise<MethodResult<M>>
}

export interface Call {
  method: string
  params: unknown
}

export class FakeNode {
  /** Node-wide pause, as the built-in node.status, sync.pause and sync.resume keep it. */
  paused = false
  /** The network set through node.setNetwork; null until then (the status's own network). */
  network: NodeStatus['network'] | null = null
  readonly calls: Call[] = []
  private readonly listeners = new Set<(event: string, data: unknown) => void>()
  readonly client: SpareClient

  constructor(public handlers: Handlers = {}) {
    this.client = createClient({
      call: (method, params) => this.handle(method, params),
      subscribe: (listener) => {
        this.listeners.add(listener)
        return () => this.listeners.delete(listener)
      },
    })
  }

  private async handle(method: string, params: unknown): Promise<unknown> {
    this.calls.push({ method, params })
    if (!(method in methods)) throw new ApiError('NOT_FOUND', `no method ${method}`)
    const name = method as MethodName
    const checked = methods[name].params.safeParse(params)
    if (!checked.success) throw new ApiError('BAD_INPUT', describeZodError(checked.error))
    const handler =
      (this.handlers[name] as ((p: unknown) => unknown) | undefined) ?? this.builtIn(name)
    if (!handler) throw new ApiError('INTERNAL', `the fake node has no handler for ${method}`)
    return await handler(checked.data)
  }

  private builtIn(name: MethodName): ((p: unknown) => unknown) | undefined {
    switch (name) {
      case 'node.status':
        return () =>
          nodeStatus({ paused: this.paused, ...(this.network ? { network: this.network } : {}) })
      case 'node.setNetwork':
        return (p) => this.setNetwork(methods['node.setNetwork'].params.parse(p).network)
      case 'sync.pause':
        return () => this.setPaused(true)
      case 'sync.resume':
        return () => this.setPaused(false)
      default:
        return undefined
    }
  }

  /**
   * What the engine does: answers with the node's status and emits folder.updated for every folder
   * whose state changed (paused, unless in error; back to idle on resume) and node.updated. The
   * status and folders come from the test's node.status and folders.list handlers when it has them.
   */
  private async setPaused(paused: boolean): Promise<NodeStatus> {
    const changed = paused !== this.paused
    this.paused = paused
    const statusHandler = this.handlers['node.status']
    const status: NodeStatus = statusHandler
      ? { ...(await statusHandler({})), paused }
      : nodeStatus({ paused })
    const listHandler = this.handlers['folders.list']
    if (changed && listHandler) {
      for (const f of await listHandler({})) {
        if (f.state === 'error') continue
        this.emit('folder.updated', { ...f, state: paused ? 'paused' : 'idle' })
      }
    }
    this.emit('node.updated', status)
    return status
  }

  /**
   * What the engine does: rejects a value that is not public, local or HOST:PORT[,HOST:PORT...]
   * with BAD_INPUT, otherwise switches, answers with the node's status and emits node.updated.
   */
  private async setNetwork(value: string): Promise<NodeStatus> {
    const network = parseFakeNetwork(value)
    this.network = network
    const statusHandler = this.handlers['node.status']
    const status: NodeStatus = statusHandler
      ? { ...(await statusHandler({})), network }
      : nodeStatus({ paused: this.paused, network })
    this.emit('node.updated', status)
    return status
  }

  /** Calls of one method, with their params. */
  callsOf(method: MethodName): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params)
  }

  emit<E extends EventName>(event: E, data: EventPayload<E>): void {
    for (const listener of [...this.listeners]) listener(event, data)
  }

  get listenerCount(): number {
    return this.listeners.size
  }
}

/** The engine's network parsing, simplified: enough to tell a valid value from a malformed one. */
function parseFakeNetwork(value: string): NodeStatus['network'] {
  const v = value.trim()
  if (v === 'public') return { mode: 'public', bootstrap: [] }
  if (v === 'local') return { mode: 'local', bootstrap: ['127.0.0.1:49737'] }
  const bootstrap = v.split(',').map((part) => part.trim())
  for (const item of bootstrap) {
    const m = /^([a-zA-Z0-9.-]+):(\d{1,5})$/.exec(item)
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new ApiError(
        'BAD_INPUT',
        `"${item}" is not HOST:PORT (the network is public, local or HOST:PORT[,HOST:PORT...])`,
      )
    }
  }
  return { mode: 'custom', bootstrap }
}

/** A connection whose state a test sets by hand. */
export class FakeConnection implements ConnectionSource {
  private state: ConnectionState = OPEN_STATE
  private readonly listeners = new Set<() => void>()
  readonly retryNow = vi.fn()
  getState = () => this.state
  subscribe = (listener: () => void) => {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }
  set(patch: Partial<ConnectionState>): void {
    this.state = { ...this.state, ...patch }
    for (const l of [...this.listeners]) l()
  }
}

export interface RenderOptions {
  node?: FakeNode
  connection?: FakeConnection
  pickFolder?: (() => Promise<string | null>) | null
  shell?: 'app' | 'web'
}

export function renderWithSpare(
  ui: ReactElement,
  options: RenderOptions = {},
): RenderResult & { node: FakeNode; connection: FakeConnection; env: SpareEnvironment } {
  const node = options.node ?? new FakeNode()
  const connection = options.connection ?? new FakeConnection()
  const env: SpareEnvironment = {
    client: node.client,
    connection,
    pickFolder: options.pickFolder ?? null,
    shell: options.shell ?? 'web',
  }
  const result = render(<SpareProvider env={env}>{ui}</SpareProvider>)
  return { ...result, node, connection, env }
}

/** A promise and its settle functions, to hold a call open. */
export function deferred<T>() {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

let seq = 0
export function folder(overrides: Partial<FolderSummary> = {}): FolderSummary {
  seq++
  return {
    id: seq.toString(16).padStart(16, '0'),
    name: `Folder ${seq}`,
    path: `/home/ada/folder-${seq}`,
    role: 'owner',
    kind: 'publish',
    conflicts: 0,
    problems: [],
    members: 0,
    waitingForAccept: false,
    state: 'idle',
    error: null,
    files: 12,
    bytes: 3_400_000,
    localBytes: 3_400_000,
    peers: 1,
    version: 7,
    localChanges: [],
    refused: [],
    lastSyncAt: null,
    ...overrides,
  }
}

export function nodeStatus(overrides: Partial<NodeStatus> = {}): NodeStatus {
  return {
    nodeId: 'b1f0c9a4e2d7b3f85a6c1e0d9f4b2a7c3e8d5f1a0b6c9e2d4f7a8b1c3e5d7f90',
    version: '0.1.0',
    network: { mode: 'local', bootstrap: ['127.0.0.1:49737'] },
    peers: 2,
    folders: 3,
    paused: false,
    uptime: 3_725,
    dataDir: '/home/ada/.local/share/spare',
    ...overrides,
  }
}

export function peer(overrides: Partial<Peer> = {}): Peer {
  seq++
  return {
    id: `peer${seq.toString(16).padStart(60, 'a')}`,
    folders: [],
    connectedAt: new Date(Date.now() - 5 * 60_000).toISOString(),
    bytesUp: 1_500_000,
    bytesDown: 42_000,
    ...overrides,
  }
}
