// Loads something about one folder (its members, its conflicts, a file's versions) and loads it
// again when `refresh` changes, after every reconnect and on retry(). While a reload is in flight
// the last answer for the same `key` stays on screen: a refresh never blanks a list that was fine,
// and an answer for another key (another file) is never shown as this one's.
//
// Loads of one key never overlap. A folder that syncs changes `refresh` (its version) many times
// a second: were each change to start a load and drop the one in flight, no answer would ever be
// shown while it syncs. Instead the answer in flight is shown when it comes (nothing newer is), and
// the changes meanwhile cost one more load after it.
import { useEffect, useEffectEvent, useRef, useState } from 'react'
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

/** The load in flight, and the one to start after it (the newest asked for meanwhile). */
interface Runner {
  key: string
  next: string | null
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
  // What the screen wants now (read when a load ends), and the load of a key in flight.
  const wanted = useRef<{ key: string | null; ready: boolean }>({ key, ready })
  const runner = useRef<Runner | null>(null)

  // Starts a load of `forKey`, then the one asked for meanwhile, if any, and so on.
  const start = useEffectEvent((forKey: string, forLoad: string) => {
    const launch = (l: string) => {
      const mine: Runner = { key: forKey, next: null }
      runner.current = mine
      const finish = (answer: { data: T | null; error: unknown }) => {
        if (runner.current !== mine) return // another key (or none) is wanted now
        runner.current = null
        if (wanted.current.key !== forKey) return
        setSettled((s) => ({
          key: forKey,
          load: l,
          // A failed reload keeps what was shown for this key.
          data: answer.error === null ? answer.data : s?.key === forKey ? s.data : null,
          error: answer.error,
        }))
        if (mine.next !== null && wanted.current.ready) launch(mine.next)
      }
      run().then(
        (data) => finish({ data, error: null }),
        (error: unknown) => finish({ data: null, error }),
      )
    }
    launch(forLoad)
  })

  useEffect(() => {
    wanted.current = { key, ready }
    if (!ready || key === null || current === null) {
      runner.current = null
      return
    }
    const inFlight = runner.current
    if (inFlight && inFlight.key === key) {
      inFlight.next = current
      return
    }
    start(key, current)
  }, [ready, key, current])

  useEffect(
    () => () => {
      runner.current = null
    },
    [],
  )

  const same = settled !== null && settled.key === key
  return {
    data: same ? settled.data : null,
    error: same && settled.load === current ? settled.error : null,
    loading: current !== null && settled?.load !== current,
    retry: () => setAttempt((n) => n + 1),
    set: (data) => setSettled((s) => (s && s.key === key ? { ...s, data, error: null } : s)),
  }
}
