// The node-wide "Pause syncing" / "Resume syncing" button of the app's top area (the sidebar on
// wide windows, the top bar on narrow ones), with the failure of its last attempt shown under it.
import { Pause, Play } from 'lucide-react'
import { errorMessage } from '../lib/errors.ts'
import { useSyncPause } from '../lib/useSyncPause.ts'
import { Button, ErrorAlert, cx } from './ui.tsx'

export function SyncPauseToggle({ className }: { className?: string }) {
  const { paused, pending, failure, canToggle, toggle } = useSyncPause()
  // Until the node's status is known there is nothing truthful to offer.
  if (paused === null) return null
  return (
    <div className={cx('flex min-w-0 flex-col gap-2', failure && 'basis-full', className)}>
      <Button
        size="sm"
        variant={paused ? 'primary' : 'secondary'}
        icon={paused ? Play : Pause}
        // Not `busy`: that disables the button, and a disabled button drops keyboard focus.
        aria-busy={pending !== null || undefined}
        disabled={!canToggle}
        onClick={() => void toggle()}
        className="md:w-full"
      >
        {paused ? 'Resume syncing' : 'Pause syncing'}
      </Button>
      {failure ? (
        <ErrorAlert
          className="text-xs"
          title={
            failure.method === 'sync.pause' ? 'Couldn’t pause syncing' : 'Couldn’t resume syncing'
          }
        >
          {errorMessage(failure.error)}
        </ErrorAlert>
      ) : null}
    </div>
  )
}
