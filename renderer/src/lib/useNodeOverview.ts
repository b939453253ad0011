// Node status and peers, refreshed on node.updated events and on a timer.
import { useEffect, useRef, useState } from 'react'
import type { NodeStatus, Peer } from '../../../shared/contract.ts'
import { useLiveKey } from './live.ts'
import { useClient } from './spare-context.tsx'

export interface NodeOverview {
  status: NodeStatus | null
  peers: Peer[] | null
  /** Folder names by id, to name the folders peers replicate; empty if folders.list failed. */
  folderNames: ReadonlyMap<string, string>
  /** The last refresh's failure, cleared by the next success. */
  error: unknown
  loading: boolean
  retry: () => void
  /** Shows a status the UI got from a call (sync.pause, sync.resume) without waiting for events. */
  apply: (status: NodeStatus) => void
}

export interface NodeOverviewOptions {
  /** Also load peers.list and folder names (the Network screen). */
  peers?: boolean
  /** Refresh period in ms; 0 turns the timer off. */
  refreshMs?: number
}

export function useNodeOverview({ peers = false, refreshMs = 5000 }: NodeOverviewOptions = {}) {
  const client = useClient()
  const { ready, generation } = useLiveKey()
  const [status, setStatus] = useState<NodeStatus | null>(null)
  const [peerList, setPeerList] = useState<Peer[] | null>(null)
  const [folderNames, setFolderNames] = useState<ReadonlyMap<string, string>>(() => new Map())
  const [error, setError] = useState<unknown>(null)
  const [attempt, setAttempt] = useState(0)
  const seq = useRef(0)

  useEffect(() => {
    if (!ready) return
    let cancelled = false
    // Refreshes never overlap (as in useNodeData): on a node slower than the timer, each new
    // refresh would discard the answer before it, and nothing would ever show. One asked for
    // while another runs starts when it ends.
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
        const [nextStatus, nextPeers] = await Promise.all([
          client.call('node.status'),
          peers ? client.call('peers.list') : Promise.resolve(null),
        ])
        // Names are a nicety: a failure here must not hide the peers.
        const names = peers
          ? await client.call('folders.list').then(
              (list) => new Map(list.map((f) => [f.id, f.name])),
              () => null,
            )
          : null
        if (cancelled) return
        // A node.updated (or an applied answer) since this refresh began carries a newer status;
        // the peers and names are still the newest there are (refreshes don't overlap): keep
        // them, or peers coming and going faster than a refresh would hide them for good.
        if (mine === seq.current) setStatus(nextStatus)
        if (nextPeers) setPeerList(nextPeers)
        if (names) setFolderNames(names)
        setError(null)
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
    const off = client.on('node.updated', (next) => {
      if (cancelled) return
      // Newer than any refresh still in flight: that one must not overwrite it.
      seq.current++
      setStatus(next)
      if (peers) void refresh()
    })
    return () => {
      cancelled = true
      if (timer) clearInterval(timer)
      off()
    }
  }, [client, ready, generation, peers, refreshMs, attempt])

  return {
    status,
    peers: peerList,
    folderNames,
    error,
    loading: status === null && error === null,
    retry: () => setAttempt((n) => n + 1),
    apply: (next: NodeStatus) => {
      seq.current++
      setStatus(next)
      setError(null)
    },
  } satisfies NodeOverview
}
