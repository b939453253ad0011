// A small icon button that copies a value, with its own accessible name.
import { useEffect, useState } from 'react'
import { Check, Copy } from 'lucide-react'
import { copyText } from './InviteView.tsx'
import { cx } from './ui.tsx'

export function CopyButton({ value, label }: { value: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle')
  useEffect(() => {
    if (state === 'idle') return
    const timer = setTimeout(() => setState('idle'), 2000)
    return () => clearTimeout(timer)
  }, [state])
  const Icon = state === 'copied' ? Check : Copy
  return (
    <>
      <button
        type="button"
        aria-label={label}
        title={state === 'failed' ? 'Your browser did not allow copying' : label}
        onClick={() => void copyText(value).then((ok) => setState(ok ? 'copied' : 'failed'))}
        className={cx(
          'inline-flex size-7 shrink-0 items-center justify-center rounded-md text-zinc-400 hover:bg-zinc-100 hover:text-zinc-700 focus-visible:outline-2 focus-visible:outline-indigo-500 dark:hover:bg-zinc-800 dark:hover:text-zinc-200',
          state === 'copied' && 'text-emerald-600 dark:text-emerald-400',
          state === 'failed' && 'text-red-600',
        )}
      >
        <Icon aria-hidden="true" className="size-3.5" />
      </button>
      <span className="sr-only" role="status">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copy failed' : ''}
      </span>
    </>
  )
}
