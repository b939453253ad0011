// The CPU governor's view of the machine in the desktop app (main/engine/limits/system.ts): the
// time since the last user input and the power source, from Electron's powerMonitor, which only
// works once the app is ready. The powerMonitor is passed in (main.ts gives Electron's), so this
// file imports nothing of Electron at run time and is tested under Node.
//
// Idle time on Linux: under some Wayland compositors Chromium can't see input and
// getSystemIdleTime() answers 0 for good (electron/electron#34826), which would read as "in use"
// forever and never let jobs run with "only when idle" on. Real use shows some seconds between
// inputs; so once every reading over IDLE_STUCK_MS has been exactly 0, the idle time is reported
// as unknown (null) instead, until a non-zero reading comes.
import type { PowerMonitor } from 'electron'
import type { SystemProbe } from '../engine/limits/system.ts'

export const POWER_PROBE_NAME = 'Electron powerMonitor'

/** How long idle readings of exactly 0 mean "this platform can't tell" rather than "in use". */
export const IDLE_STUCK_MS = 15 * 60 * 1000

/** The two powerMonitor calls the probe uses. */
export type PowerMonitorLike = Pick<PowerMonitor, 'getSystemIdleTime' | 'isOnBatteryPower'>

export function createPowerProbe(
  powerMonitor: PowerMonitorLike,
  { now = Date.now }: { now?: () => number } = {},
): SystemProbe {
  /** Since when every idle reading has been exactly 0; null after a non-zero one. */
  let zeroSince: number | null = null
  return {
    name: POWER_PROBE_NAME,
    async idleMs() {
      let seconds: number
      try {
        seconds = powerMonitor.getSystemIdleTime()
      } catch {
        return null
      }
      if (!Number.isFinite(seconds) || seconds < 0) return null
      if (seconds > 0) {
        zeroSince = null
        return seconds * 1000
      }
      const at = now()
      zeroSince ??= at
      return at - zeroSince >= IDLE_STUCK_MS ? null : 0
    },
    async onBattery() {
      try {
        const on = powerMonitor.isOnBatteryPower()
        return typeof on === 'boolean' ? on : null
      } catch {
        return null
      }
    },
  }
}
