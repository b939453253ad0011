// Settings: where the node keeps its data, which network it is on, and the look of this window.
import { useState, type ReactNode } from 'react'
import { Database, Globe, Monitor, Moon, Palette, Sun, type LucideIcon } from 'lucide-react'
import { API_VERSION } from '../../../shared/contract.ts'
import { CopyButton } from '../components/CopyButton.tsx'
import { Badge, ErrorAlert, PageHeader, Panel, Spinner, cx } from '../components/ui.tsx'
import { errorMessage } from '../lib/errors.ts'
import {
  THEME_OPTIONS,
  applyTheme,
  readTheme,
  safeLocalStorage,
  saveTheme,
  type ThemeSetting,
} from '../lib/theme.ts'
import { useSpare } from '../lib/spare-context.tsx'
import { useNodeOverview } from '../lib/useNodeOverview.ts'
import { NETWORK_MODES } from './NetworkScreen.tsx'

const THEME_ICONS: Record<ThemeSetting, LucideIcon> = { system: Monitor, light: Sun, dark: Moon }

export function useThemeSetting(): [ThemeSetting, (theme: ThemeSetting) => void] {
  const [theme, setTheme] = useState<ThemeSetting>(() => readTheme(safeLocalStorage()))
  function update(next: ThemeSetting) {
    setTheme(next)
    saveTheme(safeLocalStorage(), next)
    applyTheme(document.documentElement, next)
  }
  return [theme, update]
}

function Row({
  icon: Icon,
  title,
  children,
}: {
  icon: LucideIcon
  title: string
  children: ReactNode
}) {
  return (
    <div className="grid gap-3 px-5 py-5 sm:grid-cols-[12rem_minmax(0,1fr)]">
      <h3 className="flex items-center gap-2 text-sm font-medium text-zinc-900 dark:text-zinc-100">
        <Icon aria-hidden="true" className="size-4 text-zinc-500" />
        {title}
      </h3>
      <div className="min-w-0 text-sm">{children}</div>
    </div>
  )
}

export function SettingsScreen() {
  const { status, error } = useNodeOverview({ refreshMs: 0 })
  const [theme, setTheme] = useThemeSetting()
  const { shell } = useSpare()

  return (
    <>
      <PageHeader title="Settings" description="How this node runs and how Spare looks." />
      <div className="space-y-6">
        <Panel title="Node" titleId="settings-node-title">
          {error && !status ? (
            <div className="p-5">
              <ErrorAlert title="Couldn’t load the node’s settings">
                {errorMessage(error)}
              </ErrorAlert>
            </div>
          ) : !status ? (
            <div className="p-5">
              <Spinner label="Loading…" />
            </div>
          ) : (
            <div className="divide-y divide-zinc-200 dark:divide-zinc-800">
              <Row icon={Database} title="Data folder">
                <div className="flex items-start gap-1">
                  <p
                    data-testid="data-dir"
                    className="min-w-0 font-mono break-all text-zinc-800 dark:text-zinc-200"
                  >
                    {status.dataDir}
                  </p>
                  <CopyButton value={status.dataDir} label="Copy data folder path" />
                </div>
                <p className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
                  Where this node keeps its keys, indexes and the data it holds for folders.
                </p>
              </Row>
              <Row icon={Globe} title="Network">
                <div className="flex flex-wrap items-center gap-2">
                  <Badge tone={status.network.mode === 'public' ? 'green' : 'amber'}>
                    {NETWORK_MODES[status.network.mode].label}
                  </Badge>
                  <span className="text-zinc-700 dark:text-zinc-300">
                    {NETWORK_MODES[status.network.mode].description}
                  </span>
                </div>
                <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">
                  The network is chosen when the node starts, with{' '}
                  <code className="rounded bg-zinc-100 px-1 py-0.5 font-mono text-[11px] text-zinc-700 dark:bg-zinc-800 dark:text-zinc-300">
                    spare daemon --network public|local|host:port,…
                  </code>
                  . It can’t be changed here yet.
                </p>
              </Row>
            </div>
          )}
        </Panel>

        <Panel title="Appearance" titleId="settings-appearance-title">
          <Row icon={Palette} title="Theme">
            <fieldset>
              <legend className="sr-only">Theme</legend>
              <div className="inline-flex flex-wrap gap-1 rounded-xl bg-zinc-100 p-1 dark:bg-zinc-800/80">
                {THEME_OPTIONS.map((option) => {
                  const Icon = THEME_ICONS[option.value]
                  const checked = theme === option.value
                  return (
                    <label
                      key={option.value}
                      className={cx(
                        'relative flex cursor-pointer items-center gap-1.5 rounded-lg px-3 py-1.5 text-sm font-medium transition-colors has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-indigo-500',
                        checked
                          ? 'bg-white text-zinc-900 shadow-sm dark:bg-zinc-950 dark:text-zinc-50'
                          : 'text-zinc-600 hover:text-zinc-900 dark:text-zinc-400 dark:hover:text-zinc-100',
                      )}
                    >
                      <input
                        type="radio"
                        name="theme"
                        value={option.value}
                        checked={checked}
                        onChange={() => setTheme(option.value)}
                        className="sr-only"
                      />
                      <Icon aria-hidden="true" className="size-4" />
                      {option.label}
                    </label>
                  )
                })}
              </div>
            </fieldset>
            <p className="mt-2 text-xs text-zinc-500 dark:text-zinc-400">
              {shell === 'app'
                ? 'Follow system switches with your operating system’s light or dark mode.'
                : 'Saved in this browser. Follow system switches with your operating system’s light or dark mode.'}
            </p>
          </Row>
        </Panel>

        <p className="text-xs text-zinc-400 dark:text-zinc-500">
          {status ? `Spare ${status.version} · ` : ''}API version {API_VERSION}
        </p>
      </div>
    </>
  )
}
