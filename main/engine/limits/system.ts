// What the CPU governor needs to know of the machine and its user: how long since the last input,
// and whether it runs on battery. The Electron app answers from powerMonitor (main/app); the
// daemon from the operating system (osProbe, below). Either may not know: null.
//
// osProbe, per platform:
//   Linux    idle: the newest access time (atime) of the terminals in /dev/pts and /dev/tty*,
//            which is what `w` shows as IDLE: reading a terminal's input updates it. That is the
//            right notion for headless servers and Raspberry Pis, where people come in over SSH
//            or a console. Where the user has a graphical session (logind's `Display` session
//            of type x11, wayland or mir), `loginctl` is asked for its IdleHint and
//            IdleSinceHint too, and the shorter idle time wins. IdleHint "no" counts as in use
//            right now (desktops that never set the hint read as always in use: safe, never
//            wrong the other way). null when no terminal can be read and there is no graphical
//            session. loginctl runs through execFile with a timeout, never a shell; where it
//            fails (no systemd) it is left alone for a minute.
//            battery: /sys/class/power_supply. Any 'Mains' or 'USB' supply online → false; else
//            a system battery (not a mouse's: scope 'Device' is skipped) that is 'Discharging'
//            → true, 'Charging', 'Full' or 'Not charging' → false, anything else → null; no
//            battery at all → false (a desktop or a server: BOINC read that as unknown).
//   macOS    idle: HIDIdleTime (nanoseconds) from `ioreg -c IOHIDSystem`.
//            battery: `pmset -g batt`: "Now drawing from 'AC Power'" → false, 'Battery Power' or
//            'UPS Power' (the mains failed) → true, else null.
//   Windows  idle: null. Without native code a service can't read the input idle time (and a
//            daemon started from a service session can't see the user's desktop anyway); the
//            desktop app uses Electron's powerMonitor instead.
//            battery: `powershell -NoProfile -Command (Get-CimInstance Win32_Battery).BatteryStatus`:
//            no output (no battery) → false; any battery on AC (2) or charging/full (3, 6-9, 11)
//            → false; discharging (1), low (4) or critical (5) → true; else null. PowerShell is
//            slow to start, so this reading is cached for 15 s instead of 2.
//   Others   null for both.
// Every reading is cached (2 s by default), concurrent calls share one reading, every command
// has a timeout, and no call ever throws: a failure reads as null.
import { execFile } from 'node:child_process'
import { promises as fs } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

export interface SystemProbe {
  /** Where the readings come from, for people ("Electron powerMonitor", "/sys/class/power_supply"). */
  readonly name: string
  /** Milliseconds since the last user input, or null when this platform can't tell. */
  idleMs(): Promise<number | null>
  /** true on battery, false on mains power (or no battery at all), null when unknown. */
  onBattery(): Promise<boolean | null>
}

/** Runs a command without a shell; resolves its stdout, or null on any failure or timeout. */
export type RunCommand = (file: string, args: string[], timeoutMs: number) => Promise<string | null>

const runCommand: RunCommand = (file, args, timeoutMs) =>
  new Promise((resolve) => {
    try {
      execFile(
        file,
        args,
        { timeout: timeoutMs, windowsHide: true, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout) => resolve(err ? null : stdout),
      )
    } catch {
      resolve(null)
    }
  })

export interface OsProbeOptions {
  /** Default: process.platform. */
  platform?: NodeJS.Platform
  /** How long a reading is reused (ms); default 2000. */
  cacheMs?: number
  /** Limit for each command (ms); default 3000. */
  timeoutMs?: number
  /** Wall clock (ms since the epoch); default Date.now. */
  now?: () => number
  /** Linux: the power supplies (default /sys/class/power_supply). */
  powerSupplyDir?: string
  /** Linux: where the terminals are (default /dev). Its pts/ and tty* entries are read. */
  devDir?: string
  /** Runs the platform's commands (loginctl, ioreg, pmset, powershell); default execFile. */
  run?: RunCommand
  /** Linux: the user whose graphical session counts (default: this process's uid). */
  uid?: number
}

// ---- Parsers of each platform's output (exported for tests with recorded outputs) ----

/** macOS: ms since the last input from `ioreg -c IOHIDSystem` output; null if absent. */
export function parseIoregIdle(out: string): number | null {
  const m = /"HIDIdleTime"\s*=\s*(\d+)/.exec(out)
  if (!m) return null
  const ns = Number(m[1])
  return Number.isFinite(ns) ? Math.floor(ns / 1e6) : null
}

/** macOS: on battery from `pmset -g batt` output; null if it names no power source. */
export function parsePmsetBatt(out: string): boolean | null {
  const m = /drawing from '([^']+)'/i.exec(out)
  if (!m) return null
  const source = (m[1] ?? '').toLowerCase()
  if (source.includes('ac power')) return false
  if (source.includes('battery') || source.includes('ups')) return true
  return null
}

/** Windows: on battery from the BatteryStatus values (one a line; none: no battery). */
export function parseWinBatteryStatus(out: string): boolean | null {
  const values = out
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '')
  if (values.length === 0) return false
  const codes = values.map(Number)
  if (codes.some((c) => !Number.isInteger(c))) return null
  if (codes.some((c) => [2, 3, 6, 7, 8, 9, 11].includes(c))) return false
  if (codes.some((c) => [1, 4, 5].includes(c))) return true
  return null
}

export interface LogindSession {
  type: string
  idleHint: boolean
  /** When the session became idle (ms since the epoch); null if logind doesn't say. */
  idleSince: number | null
}

/** Linux: `loginctl show-session ID --property=...` output (Key=value lines). */
export function parseLoginctlSession(out: string): LogindSession | null {
  const props = new Map<string, string>()
  for (const line of out.split('\n')) {
    const i = line.indexOf('=')
    if (i > 0) props.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  const hint = props.get('IdleHint')
  if (hint !== 'yes' && hint !== 'no') return null
  const sinceUs = Number(props.get('IdleSinceHint'))
  return {
    type: props.get('Type') ?? '',
    idleHint: hint === 'yes',
    idleSince: Number.isFinite(sinceUs) && sinceUs > 0 ? Math.floor(sinceUs / 1000) : null,
  }
}

/** Idle ms of a graphical logind session at `now`; null for a non-graphical one. */
export function logindIdleMs(s: LogindSession, now: number): number | null {
  if (!['x11', 'wayland', 'mir'].includes(s.type)) return null
  if (!s.idleHint) return 0
  return s.idleSince === null ? null : Math.max(0, now - s.idleSince)
}

async function readText(file: string): Promise<string | null> {
  try {
    return (await fs.readFile(file, 'utf8')).trim()
  } catch {
    return null
  }
}

/**
 * Linux: on battery from a power_supply directory (see the top of the file); never throws.
 * A missing or unreadable directory means no battery: false.
 */
export async function linuxOnBattery(dir = '/sys/class/power_supply'): Promise<boolean | null> {
  let names: string[]
  try {
    names = await fs.readdir(dir)
  } catch {
    return false
  }
  let battery: boolean | null | undefined
  for (const name of names.sort()) {
    const sub = path.join(dir, name)
    const type = await readText(path.join(sub, 'type'))
    if (type === 'Mains' || type === 'USB' || type === 'USB_C' || type === 'USB_PD') {
      if ((await readText(path.join(sub, 'online'))) === '1') return false
    } else if (type === 'Battery') {
      if ((await readText(path.join(sub, 'scope'))) === 'Device') continue
      const status = await readText(path.join(sub, 'status'))
      const reading =
        status === 'Discharging'
          ? true
          : status === 'Charging' || status === 'Full' || status === 'Not charging'
            ? false
            : null
      // One discharging battery is enough; unknown only if no battery says anything clearer.
      if (reading === true) battery = true
      else if (reading === false && battery !== true) battery = false
      else if (battery === undefined) battery = null
    }
  }
  return battery === undefined ? false : battery
}

/**
 * Linux: ms since the newest access to a terminal in `devDir`/pts or `devDir`/tty*, or null if
 * none can be read. Never throws.
 */
export async function linuxTtyIdleMs(devDir = '/dev', now = Date.now()): Promise<number | null> {
  const files: string[] = []
  try {
    for (const n of await fs.readdir(path.join(devDir, 'pts'))) {
      if (n !== 'ptmx') files.push(path.join(devDir, 'pts', n))
    }
  } catch {
    // no /dev/pts: no pseudo-terminals
  }
  try {
    for (const n of await fs.readdir(devDir)) {
      if (n.startsWith('tty')) files.push(path.join(devDir, n))
    }
  } catch {
    // no /dev at all
  }
  let newest: number | null = null
  const stats = await Promise.all(files.map((f) => fs.stat(f).catch(() => null)))
  for (const st of stats) {
    if (st && st.atimeMs > 0 && (newest === null || st.atimeMs > newest)) newest = st.atimeMs
  }
  return newest === null ? null : Math.max(0, Math.floor(now - newest))
}

/** One cached reading: reused for `ttl` ms, concurrent calls share one promise, never throws. */
function cached<T>(read: () => Promise<T | null>, ttl: number, clock: () => number) {
  let value: T | null = null
  let at = -Infinity
  let pending: Promise<T | null> | null = null
  return (): Promise<T | null> => {
    if (clock() - at < ttl) return Promise.resolve(value)
    if (pending) return pending
    pending = read()
      .catch(() => null)
      .then((v) => {
        value = v
        at = clock()
        pending = null
        return v
      })
    return pending
  }
}

/** The daemon's probe: readings from the operating system (see the top of the file). */
export function osProbe(opts: OsProbeOptions = {}): SystemProbe {
  const platform = opts.platform ?? process.platform
  const cacheMs = opts.cacheMs ?? 2000
  const timeoutMs = opts.timeoutMs ?? 3000
  const now = opts.now ?? Date.now
  const run = opts.run ?? runCommand
  const mono = () => performance.now()

  if (platform === 'linux') {
    const uid = opts.uid ?? (typeof process.getuid === 'function' ? process.getuid() : 0)
    let loginctlOffUntil = -Infinity
    const sessionIdle = async (): Promise<number | null> => {
      if (mono() < loginctlOffUntil) return null
      const display = await run(
        'loginctl',
        ['show-user', String(uid), '--property=Display', '--value'],
        timeoutMs,
      )
      if (display === null) {
        // No logind (a container, no systemd) or no such user: ask again in a minute.
        loginctlOffUntil = mono() + 60_000
        return null
      }
      const id = display.trim()
      if (!/^[\w-]+$/.test(id)) return null
      const out = await run(
        'loginctl',
        ['show-session', id, '--property=Type', '--property=IdleHint', '--property=IdleSinceHint'],
        timeoutMs,
      )
      const s = out === null ? null : parseLoginctlSession(out)
      return s === null ? null : logindIdleMs(s, now())
    }
    return {
      name: 'Linux: terminal activity (/dev/pts, /dev/tty*), logind, /sys/class/power_supply',
      idleMs: cached(
        async () => {
          const [tty, session] = await Promise.all([
            linuxTtyIdleMs(opts.devDir, now()),
            sessionIdle().catch(() => null),
          ])
          if (tty === null) return session
          return session === null ? tty : Math.min(tty, session)
        },
        cacheMs,
        mono,
      ),
      onBattery: cached(() => linuxOnBattery(opts.powerSupplyDir), cacheMs, mono),
    }
  }
  if (platform === 'darwin') {
    return {
      name: 'macOS: ioreg HIDIdleTime, pmset',
      idleMs: cached(
        async () => {
          const out = await run('ioreg', ['-c', 'IOHIDSystem'], timeoutMs)
          return out === null ? null : parseIoregIdle(out)
        },
        cacheMs,
        mono,
      ),
      onBattery: cached(
        async () => {
          const out = await run('pmset', ['-g', 'batt'], timeoutMs)
          return out === null ? null : parsePmsetBatt(out)
        },
        cacheMs,
        mono,
      ),
    }
  }
  if (platform === 'win32') {
    return {
      name: 'Windows: Win32_Battery (no idle time without the desktop app)',
      idleMs: () => Promise.resolve(null),
      onBattery: cached(
        async () => {
          const out = await run(
            'powershell',
            [
              '-NoProfile',
              '-NonInteractive',
              '-Command',
              '(Get-CimInstance Win32_Battery).BatteryStatus',
            ],
            Math.max(timeoutMs, 10_000),
          )
          return out === null ? null : parseWinBatteryStatus(out)
        },
        Math.max(cacheMs, 15_000),
        mono,
      ),
    }
  }
  return {
    name: `${os.type()}: no idle or battery readings`,
    idleMs: () => Promise.resolve(null),
    onBattery: () => Promise.resolve(null),
  }
}
