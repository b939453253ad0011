// Loads something about one folder (its members, its conflicts, a file's versions) and loads it
// again when `refresh` changes, after every reconnect and on retry(). While a reload is in flight
// the last answer for the same `key` stays on screen: a refresh never blanks a list that was fine,
// and an answer for another key (another file) is never shown as this one's.
import { useEffect, useEffectEvent, useState } from 'react'
import { useLiveKey } from '../../lib/live.ts'

interface Settled<T> {
  /** What was loaded. */
  key: string
  /** The load this answer belongs to: key, refresh, connection and attempt. */
  load: string
  data: T | null
  error: unknown
}

export interface FolderData<T> {
  data: T | null
  error: unknown
  /** True until the answer for the current load is in. */
  loading: boolean
  retry: () => void
  /** Replaces the data with what a call answered (a removed member, say). */
  set: (data: T) => void
}

/** `key: null` loads nothing (say, no file chosen yet). */
export function useFolderData<T>(
  key: string | null,
  load: () => Promise<T>,
  refresh = '',
): FolderData<T> {
  const { ready, generation } = useLiveKey()
  const [attempt, setAttempt] = useState(0)
  const [settled, setSettled] = useState<Settled<T> | null>(null)
  const run = useEffectEvent(load)
  const current = key === null ? null : JSON.stringify([key, refresh, generation, attempt])

  useEffect(() => {
    if (!ready || key === null || current === null) return
    let cancelled = false
    run().then(
      (data) => {
        if (!cancelled) setSettled({ key, load: current, data, error: null })
      },
      (error: unknown) => {
        if (cancelled) return
        setSettled((s) => ({ key, load: current, data: s?.key === key ? s.data : null, error }))
      },
    )
    return () => {
      cancelled = true
    }
  }, [ready, key, current])

  const same = settled !== null && settled.key === key
  return {
    data: same ? settled.data : null,
    error: same && settled.load === current ? settled.error : null,
    loading: current !== null && settled?.load !== current,
    retry: () => setAttempt((n) => n + 1),
    set: (data) => setSettled((s) => (s && s.key === key ? { ...s, data, error: null } : s)),
  }
}
