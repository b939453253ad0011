// The React side of the environment: one provider, and hooks for the client, the connection state,
// events and a ticking clock. Components never build transports; tests inject a fake environment.
import {
  createContext,
  useContext,
  useEffect,
  useEffectEvent,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from 'react'
import type { SpareClient } from '../../../shared/client.ts'
import type { EventName, EventPayload } from '../../../shared/contract.ts'
import type { ConnectionState } from './connection.ts'
import type { SpareEnvironment } from './environment.ts'

const SpareContext = createContext<SpareEnvironment | null>(null)

export function SpareProvider({ env, children }: { env: SpareEnvironment; children: ReactNode }) {
  return <SpareContext value={env}>{children}</SpareContext>
}

export function useSpare(): SpareEnvironment {
  const env = useContext(SpareContext)
  if (!env) throw new Error('useSpare() needs a <SpareProvider> above it')
  return env
}

export function useClient(): SpareClient {
  return useSpare().client
}

export function useConnection(): ConnectionState {
  const { connection } = useSpare()
  return useSyncExternalStore(connection.subscribe, connection.getState, connection.getState)
}

/** Calls `handler` for every `event` from the node while the component is mounted. */
export function useSpareEvent<E extends EventName>(
  event: E,
  handler: (data: EventPayload<E>) => void,
): void {
  const client = useClient()
  const onEvent = useEffectEvent(handler)
  useEffect(() => client.on(event, (data) => onEvent(data)), [client, event])
}

/** The current time, refreshed every `intervalMs`: for "5 minutes ago" labels. */
export function useNow(intervalMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs)
    return () => clearInterval(timer)
  }, [intervalMs])
  return now
}
