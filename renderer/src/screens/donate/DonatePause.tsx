// Pause donating, or snooze it for an hour (BOINC's tray has Snooze), from the Donate screen's
// header; while paused it says until when and offers Resume. The node answers donate.pause and
// donate.resume with its donation status, shown at once; the tray and the CLI pause the same way,
// and their changes arrive with the screen's refresh (donate.updated).
import { useEffect, useRef, useState } from 'react'
import { AlarmClock, CirclePause, Pause, Play } from 'lucide-react'
import type { DonateStatus } from '../../../../shared/contract.ts'
import { Button, ErrorAlert } from '../../components/ui.tsx'
import { errorMessage } from '../../lib/errors.ts'
import { formatClock, formatTimeMs, isoOf } from '../../lib/format.ts'
import { useLiveKey } from '../../lib/live.ts'
import { useClient, useNow } from '../../lib/spare-context.tsx'

/** BOINC's snooze: one hour. */
export const SNOOZE_MINUTES = 60

type Action = 'pause' | 'snooze' | 'resume'

const FAILED: Record<Action, string> = {
  pause: 'Couldn’t pause donating',
  snooze: 'Couldn’t snooze donating',
  resume: 'Couldn’t resume donating',
}

/** "Donating paused until 14:05" or "… until you resume". */
export function pauseText(pause: NonNullable<DonateStatus['pause']>, now: number): string {
  return pause.until === null
    ? 'Donating paused until you resume'
    : `Donating paused until ${formatClock(pause.until, now)}`
}

export function DonatePause({
  status,
  onChange,
}: {
  status: DonateStatus
  onChange: (status: DonateStatus) => void
}) {
  const client = useClient()
  const { ready } = useLiveKey()
  const now = useNow(30_000)
  const [pending, setPending] = useState<Action | null>(null)
  const [failure, setFailure] = useState<{ action: Action; error: unknown } | null>(null)
  // State lands after a render; the ref stops a double click from sending two calls.
  const inFlight = useRef(false)
  // The button that replaces the one clicked takes the focus, so the keyboard doesn't lose it.
  const moveFocus = useRef(false)
  const container = useRef<HTMLDivElement>(null)
  const resumeRef = useRef<HTMLButtonElement>(null)
  const pauseRef = useRef<HTMLButtonElement>(null)
  const pause = status.pause
  const paused = pause !== null
  // Once donating is as a failed call wanted it (its answer was lost with the link, or the tray
  // did it meanwhile), its failure no longer describes anything: drop it.
  if (failure !== null && paused === (failure.action !== 'resume')) setFailure(null)

  useEffect(() => {
    if (!moveFocus.current) return
    moveFocus.current = false
    ;(paused ? resumeRef : pauseRef).current?.focus()
  }, [paused])

  async function run(action: Action) {
    if (inFlight.current) return
    inFlight.current = true
    // The clicked button goes away once the state flips (from the answer or from donate.updated,
    // whichever comes first); the one that replaces it takes the focus.
    moveFocus.current = container.current?.contains(document.activeElement) ?? false
    setPending(action)
    setFailure(null)
    try {
      const next =
        action === 'resume'
          ? await client.call('donate.resume')
          : await client.call(
              'donate.pause',
              action === 'snooze' ? { minutes: SNOOZE_MINUTES } : {},
            )
      // Still as it was (someone else changed it meanwhile): nothing will flip.
      if ((next.pause !== null) === (action === 'resume')) moveFocus.current = false
      onChange(next)
    } catch (error) {
      moveFocus.current = false
      setFailure({ action, error })
    } finally {
      inFlight.current = false
      setPending(null)
    }
  }

  return (
    <div ref={container} className="flex min-w-0 flex-col items-start gap-2 sm:items-end">
      <div className="flex flex-wrap items-center gap-2 sm:justify-end">
        {pause ? (
          <>
            <p
              data-testid="donate-paused"
              className="flex items-center gap-1.5 text-sm font-medium text-amber-800 dark:text-amber-300"
            >
              <CirclePause aria-hidden="true" className="size-4 shrink-0" />
              {pause.until === null ? (
                pauseText(pause, now)
              ) : (
                <span>
                  Donating paused until{' '}
                  <time dateTime={isoOf(pause.until)} title={formatTimeMs(pause.until)}>
                    {formatClock(pause.until, now)}
                  </time>
                </span>
              )}
            </p>
            <Button
              ref={resumeRef}
              size="sm"
              variant="primary"
              icon={Play}
              // Not `busy`: that disables the button, and a disabled button drops keyboard focus.
              aria-busy={pending === 'resume' || undefined}
              disabled={!ready}
              onClick={() => void run('resume')}
            >
              Resume donating
            </Button>
          </>
        ) : (
          <>
            <Button
              ref={pauseRef}
              size="sm"
              icon={Pause}
              aria-busy={pending === 'pause' || undefined}
              disabled={!ready}
              onClick={() => void run('pause')}
              title="Stop hosting traffic and jobs for others until you resume"
            >
              Pause donating
            </Button>
            <Button
              size="sm"
              icon={AlarmClock}
              aria-busy={pending === 'snooze' || undefined}
              disabled={!ready}
              onClick={() => void run('snooze')}
              title="Stop hosting traffic and jobs for others for an hour"
            >
              Snooze 1 hour
            </Button>
          </>
        )}
      </div>
      {failure ? (
        <ErrorAlert className="text-xs" title={FAILED[failure.action]}>
          {errorMessage(failure.error)}
        </ErrorAlert>
      ) : null}
    </div>
  )
}
