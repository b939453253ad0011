// The service behind the contract in shared/: one object, two transports (the daemon's
// HTTP/WebSocket API and Electron IPC). Every call is validated here before it reaches the node.
import {
  ApiError,
  describeZodError,
  isMethodName,
  methods,
  type EventName,
  type EventPayload,
  type MethodName,
  type MethodResult,
} from '../../../shared/contract.ts'
import type { SpareNode } from '../node.ts'

type Handler<M extends MethodName> = (
  params: ReturnType<(typeof methods)[M]['params']['parse']>,
) => MethodResult<M> | Promise<MethodResult<M>>

type Handlers = { [M in MethodName]: Handler<M> }

export type EventListener = (event: EventName, data: unknown) => void

export class SpareService {
  private readonly listeners = new Set<EventListener>()
  private readonly handlers: Handlers

  constructor(private readonly node: SpareNode) {
    this.handlers = {
      'node.status': () => node.status(),
      'peers.list': () => node.peers(),
      'node.setNetwork': ({ network }) => node.setNetwork(network),
      'sync.pause': () => node.setPaused(true),
      'sync.resume': () => node.setPaused(false),
      'folders.list': () => node.listFolders(),
      'folders.get': ({ id }) => node.getFolder(id),
      'folders.share': ({ path, name, mode }) => node.share(path, name, mode ?? 'sync'),
      'folders.invite': async ({ id, readOnly }) => ({ invite: await node.invite(id, !!readOnly) }),
      'folders.members': ({ id }) => node.members(id),
      'folders.removeMember': ({ id, member }) => node.removeMember(id, member),
      'folders.conflicts': ({ id }) => node.conflicts(id),
      'folders.preview': ({ id, path }) => node.preview(id, path),
      'folders.resolveConflict': ({ id, path, keep }) => node.resolveConflict(id, path, keep),
      'folders.versions': ({ id, path }) => node.versions(id, path),
      'folders.restore': ({ id, path, version, to }) =>
        node.restore(id, path, version ?? null, to ?? null),
      'folders.configure': ({ id, versionsDays, hostsWanted }) =>
        node.configure(id, { versionsDays, hostsWanted }),
      'donate.get': () => node.donateStatus(),
      'donate.set': (change) => node.setDonateLimits(change),
      'donate.pause': ({ minutes }) => node.pauseDonating(minutes ?? null),
      'donate.resume': () => node.resumeDonating(),
      'compute.submit': ({ module, input, replicas, name, wallMs }) =>
        node.submitJob({
          module: Buffer.from(module, 'base64'),
          input: Buffer.from(input, 'base64'),
          replicas: replicas ?? 2,
          name: name ?? 'job',
          wallMs: wallMs ?? 10 * 60 * 1000,
        }),
      'compute.jobs': () => node.jobs(),
      'compute.job': ({ id }) => node.job(id),
      'ledger.get': () => node.ledger() as MethodResult<'ledger.get'>,
      'ledger.verify': ({ key }) => node.verifyLedger(key),
      'folders.join': async ({ invite, path }) => ({ folder: await node.join(invite, path) }),
      'folders.unshare': async ({ id }) => {
        await node.unshare(id)
        return { id }
      },
    }
    node.on('folder', (summary) => this.emit('folder.updated', summary))
    node.on('folder-removed', (id: string) => this.emit('folder.removed', { id }))
    node.on('node', (status) => this.emit('node.updated', status))
    node.on('donate', (status) => this.emit('donate.updated', status))
    node.on('job', (summary) => this.emit('job.updated', summary))
  }

  /** Validates and runs one call. Throws ApiError; never anything else. */
  async call(method: string, params: unknown): Promise<unknown> {
    if (!isMethodName(method))
      throw new ApiError('NOT_FOUND', `unknown method: ${String(method).slice(0, 100)}`)
    const spec = methods[method]
    const parsed = spec.params.safeParse(params ?? {})
    if (!parsed.success)
      throw new ApiError('BAD_INPUT', `${method}: ${describeZodError(parsed.error)}`)
    try {
      const handler = this.handlers[method] as (p: unknown) => unknown
      return await handler(parsed.data)
    } catch (err) {
      if (err instanceof ApiError) throw err
      const message = err instanceof Error ? err.message : String(err)
      this.node.log?.error({ method, err: message }, 'call failed')
      throw new ApiError('INTERNAL', message)
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private emit<E extends EventName>(event: E, data: EventPayload<E>): void {
    for (const l of this.listeners) {
      try {
        l(event, data)
      } catch {
        // A broken listener must not stop the others.
      }
    }
  }
}
