// The desktop app's SystemProbe (main/app/power-probe.ts) against a fake powerMonitor: seconds
// become ms, the power source passes through, failures and nonsense read as "can't tell", and an
// idle time stuck at 0 (Chromium blind to input under some Wayland compositors) turns unknown.
import { describe, expect, it } from 'vitest'
import {
  IDLE_STUCK_MS,
  POWER_PROBE_NAME,
  createPowerProbe,
  type PowerMonitorLike,
} from '../../main/app/power-probe.ts'

function fakeMonitor() {
  const monitor = {
    idleSeconds: 0 as number | (() => number),
    battery: false as boolean | (() => boolean),
    getSystemIdleTime(): number {
      return typeof monitor.idleSeconds === 'function' ? monitor.idleSeconds() : monitor.idleSeconds
    },
    isOnBatteryPower(): boolean {
      return typeof monitor.battery === 'function' ? monitor.battery() : monitor.battery
    },
  }
  return monitor
}

describe('the Electron power probe', () => {
  it('reads the idle time in ms and the power source', async () => {
    const monitor = fakeMonitor()
    const probe = createPowerProbe(monitor)
    expect(probe.name).toBe('Electron powerMonitor')
    expect(POWER_PROBE_NAME).toBe(probe.name)
    monitor.idleSeconds = 185
    expect(await probe.idleMs()).toBe(185_000)
    monitor.idleSeconds = 0
    expect(await probe.idleMs()).toBe(0)
    expect(await probe.onBattery()).toBe(false)
    monitor.battery = true
    expect(await probe.onBattery()).toBe(true)
  })

  it('answers null, never throws, when the monitor fails or answers nonsense', async () => {
    const monitor = fakeMonitor()
    const probe = createPowerProbe(monitor)
    monitor.idleSeconds = () => {
      throw new Error('powerMonitor is not ready')
    }
    monitor.battery = () => {
      throw new Error('powerMonitor is not ready')
    }
    expect(await probe.idleMs()).toBeNull()
    expect(await probe.onBattery()).toBeNull()
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      monitor.idleSeconds = bad
      expect(await probe.idleMs()).toBeNull()
    }
    const odd: PowerMonitorLike = {
      getSystemIdleTime: () => 3,
      // Whatever a broken binding might hand back.
      isOnBatteryPower: () => 'yes' as unknown as boolean,
    }
    expect(await createPowerProbe(odd).onBattery()).toBeNull()
  })

  it('says it can’t tell the idle time once it has read exactly 0 for a long time', async () => {
    const monitor = fakeMonitor()
    let now = 1_000_000
    const probe = createPowerProbe(monitor, { now: () => now })
    monitor.idleSeconds = 0
    expect(await probe.idleMs()).toBe(0)
    now += IDLE_STUCK_MS - 1
    expect(await probe.idleMs()).toBe(0)
    now += 1
    expect(await probe.idleMs()).toBeNull()
    now += 60_000
    expect(await probe.idleMs()).toBeNull()
    // A real reading comes: it works after all, and counting starts again.
    monitor.idleSeconds = 4
    expect(await probe.idleMs()).toBe(4_000)
    monitor.idleSeconds = 0
    expect(await probe.idleMs()).toBe(0)
    now += IDLE_STUCK_MS - 1
    expect(await probe.idleMs()).toBe(0)
  })

  it('keeps saying "in use" while someone really is using the computer', async () => {
    const monitor = fakeMonitor()
    let now = 0
    const probe = createPowerProbe(monitor, { now: () => now })
    // Typing for an hour: mostly 0, a second or two between keys now and then.
    for (let minute = 0; minute < 60; minute++) {
      monitor.idleSeconds = minute % 5 === 4 ? 2 : 0
      now = minute * 60_000
      const idle = await probe.idleMs()
      expect(idle, `minute ${minute}`).not.toBeNull()
      expect(idle).toBeLessThan(10_000)
    }
  })
})
