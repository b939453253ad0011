// An accessible modal dialog: role="dialog" + aria-modal, labelled by its title, Escape and the
// close button dismiss it, Tab stays inside, and focus returns to where it was when it closes.
import {
  useEffect,
  useEffectEvent,
  useId,
  useRef,
  type FormEvent,
  type KeyboardEvent,
  type ReactNode,
} from 'react'
import { X, type LucideIcon } from 'lucide-react'
import { Button, cx } from './ui.tsx'

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), textarea:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex="-1"])'

/** Focuses what a dialog starts on: its [data-autofocus] element, else the first one focusable. */
function focusInitial(panel: HTMLElement): void {
  const auto = panel.querySelector<HTMLElement>(
    '[autofocus]:not([disabled]), [data-autofocus]:not([disabled])',
  )
  const first = auto ?? panel.querySelector<HTMLElement>(FOCUSABLE)
  ;(first ?? panel).focus()
}

export interface ModalProps {
  title: string
  description?: ReactNode
  onClose: () => void
  children: ReactNode
  /** Footer buttons, right-aligned. */
  footer?: ReactNode
  /** sm: a confirmation; md: a form; lg: side-by-side content (one column when narrow). */
  size?: 'sm' | 'md' | 'lg'
  /** An icon left of the title. */
  icon?: ReactNode
  /** Makes the body and footer one form, so Enter and a footer submit button both submit it. */
  onSubmit?: (e: FormEvent<HTMLFormElement>) => void
  /**
   * A call is in flight that closing would not stop (a share, a join, a removal): Escape, the
   * backdrop and × leave the dialog open, so it never looks called off while it goes on.
   */
  busy?: boolean
}

export function Modal({
  title,
  description,
  onClose,
  children,
  footer,
  size = 'md',
  icon,
  onSubmit,
  busy = false,
}: ModalProps) {
  const titleId = useId()
  const descriptionId = useId()
  const panelRef = useRef<HTMLDivElement>(null)
  const dismiss = () => {
    if (!busy) onClose()
  }
  const close = useEffectEvent(dismiss)

  useEffect(() => {
    const previous = document.activeElement instanceof HTMLElement ? document.activeElement : null
    if (panelRef.current) focusInitial(panelRef.current)
    const onKey = (e: globalThis.KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.stopPropagation()
        close()
      }
    }
    document.addEventListener('keydown', onKey)
    return () => {
      document.removeEventListener('keydown', onKey)
      if (previous && previous.isConnected) previous.focus()
    }
  }, [])

  // The focused element went away with the content it was in (a form replaced by its result):
  // focus would fall to the page behind the dialog, out of reach of Escape's and Tab's handling
  // here. Put it back where a freshly opened dialog puts it.
  useEffect(() => {
    const panel = panelRef.current
    const active = document.activeElement
    if (panel && (active === null || active === document.body)) focusInitial(panel)
  })

  const body = (
    <>
      <div className="px-6 pt-4 pb-5">{children}</div>
      {footer ? (
        <div className="flex flex-wrap justify-end gap-2 rounded-b-2xl border-t border-zinc-200 bg-zinc-50 px-6 py-3 dark:border-zinc-800 dark:bg-zinc-900/80">
          {footer}
        </div>
      ) : null}
    </>
  )

  function trapTab(e: KeyboardEvent<HTMLDivElement>) {
    if (e.key !== 'Tab' || !panelRef.current) return
    const items = [...panelRef.current.querySelectorAll<HTMLElement>(FOCUSABLE)]
    const first = items[0]
    const last = items[items.length - 1]
    // Nothing to move to (all disabled while busy): Tab stays on the panel, not the page behind.
    if (!first || !last) {
      e.preventDefault()
      return
    }
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault()
      last.focus()
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault()
      first.focus()
    }
  }

  return (
    <div
      className="fixed inset-0 z-50 flex items-end justify-center overflow-y-auto bg-zinc-950/40 p-4 backdrop-blur-[2px] sm:items-center dark:bg-black/60"
      onMouseDown={(e) => {
        if (e.target === e.currentTarget) dismiss()
      }}
    >
      <div
        ref={panelRef}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        aria-describedby={description ? descriptionId : undefined}
        tabIndex={-1}
        onKeyDown={trapTab}
        className={cx(
          'relative my-auto w-full rounded-2xl border border-zinc-200 bg-white shadow-2xl focus:outline-none dark:border-zinc-800 dark:bg-zinc-900',
          size === 'sm' ? 'max-w-md' : size === 'lg' ? 'max-w-5xl' : 'max-w-lg',
        )}
      >
        <div className="flex items-start gap-3 px-6 pt-5">
          {icon}
          <div className="min-w-0 flex-1">
            {/* A folder's or a file's name can be one long word: wrap it anywhere. */}
            <h2
              id={titleId}
              className="text-base font-semibold wrap-anywhere text-zinc-900 dark:text-zinc-50"
            >
              {title}
            </h2>
            {description ? (
              <div
                id={descriptionId}
                className="mt-1 text-sm wrap-anywhere text-zinc-500 dark:text-zinc-400"
              >
                {description}
              </div>
            ) : null}
          </div>
          <button
            type="button"
            aria-label="Close"
            onClick={dismiss}
            disabled={busy}
            className="-mt-1 -mr-2 rounded-lg p-1.5 text-zinc-400 hover:bg-zinc-100 hover:text-zinc-700 focus-visible:outline-2 focus-visible:outline-indigo-500 disabled:opacity-40 dark:hover:bg-zinc-800 dark:hover:text-zinc-200"
          >
            <X aria-hidden="true" className="size-4" />
          </button>
        </div>
        {onSubmit ? (
          <form noValidate onSubmit={onSubmit}>
            {body}
          </form>
        ) : (
          body
        )}
      </div>
    </div>
  )
}

/**
 * The footer of a form dialog: Cancel, which closes it (not while its call is in flight), and the
 * button that submits it.
 */
export function FormFooter({
  submitLabel,
  icon,
  onCancel,
  busy,
}: {
  submitLabel: string
  icon: LucideIcon
  onCancel: () => void
  busy: boolean
}) {
  return (
    <>
      <Button onClick={onCancel} disabled={busy}>
        Cancel
      </Button>
      <Button type="submit" variant="primary" icon={icon} busy={busy}>
        {submitLabel}
      </Button>
    </>
  )
}
