// The shell: a left nav (a top bar on narrow windows and at high zoom) with the node-wide
// pause toggle, the connection banner, and the current screen.
import { useEffect, useRef } from 'react'
import { HardDrive } from 'lucide-react'
import { ConnectionBanner } from './components/ConnectionBanner.tsx'
import { ScreenBoundary } from './components/ScreenBoundary.tsx'
import { SyncPauseToggle } from './components/SyncPauseToggle.tsx'
import { cx } from './components/ui.tsx'
import { routeHref, useHashRoute } from './lib/route.ts'
import { useConnection, useSpare } from './lib/spare-context.tsx'
import { NAV_ITEMS, type NavItem } from './nav.tsx'

function ConnectionIndicator() {
  const { shell } = useSpare()
  const { status } = useConnection()
  const label =
    status === 'open'
      ? 'Connected to node'
      : status === 'connecting'
        ? 'Connecting…'
        : status === 'retrying'
          ? 'Reconnecting…'
          : 'Disconnected'
  return (
    <div className="flex items-center gap-2 text-xs text-zinc-500 dark:text-zinc-400">
      <span
        aria-hidden="true"
        className={cx(
          'size-2 rounded-full',
          status === 'open'
            ? 'bg-emerald-500'
            : status === 'closed'
              ? 'bg-red-500'
              : 'bg-amber-500',
          status !== 'open' && status !== 'closed' && 'animate-pulse',
        )}
      />
      <span>{label}</span>
      <span className="ml-auto text-zinc-400 dark:text-zinc-500">
        {shell === 'app' ? 'App' : 'Web UI'}
      </span>
    </div>
  )
}

export function App({ navItems = NAV_ITEMS }: { navItems?: readonly NavItem[] }) {
  const first = navItems[0]
  if (!first) throw new Error('App needs at least one nav item')
  const route = useHashRoute(
    navItems.map((item) => item.id),
    first.id,
  )
  const current = navItems.find((item) => item.id === route) ?? first
  const Screen = current.Screen
  const mainRef = useRef<HTMLElement>(null)
  const previousRoute = useRef(route)

  useEffect(() => {
    document.title = `${current.label} · Spare`
    // After a navigation (not on first load), move focus to the new page's heading.
    if (previousRoute.current === route) return
    previousRoute.current = route
    mainRef.current?.querySelector<HTMLElement>('[data-page-heading]')?.focus()
  }, [route, current.label])

  return (
    <div className="flex h-full flex-col md:flex-row">
      <a
        href="#main"
        onClick={(e) => {
          e.preventDefault()
          mainRef.current?.focus()
        }}
        className="sr-only z-50 rounded-md bg-indigo-600 px-3 py-2 text-sm font-medium text-white focus:not-sr-only focus:absolute focus:top-2 focus:left-2"
      >
        Skip to content
      </a>
      <aside className="flex shrink-0 flex-wrap items-center gap-x-4 gap-y-1 border-b border-zinc-200 bg-zinc-50/80 px-3 py-2 md:w-60 md:flex-col md:flex-nowrap md:items-stretch md:border-r md:border-b-0 md:px-3 md:py-4 dark:border-zinc-800 dark:bg-zinc-900/50">
        {/* Brand and pause toggle: one row above the nav when narrow, stacked in the sidebar. */}
        <div className="flex w-full flex-wrap items-center justify-between gap-x-4 gap-y-2 md:mb-4 md:w-auto md:flex-col md:flex-nowrap md:items-stretch md:gap-6">
          <div className="flex items-center gap-2.5 px-2">
            <div
              aria-hidden="true"
              className="flex size-8 items-center justify-center rounded-lg bg-gradient-to-br from-indigo-500 to-violet-600 text-white shadow-sm"
            >
              <HardDrive className="size-4" />
            </div>
            <span className="text-[15px] font-semibold tracking-tight text-zinc-900 dark:text-zinc-50">
              Spare
            </span>
          </div>
          <SyncPauseToggle className="md:px-2" />
        </div>
        <nav aria-label="Main" className="min-w-0 flex-1 md:flex-none">
          <ul className="flex flex-wrap gap-1 md:flex-col">
            {navItems.map((item) => {
              const active = item.id === current.id
              const Icon = item.icon
              return (
                <li key={item.id}>
                  <a
                    href={routeHref(item.id)}
                    aria-current={active ? 'page' : undefined}
                    className={cx(
                      'flex items-center gap-2.5 rounded-lg px-2.5 py-1.5 text-sm font-medium transition-colors focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-indigo-500',
                      active
                        ? 'bg-white text-zinc-900 shadow-xs ring-1 ring-zinc-200 dark:bg-zinc-800 dark:text-zinc-50 dark:ring-zinc-700'
                        : 'text-zinc-600 hover:bg-zinc-200/60 hover:text-zinc-900 dark:text-zinc-400 dark:hover:bg-zinc-800/60 dark:hover:text-zinc-100',
                    )}
                  >
                    <Icon
                      aria-hidden="true"
                      className={cx(
                        'size-4',
                        active ? 'text-indigo-600 dark:text-indigo-400' : 'text-zinc-400',
                      )}
                    />
                    {item.label}
                  </a>
                </li>
              )
            })}
          </ul>
        </nav>
        <div className="hidden px-2 md:mt-auto md:block">
          <ConnectionIndicator />
        </div>
      </aside>
      <div className="flex min-h-0 min-w-0 flex-1 flex-col">
        <ConnectionBanner />
        <main
          id="main"
          ref={mainRef}
          tabIndex={-1}
          className="min-h-0 flex-1 overflow-y-auto focus:outline-none"
        >
          <div className="mx-auto w-full max-w-5xl px-4 py-6 sm:px-8 sm:py-8">
            {/* Keyed by screen: a failed one is tried afresh when navigated back to. */}
            <ScreenBoundary key={current.id}>
              <Screen />
            </ScreenBoundary>
          </div>
        </main>
      </div>
    </div>
  )
}
