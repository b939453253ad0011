// Something node-wide (donation status, the ledger) loaded once the link is open, again after every
// reconnect and on retry(), on a timer like the Network screen, and when the node says something
// changed (its events). Refreshes never overlap: an event during a load asks for one more load
// after it, so a burst of folder.updated events costs two calls, not one per event. A failed
// refresh keeps what was shown; the failure is reported until the next success.
import { useEffect, useEffectEvent, useRef, useState } from 'react'
import type { EventName } from '../../../shared/contract.ts'
import { useLiveKey } from './live.ts'
import { useClient } from './spare-context.tsx'

export interface NodeData<T> {
  data: T | null
  /** The last refresh's failure, cleared by the next success. */
  error: unknown
  /** True until the first answer (or failure). */
  loading: boolean
  retry: () => void
  /** Shows what a call answered (donate.set) without waiting for the next refresh. */
  apply: (data: T) => void
}

export interface NodeDataOptions {
  /** Refresh period in ms; 0 turns the timer off. */
  refreshMs?: number
  /** Events after which to load again. */
  events?: readonly EventName[]
}

export function useNodeData<T>(
  load: () => Promise<T>,
  { refreshMs = 5000, events = [] }: NodeDataOptions = {},
): NodeData<T> {
  const client = useClient()
  const { ready, generation } = useLiveKey()
  const [data, setData] = useState<T | null>(null)
  const [error, setError] = useState<unknown>(null)
  const [attempt, setAttempt] = useState(0)
  const seq = useRef(0)
  const run = useEffectEvent(load)
  const eventKey = events.join(',')

  useEffect(() => {
    if (!ready) return
    let cancelled = false
    let running = false
    let again = false

    async function refresh() {
      if (running) {
        again = true
        return
      }
      running = true
      const mine = ++seq.current
      try {
        const next = await run()
        if (!cancelled && mine === seq.current) {
          setData(next)
          setError(null)
        }
      } catch (err) {
        if (!cancelled && mine === seq.current) setError(err)
      } finally {
        running = false
        if (again && !cancelled) {
          again = false
          void refresh()
        }
      }
    }

    void refresh()
    const timer = refreshMs > 0 ? setInterval(() => void refresh(), refreshMs) : null
    const offs = eventKey
      ? (eventKey.split(',') as EventName[]).map((event) => client.on(event, () => void refresh()))
      : []
    return () => {
      cancelled = true
      if (timer) clearInterval(timer)
      for (const off of offs) off()
    }
  }, [client, ready, generation, refreshMs, eventKey, attempt])

  return {
    data,
    error,
    loading: data === null && error === null,
    retry: () => setAttempt((n) => n + 1),
    apply: (next: T) => {
      // Newer than any refresh in flight: that one must not overwrite it.
      seq.current++
      setData(next)
      setError(null)
    },
  }
}
