// A tiny hash router (#/folders): works on the daemon's http:// origin and in Electron's
// custom protocol alike, with no server-side routes.
import { useSyncExternalStore } from 'react'

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange)
  return () => window.removeEventListener('hashchange', onChange)
}

const getHash = () => window.location.hash

export function routeHref(id: string): string {
  return `#/${id}`
}

/** The id of the current route, or `fallback` when the hash names none of `ids`. */
export function useHashRoute(ids: readonly string[], fallback: string): string {
  const hash = useSyncExternalStore(subscribe, getHash, () => '')
  const id = hash.replace(/^#\/?/, '')
  return ids.includes(id) ? id : fallback
}
