// When to (re)load data from the node: once the link is open, and again after every reconnect,
// since events sent while the link was down are lost.
import { useConnection } from './spare-context.tsx'

export interface LiveKey {
  /** True while calls can reach the node. */
  ready: boolean
  /** Changes on every (re)connect; use it as an effect dependency. */
  generation: number
}

export function useLiveKey(): LiveKey {
  const { status, generation } = useConnection()
  return { ready: status === 'open', generation }
}
