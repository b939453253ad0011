// The "not connected" banner of the web UI, shown while the daemon's WebSocket is down.
import { useEffect, useState, type ReactNode } from 'react'
import { RefreshCw, WifiOff } from 'lucide-react'
import { useConnection, useSpare } from '../lib/spare-context.tsx'

/** "Next attempt in 4 s.", ticking. Keyed by its target, so its clock starts fresh each time. */
function Countdown({ target }: { target: number }) {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 500)
    return () => clearInterval(timer)
  }, [])
  const seconds = Math.max(0, Math.ceil((target - now) / 1000))
  return <>{seconds > 0 ? `Next attempt in ${seconds} s.` : 'Connecting…'}</>
}

export function ConnectionBanner() {
  const { connection } = useSpare()
  const state = useConnection()

  // The very first attempt is quiet: screens show their own loading state.
  const down =
    state.status === 'retrying' ||
    state.status === 'closed' ||
    (state.status === 'connecting' && (state.attempt > 0 || state.generation > 0))
  if (!down) return null

  let detail: ReactNode
  if (state.status === 'closed') detail = 'Reload the page to connect again.'
  else if (state.status === 'retrying' && state.retryAt !== null)
    detail = <Countdown key={state.retryAt} target={state.retryAt} />
  else detail = 'Connecting…'

  return (
    <div
      role="alert"
      className="flex flex-wrap items-center gap-x-3 gap-y-2 border-b border-amber-300 bg-amber-50 px-4 py-2.5 text-sm text-amber-900 dark:border-amber-900/70 dark:bg-amber-950/60 dark:text-amber-100"
    >
      <WifiOff aria-hidden="true" className="size-4 shrink-0" />
      <p className="min-w-0 flex-1">
        {state.loggedOut && state.status !== 'closed' ? (
          <>
            <span className="font-semibold">This browser is not logged in to the Spare node.</span>{' '}
            <span className="text-amber-800 dark:text-amber-200">
              This page needs a login link (a restarted node forgets its logins). Run{' '}
              <code>spare ui</code> on the node’s machine and open the link it prints: this page
              reconnects by itself.
            </span>
          </>
        ) : (
          <>
            <span className="font-semibold">
              {state.status === 'closed'
                ? 'Not connected to the Spare node.'
                : 'Not connected to the Spare node — retrying.'}
            </span>{' '}
            <span className="text-amber-800 dark:text-amber-200">
              {detail}
              {state.lastError ? ` (${state.lastError})` : ''} Is <code>spare daemon</code> running?
            </span>
          </>
        )}
      </p>
      {state.status === 'retrying' ? (
        <button
          type="button"
          onClick={() => connection.retryNow()}
          className="inline-flex items-center gap-1.5 rounded-md px-2 py-1 font-medium text-amber-900 ring-1 ring-amber-400 ring-inset hover:bg-amber-100 focus-visible:outline-2 focus-visible:outline-amber-600 dark:text-amber-100 dark:ring-amber-700 dark:hover:bg-amber-900/50"
        >
          <RefreshCw aria-hidden="true" className="size-3.5" />
          Retry now
        </button>
      ) : null}
    </div>
  )
}
