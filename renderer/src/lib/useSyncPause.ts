// Node-wide "pause syncing": NodeStatus.paused, live from node.updated events and a periodic
// refresh, and a toggle that calls sync.pause or sync.resume.
import { useRef, useState } from 'react'
import { useLiveKey } from './live.ts'
import { useClient } from './spare-context.tsx'
import { useNodeOverview } from './useNodeOverview.ts'

export type SyncPauseMethod = 'sync.pause' | 'sync.resume'

export interface SyncPause {
  /** NodeStatus.paused; null until the node's status is known. */
  paused: boolean | null
  /** The call in flight, if any. */
  pending: SyncPauseMethod | null
  /** Why the last pause or resume failed (and which it was), cleared by the next attempt. */
  failure: { method: SyncPauseMethod; error: unknown } | null
  /** False while the node can't be reached or its status isn't known yet. */
  canToggle: boolean
  /** Pauses when syncing, resumes when paused. Ignored while a call is in flight. */
  toggle: () => Promise<void>
}

export function useSyncPause({ refreshMs = 5000 }: { refreshMs?: number } = {}): SyncPause {
  const client = useClient()
  const { ready } = useLiveKey()
  const overview = useNodeOverview({ refreshMs })
  const [pending, setPending] = useState<SyncPauseMethod | null>(null)
  const [failure, setFailure] = useState<SyncPause['failure']>(null)
  // State updates land after a re-render; the ref stops a double click from sending two calls.
  const inFlight = useRef(false)
  const paused = overview.status?.paused ?? null

  async function toggle() {
    if (inFlight.current || paused === null) return
    const method: SyncPauseMethod = paused ? 'sync.resume' : 'sync.pause'
    inFlight.current = true
    setPending(method)
    setFailure(null)
    try {
      overview.apply(await client.call(method))
    } catch (error) {
      setFailure({ method, error })
    } finally {
      inFlight.current = false
      setPending(null)
    }
  }

  // Once the node is in the state a failed call asked for (its answer was lost with the link, or
  // someone else did it meanwhile), "couldn't pause" no longer describes anything: drop it (during
  // render, React's way to adjust state to what changed).
  if (failure !== null && paused === (failure.method === 'sync.pause')) setFailure(null)
  return {
    paused,
    pending,
    failure,
    canToggle: ready && paused !== null,
    toggle,
  }
}
