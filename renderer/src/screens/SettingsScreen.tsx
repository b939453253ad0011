// Settings: where the node keeps its data, which network it is on, whether the app starts at login
// (in the app only) and the look of this window.
import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react'
import { Database, Globe, Monitor, Moon, Palette, Power, Sun, type LucideIcon } from 'lucide-react'
import { API_VERSION, type NetworkMode, type NodeStatus } from '../../../shared/contract.ts'
import type { LoginItemState, SpareBridge } from '../../../shared/ipc.ts'
import { CopyButton } from '../components/CopyButton.tsx'
import { Button, ErrorAlert, Field, PageHeader, Panel, Spinner, cx } from '../components/ui.tsx'
import { findBridge } from '../lib/bridge-transport.ts'
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

const NETWORK_OPTIONS: ReadonlyArray<{ value: NetworkMode; label: string; description: string }> = [
  { value: 'public', label: 'Public', description: 'HyperDHT’s public bootstrap — for real use.' },
  { value: 'local', label: 'Local', description: 'Only this machine, 127.0.0.1.' },
  {
    value: 'custom',
    label: 'Custom bootstrap',
    description: 'Your own bootstrap nodes, for a private network.',
  },
]

interface NetworkDraft {
  mode: NetworkMode
  /** The bootstrap list typed for 'custom', kept while another mode is picked. */
  bootstrap: string
}

function draftOf(network: NodeStatus['network']): NetworkDraft {
  return {
    mode: network.mode,
    bootstrap: network.mode === 'custom' ? network.bootstrap.join(',') : '',
  }
}

/** The value node.setNetwork takes: 'public', 'local' or 'HOST:PORT,HOST:PORT'. */
function networkValue(draft: NetworkDraft): string {
  if (draft.mode !== 'custom') return draft.mode
  return draft.bootstrap
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .join(',')
}

/** Picks the network mode and applies it live through node.setNetwork. */
function NetworkForm({
  status,
  onApplied,
}: {
  status: NodeStatus
  onApplied: (status: NodeStatus) => void
}) {
  const { client } = useSpare()
  const id = useId()
  // null: untouched, so the form follows the node (also when the network changes elsewhere).
  const [draft, setDraft] = useState<NetworkDraft | null>(null)
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<unknown>(null)
  const [done, setDone] = useState(false)

  const current = draftOf(status.network)
  const value = draft ?? current
  const network = networkValue(value)
  const changed = network !== networkValue(current)

  function edit(next: NetworkDraft) {
    setDraft(next)
    setError(null)
    setDone(false)
  }

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault()
    if (busy || !changed || !network) return
    setBusy(true)
    setError(null)
    setDone(false)
    try {
      const next = await client.call('node.setNetwork', { network })
      onApplied(next)
      setDraft(null)
      setDone(true)
    } catch (err) {
      setError(err)
    } finally {
      setBusy(false)
    }
  }

  return (
    <form onSubmit={(e) => void submit(e)} className="space-y-3">
      <fieldset disabled={busy}>
        <legend className="sr-only">Network</legend>
        <div className="space-y-2">
          {NETWORK_OPTIONS.map((option) => {
            const checked = value.mode === option.value
            const labelId = `${id}-${option.value}-label`
            const descriptionId = `${id}-${option.value}-description`
            return (
              <label
                key={option.value}
                className={cx(
                  'flex cursor-pointer items-start gap-2.5 rounded-lg px-3 py-2 ring-1 ring-inset transition-colors has-[:focus-visible]:outline-2 has-[:focus-visible]:outline-indigo-500',
                  checked
                    ? 'bg-indigo-50/60 ring-indigo-300 dark:bg-indigo-950/40 dark:ring-indigo-800'
                    : 'ring-zinc-200 hover:bg-zinc-50 dark:ring-zinc-800 dark:hover:bg-zinc-900',
                )}
              >
                <input
                  type="radio"
                  name={`${id}-network`}
                  value={option.value}
                  checked={checked}
                  aria-labelledby={labelId}
                  aria-describedby={descriptionId}
                  onChange={() => edit({ ...value, mode: option.value })}
                  className="mt-0.5 size-4 accent-indigo-600"
                />
                <span className="min-w-0">
                  <span id={labelId} className="block font-medium text-zinc-900 dark:text-zinc-100">
                    {option.label}
                  </span>
                  <span
                    id={descriptionId}
                    className="block text-xs text-zinc-500 dark:text-zinc-400"
                  >
                    {option.description}
                  </span>
                </span>
              </label>
            )
          })}
        </div>
      </fieldset>
      {value.mode === 'custom' ? (
        <Field
          label="Bootstrap nodes"
          value={value.bootstrap}
          onChange={(bootstrap) => edit({ ...value, bootstrap })}
          placeholder="203.0.113.7:49737,203.0.113.8:49737"
          hint="HOST:PORT, separated by commas."
          mono
          disabled={busy}
        />
      ) : null}
      <div className="flex flex-wrap items-center gap-3">
        <Button type="submit" variant="primary" busy={busy} disabled={!changed || !network}>
          Apply network
        </Button>
        <p role="status" className="text-xs text-zinc-500 empty:hidden dark:text-zinc-400">
          {done ? 'Network changed' : ''}
        </p>
      </div>
      {error ? (
        <ErrorAlert title="Couldn’t change the network">{errorMessage(error)}</ErrorAlert>
      ) : null}
      <p className="text-xs text-zinc-500 dark:text-zinc-400">
        Applied right away and kept across restarts: the node reconnects and every folder looks for
        its peers again.
      </p>
    </form>
  )
}

type LoginItemBridge = Required<Pick<SpareBridge, 'getLoginItem' | 'setLoginItem'>> &
  Pick<SpareBridge, 'onLoginItemChanged'>

/** The app's login item, through the preload's bridge; null in a browser, which can't set it. */
function findLoginItemBridge(): LoginItemBridge | null {
  const bridge = findBridge(window as Window & { spare?: unknown })
  if (bridge === null) return null
  if (typeof bridge.getLoginItem !== 'function' || typeof bridge.setLoginItem !== 'function') {
    return null
  }
  return bridge as LoginItemBridge
}

interface LoginItemView {
  /** As the app last read it from the system; null until the first read answers. */
  state: LoginItemState | null
  /** Why the last read failed, cleared by the next answer. */
  readFailure: { error: unknown } | null
  /** The value being set, while a change is in flight. */
  pending: boolean | null
  /** The last change that didn't take: `error` is null when the system simply kept the old value. */
  failure: { wanted: boolean; error: unknown } | null
  set: (openAtLogin: boolean) => Promise<void>
}

/**
 * The login item as the app reads it: on mount, whenever the window comes back (focus, shown
 * again: it may have been changed in the system's own settings), and on every change the app
 * reports (the tray's "Start at login" included). A change shows the value read back afterwards.
 */
function useLoginItem(bridge: LoginItemBridge): LoginItemView {
  const [state, setState] = useState<LoginItemState | null>(null)
  const [readFailure, setReadFailure] = useState<LoginItemView['readFailure']>(null)
  const [pending, setPending] = useState<boolean | null>(null)
  const [failure, setFailure] = useState<LoginItemView['failure']>(null)
  // Bumped to read again after a change failed half-way.
  const [attempt, setAttempt] = useState(0)
  // Only the latest read may answer: an older one could bring back a value since changed.
  const reads = useRef(0)
  // State updates land after a re-render; the ref stops a double click from sending two changes.
  const inFlight = useRef(false)

  useEffect(() => {
    let cancelled = false
    async function read() {
      const mine = ++reads.current
      try {
        const next = await bridge.getLoginItem()
        if (cancelled || mine !== reads.current) return
        setState(next)
        setReadFailure(null)
      } catch (error) {
        if (cancelled || mine !== reads.current) return
        setReadFailure({ error })
      }
    }

    void read()
    const onFocus = () => void read()
    const onVisibility = () => {
      if (document.visibilityState === 'visible') void read()
    }
    window.addEventListener('focus', onFocus)
    document.addEventListener('visibilitychange', onVisibility)
    const off =
      typeof bridge.onLoginItemChanged === 'function'
        ? bridge.onLoginItemChanged((next) => {
            if (cancelled) return
            // Newer than any read still in flight: that one must not overwrite it.
            reads.current++
            setState(next)
            setReadFailure(null)
            // Changed elsewhere since: an earlier failure here no longer describes anything.
            setFailure(null)
          })
        : () => {}
    return () => {
      cancelled = true
      off()
      window.removeEventListener('focus', onFocus)
      document.removeEventListener('visibilitychange', onVisibility)
    }
  }, [bridge, attempt])

  async function set(openAtLogin: boolean) {
    if (inFlight.current) return
    inFlight.current = true
    reads.current++
    setPending(openAtLogin)
    setFailure(null)
    try {
      const next = await bridge.setLoginItem(openAtLogin)
      setState(next)
      setReadFailure(null)
      // The answer is read back from the system: if it isn't what was asked, the change didn't take.
      if (next.supported && next.openAtLogin !== openAtLogin) {
        setFailure({ wanted: openAtLogin, error: null })
      }
    } catch (error) {
      setFailure({ wanted: openAtLogin, error })
      // Whatever happened half-way, show the setting as it is now.
      setAttempt((n) => n + 1)
    } finally {
      inFlight.current = false
      setPending(null)
    }
  }

  return { state, readFailure, pending, failure, set }
}

/** "Start Spare when you log in": the app's own setting, the same as the tray's checkbox. */
function LoginItemPanel({ bridge }: { bridge: LoginItemBridge }) {
  const { state, readFailure, pending, failure, set } = useLoginItem(bridge)
  const hintId = useId()
  // Nothing truthful to show before the first answer, and nothing to offer where the system
  // can't start Spare at login (Linux, run from source).
  if (state === null && readFailure === null) return null
  if (state !== null && !state.supported) return null
  return (
    <Panel title="App" titleId="settings-app-title">
      <Row icon={Power} title="Start at login">
        {state !== null ? (
          <>
            <label className="inline-flex cursor-pointer items-center gap-3">
              <input
                type="checkbox"
                role="switch"
                checked={state.openAtLogin}
                // Not disabled while busy: a disabled control drops keyboard focus.
                aria-busy={pending !== null || undefined}
                aria-describedby={hintId}
                onChange={(e) => void set(e.target.checked)}
                className="peer sr-only"
              />
              <span
                aria-hidden="true"
                className="relative inline-flex h-5 w-9 shrink-0 items-center rounded-full bg-zinc-300 transition-colors peer-checked:bg-indigo-600 peer-focus-visible:outline-2 peer-focus-visible:outline-offset-2 peer-focus-visible:outline-indigo-500 after:absolute after:left-0.5 after:size-4 after:rounded-full after:bg-white after:shadow-sm after:transition-transform peer-checked:after:translate-x-4 dark:bg-zinc-700"
              />
              <span className="font-medium text-zinc-900 dark:text-zinc-100">
                Start Spare when you log in
              </span>
            </label>
            <p id={hintId} className="mt-1 text-xs text-zinc-500 dark:text-zinc-400">
              Spare starts in the background and keeps your folders syncing without opening this
              window. The same setting as “Start at login” in the tray menu.
            </p>
            <p role="status" className="mt-1 text-xs text-zinc-500 empty:hidden dark:text-zinc-400">
              {pending === null ? '' : pending ? 'Turning on…' : 'Turning off…'}
            </p>
          </>
        ) : null}
        {readFailure ? (
          <ErrorAlert title="Couldn’t read whether Spare starts at login" className="mt-3">
            {errorMessage(readFailure.error)}
          </ErrorAlert>
        ) : null}
        {failure ? (
          <ErrorAlert
            title={
              failure.wanted
                ? 'Couldn’t turn on start at login'
                : 'Couldn’t turn off start at login'
            }
            className="mt-3"
          >
            {failure.error !== null
              ? errorMessage(failure.error)
              : 'The system kept the previous setting (the app’s log says why).'}
          </ErrorAlert>
        ) : null}
      </Row>
    </Panel>
  )
}

export function SettingsScreen() {
  const { status, error, apply } = useNodeOverview({ refreshMs: 0 })
  const [theme, setTheme] = useThemeSetting()
  const { shell } = useSpare()
  // Only inside the app: a browser can't make anything start at login.
  const [loginItem] = useState(findLoginItemBridge)

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
                <NetworkForm status={status} onApplied={apply} />
              </Row>
            </div>
          )}
        </Panel>

        {loginItem ? <LoginItemPanel bridge={loginItem} /> : null}

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
