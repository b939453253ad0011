// A plain table of rows for a panel: header and data cells, in a box the keyboard can scroll
// sideways when the window is narrow (or zoomed).
import type { ReactNode } from 'react'
import { cx } from './ui.tsx'

export function Th({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <th
      scope="col"
      className={cx(
        'px-3 py-2 text-left text-xs font-medium whitespace-nowrap text-zinc-500 first:pl-5 last:pr-5 dark:text-zinc-400',
        className,
      )}
    >
      {children}
    </th>
  )
}

export function Td({ children, className }: { children: ReactNode; className?: string }) {
  return (
    <td
      className={cx(
        'px-3 py-2.5 align-top whitespace-nowrap first:pl-5 last:pr-5 tabular-nums',
        className,
      )}
    >
      {children}
    </td>
  )
}

export function DataTable({
  label,
  head,
  children,
}: {
  /** The table's accessible name. */
  label: string
  /** The header cells (Th). */
  head: ReactNode
  /** The rows. */
  children: ReactNode
}) {
  return (
    // Focusable, so the keyboard can scroll it sideways in a narrow window.
    <div
      tabIndex={0}
      className="overflow-x-auto focus-visible:outline-2 focus-visible:-outline-offset-2 focus-visible:outline-indigo-500"
    >
      <table aria-label={label} className="min-w-full text-sm text-zinc-700 dark:text-zinc-300">
        <thead className="border-b border-zinc-200 dark:border-zinc-800">
          <tr>{head}</tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-800">{children}</tbody>
      </table>
    </div>
  )
}
