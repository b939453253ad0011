// Guarded start and stop of the node inside the Electron main process (the ipfs-desktop pattern):
// start() while starting or running joins the same start, stop() while stopping joins the same stop,
// stop() during a start waits for it and then closes, and quitting waits for the close. The node
// itself comes from an injected factory, so this file imports neither electron nor the engine and is
// tested under Node (test/unit/app-node-controller.test.ts).
import type { NodePhase } from './tray-state.ts'

/** What the shell needs from the engine's SpareService. */
export interface ServiceLike {
  call(method: string, params: unknown): Promise<unknown>
  subscribe(listener: (event: string, data: unknown) => void): () => void
}

/** A node that is ready, with its service; close() releases everything it opened. */
export interface NodeHandle {
  service: ServiceLike
  close(): Promise<void>
}

/** Opens a node and resolves once it is ready (and has released what it opened if it failed). */
export type NodeFactory = () => Promise<NodeHandle>

type PhaseListener = (phase: NodePhase, error: Error | null) => void

export class NodeController {
  #factory: NodeFactory
  #phase: NodePhase = 'stopped'
  #error: Error | null = null
  #handle: NodeHandle | null = null
  #starting: Promise<void> | null = null
  #stopping: Promise<void> | null = null
  #listeners = new Set<PhaseListener>()

  constructor(factory: NodeFactory) {
    this.#factory = factory
  }

  get phase(): NodePhase {
    return this.#phase
  }

  /** Why the last start failed, while phase is 'failed'. */
  get error(): Error | null {
    return this.#error
  }

  /** The service while the node is running; null otherwise. */
  get service(): ServiceLike | null {
    return this.#phase === 'running' && this.#handle !== null ? this.#handle.service : null
  }

  onPhase(listener: PhaseListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #setPhase(phase: NodePhase, error: Error | null = null): void {
    this.#phase = phase
    this.#error = error
    for (const listener of this.#listeners) {
      try {
        listener(phase, error)
      } catch (err) {
        console.error('spare: a node phase listener threw', err)
      }
    }
  }

  /** Starts the node once. Rejects with the node's error if it fails (phase becomes 'failed'). */
  start(): Promise<void> {
    if (this.#starting !== null) return this.#starting
    if (this.#phase === 'running') return Promise.resolve()
    const afterStop = this.#stopping ?? Promise.resolve()
    const run = afterStop.then(async () => {
      this.#setPhase('starting')
      try {
        this.#handle = await this.#factory()
        this.#setPhase('running')
      } catch (err) {
        this.#handle = null
        this.#setPhase('failed', err instanceof Error ? err : new Error(String(err)))
        throw err
      }
    })
    this.#starting = run.finally(() => {
      this.#starting = null
    })
    return this.#starting
  }

  /** Closes the node once; safe to call in any phase, and never rejects. */
  stop(): Promise<void> {
    if (this.#stopping !== null) return this.#stopping
    const pendingStart = this.#starting
    if (pendingStart === null && this.#handle === null) return Promise.resolve()
    const run = (async () => {
      if (pendingStart !== null) await pendingStart.catch(() => {})
      const handle = this.#handle
      if (handle === null) return
      this.#setPhase('stopping')
      try {
        await handle.close()
      } catch (err) {
        console.error('spare: the node did not close cleanly', err)
      } finally {
        this.#handle = null
        this.#setPhase('stopped')
      }
    })()
    this.#stopping = run.finally(() => {
      this.#stopping = null
    })
    return this.#stopping
  }
}

/** Resolves true when `promise` settles within `ms`, false when the time runs out first. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([
      promise.then(
        () => true,
        () => true,
      ),
      timeout,
    ])
  } finally {
    clearTimeout(timer)
  }
}
