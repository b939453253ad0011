// One typed client over any transport. The renderer, the CLI and the tests all use it and never
// learn which transport carries their calls (Electron IPC or the daemon's WebSocket/HTTP).
import {
  ApiError,
  ErrorBodySchema,
  describeZodError,
  events,
  methods,
  type EventName,
  type EventPayload,
  type MethodName,
  type MethodParams,
  type MethodResult,
} from './contract.ts'

/** What a transport must provide: raw calls and raw event subscription. */
export interface Transport {
  call(method: string, params: unknown): Promise<unknown>
  /** Subscribes to every event; returns an unsubscribe function. */
  subscribe(listener: (event: string, data: unknown) => void): () => void
  close?(): void | Promise<void>
}

export interface SpareClient {
  call<M extends MethodName>(method: M, params?: MethodParams<M>): Promise<MethodResult<M>>
  on<E extends EventName>(event: E, listener: (data: EventPayload<E>) => void): () => void
  close(): Promise<void>
}

export function createClient(transport: Transport): SpareClient {
  return {
    async call(method, params) {
      const spec = methods[method]
      const raw = await transport.call(method, params ?? {})
      const parsed = spec.result.safeParse(raw)
      if (!parsed.success) {
        throw new ApiError(
          'INTERNAL',
          `the node answered ${method} with an unexpected shape: ${describeZodError(parsed.error)}`,
        )
      }
      return parsed.data as MethodResult<typeof method>
    },
    on(event, listener) {
      const schema = events[event]
      return transport.subscribe((name, data) => {
        if (name !== event) return
        const parsed = schema.safeParse(data)
        if (parsed.success) listener(parsed.data as EventPayload<typeof event>)
      })
    },
    async close() {
      await transport.close?.()
    },
  }
}

/** Rebuilds an ApiError from an error body that crossed a transport, or wraps anything else. */
export function toApiError(body: unknown, fallback: string): ApiError {
  const parsed = ErrorBodySchema.safeParse(body)
  if (parsed.success) return new ApiError(parsed.data.error.code, parsed.data.error.message)
  return new ApiError('INTERNAL', fallback)
}
