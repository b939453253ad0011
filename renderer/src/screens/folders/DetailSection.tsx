// One titled part of a two-way folder's details.
import type { ReactNode, Ref } from 'react'

/** One titled part of the details. */
export function DetailSection({
  id,
  title,
  description,
  children,
  ref,
}: {
  id: string
  title: string
  description?: ReactNode
  children: ReactNode
  ref?: Ref<HTMLElement>
}) {
  return (
    <section ref={ref} aria-labelledby={id} className="scroll-mt-4 space-y-2">
      <div>
        <h3 id={id} className="text-sm font-semibold text-zinc-900 dark:text-zinc-100">
          {title}
        </h3>
        {description ? (
          <p className="mt-0.5 text-xs text-zinc-500 dark:text-zinc-400">{description}</p>
        ) : null}
      </div>
      {children}
    </section>
  )
}
