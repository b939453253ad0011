// The folder list: loaded with folders.list, then kept live by folder.updated / folder.removed.
import { useEffect, useReducer, useState } from 'react'
import type { FolderSummary } from '../../../../shared/contract.ts'
import { useLiveKey } from '../../lib/live.ts'
import { useClient } from '../../lib/spare-context.tsx'

export interface FoldersState {
  status: 'loading' | 'ready' | 'error'
  folders: FolderSummary[]
  error: unknown
}

export type FoldersAction =
  | { type: 'loaded'; folders: FolderSummary[] }
  | { type: 'failed'; error: unknown }
  | { type: 'upsert'; folder: FolderSummary }
  | { type: 'remove'; id: string }

export const initialFoldersState: FoldersState = { status: 'loading', folders: [], error: null }

export function foldersReducer(state: FoldersState, action: FoldersAction): FoldersState {
  switch (action.type) {
    case 'loaded':
      return { status: 'ready', folders: action.folders, error: null }
    case 'failed':
      // Keep what we had: a failed refresh should not blank a list that was fine a moment ago.
      return { ...state, status: state.status === 'ready' ? 'ready' : 'error', error: action.error }
    case 'upsert': {
      const i = state.folders.findIndex((f) => f.id === action.folder.id)
      const folders =
        i === -1
          ? [...state.folders, action.folder]
          : state.folders.map((f, j) => (j === i ? action.folder : f))
      return { ...state, folders }
    }
    case 'remove':
      return { ...state, folders: state.folders.filter((f) => f.id !== action.id) }
  }
}

export function useFolders() {
  const client = useClient()
  const { ready, generation } = useLiveKey()
  const [state, dispatch] = useReducer(foldersReducer, initialFoldersState)
  const [attempt, setAttempt] = useState(0)

  useEffect(() => {
    if (!ready) return
    let cancelled = false
    let listed = false
    // Events that arrive while folders.list is in flight are replayed over its answer.
    const early: FoldersAction[] = []
    const apply = (action: FoldersAction) => {
      if (cancelled) return
      if (listed) dispatch(action)
      else early.push(action)
    }
    const offUpdated = client.on('folder.updated', (folder) => apply({ type: 'upsert', folder }))
    const offRemoved = client.on('folder.removed', ({ id }) => apply({ type: 'remove', id }))
    client.call('folders.list').then(
      (folders) => {
        if (cancelled) return
        dispatch({ type: 'loaded', folders })
        listed = true
        for (const action of early.splice(0)) dispatch(action)
      },
      (error: unknown) => {
        if (cancelled) return
        dispatch({ type: 'failed', error })
        listed = true
        for (const action of early.splice(0)) dispatch(action)
      },
    )
    return () => {
      cancelled = true
      offUpdated()
      offRemoved()
    }
  }, [client, ready, generation, attempt])

  return {
    ...state,
    /** Applies a folder the UI got from a call (share/join) without waiting for its event. */
    upsert: (folder: FolderSummary) => dispatch({ type: 'upsert', folder }),
    remove: (id: string) => dispatch({ type: 'remove', id }),
    retry: () => setAttempt((n) => n + 1),
  }
}
