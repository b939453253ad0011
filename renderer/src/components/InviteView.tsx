// An invite ready to hand over: the text, a Copy button (with a fallback when the browser refuses
// clipboard access) and a QR code for a phone or a second screen.
import { useEffect, useRef, useState } from 'react'
import { Check, Copy, KeyRound } from 'lucide-react'
import { Button } from './ui.tsx'
import { QrCode } from './QrCode.tsx'

type CopyState = 'idle' | 'copied' | 'failed'

/** Writes to the clipboard; false when the browser has no clipboard API or refuses. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (!navigator.clipboard?.writeText) return false
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    return false
  }
}

function selectContents(el: HTMLElement | null): void {
  if (!el) return
  const selection = window.getSelection()
  if (!selection) return
  const range = document.createRange()
  range.selectNodeContents(el)
  selection.removeAllRanges()
  selection.addRange(range)
}

export function InviteView({ invite, folderName }: { invite: string; folderName: string }) {
  const [copy, setCopy] = useState<CopyState>('idle')
  const textRef = useRef<HTMLElement>(null)

  useEffect(() => {
    if (copy !== 'copied') return
    const timer = setTimeout(() => setCopy('idle'), 2500)
    return () => clearTimeout(timer)
  }, [copy])

  async function onCopy() {
    const ok = await copyText(invite)
    setCopy(ok ? 'copied' : 'failed')
    if (!ok) selectContents(textRef.current)
  }

  return (
    <div className="space-y-4">
      <div className="flex flex-col gap-4 sm:flex-row sm:items-start">
        <QrCode text={invite} label={`QR code of the invite to ${folderName}`} />
        <div className="min-w-0 flex-1 space-y-3">
          <div className="rounded-lg border border-zinc-200 bg-zinc-50 p-3 dark:border-zinc-700 dark:bg-zinc-950">
            <code
              ref={textRef}
              data-testid="invite-text"
              className="block font-mono text-xs leading-relaxed break-all text-zinc-800 select-all dark:text-zinc-200"
            >
              {invite}
            </code>
          </div>
          <div className="flex flex-wrap items-center gap-3">
            <Button
              variant="primary"
              icon={copy === 'copied' ? Check : Copy}
              onClick={() => void onCopy()}
              data-autofocus=""
            >
              {copy === 'copied' ? 'Copied' : 'Copy invite'}
            </Button>
            <p role="status" className="text-xs text-zinc-500 dark:text-zinc-400">
              {copy === 'copied' ? 'The invite is on your clipboard.' : null}
            </p>
          </div>
          {copy === 'failed' ? (
            <p role="alert" className="text-xs font-medium text-amber-700 dark:text-amber-300">
              Couldn’t copy automatically. The invite is selected above: press Ctrl+C (⌘C on a Mac)
              to copy it.
            </p>
          ) : null}
        </div>
      </div>
      <p className="flex items-start gap-2 text-xs text-zinc-500 dark:text-zinc-400">
        <KeyRound aria-hidden="true" className="mt-0.5 size-3.5 shrink-0" />
        The invite carries the folder’s encryption key: anyone who has it can read the folder. Send
        it privately, to the person or device that should get it.
      </p>
    </div>
  )
}
