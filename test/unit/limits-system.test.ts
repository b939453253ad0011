// osProbe: for real on this (Linux) machine, and each platform's command output through recorded
// samples. The commands are the process edge: they are injected where the platform isn't this one.
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  linuxOnBattery,
  linuxTtyIdleMs,
  logindIdleMs,
  osProbe,
  parseIoregIdle,
  parseLoginctlSession,
  parsePmsetBatt,
  parseWinBatteryStatus,
  type RunCommand,
} from '../../main/engine/limits/system.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

// Recorded outputs.
const IOREG = `+-o IOHIDSystem  <class IOHIDSystem, id 0x100000427, registered, matched, active, busy 0 (0 ms), retain 29>
    {
      "IOClass" = "IOHIDSystem"
      "HIDParameters" = {"HIDClickTime"=500000000,"HIDKeyRepeat"=83333333}
      "IOProviderClass" = "IOResources"
      "HIDIdleTime" = 4817364792
      "IOMatchCategory" = "IOHIDSystem"
    }
`
const PMSET_AC = `Now drawing from 'AC Power'
 -InternalBattery-0 (id=4587619)	100%; charged; 0:00 remaining present: true
`
const PMSET_BATTERY = `Now drawing from 'Battery Power'
 -InternalBattery-0 (id=4587619)	87%; discharging; 5:12 remaining present: true
`
const PMSET_DESKTOP = `Now drawing from 'AC Power'
`
const PMSET_UPS = `Now drawing from 'UPS Power'
 -CP1500 (id=123)	95%; discharging; (no estimate) present: true
`
const LOGINCTL_IDLE = `Type=wayland
IdleHint=yes
IdleSinceHint=1767607200000000
`
const LOGINCTL_ACTIVE = `Type=x11
IdleHint=no
IdleSinceHint=0
`
const LOGINCTL_TTY = `Type=tty
IdleHint=yes
IdleSinceHint=1767607200000000
`

describe('platform output parsers', () => {
  it('macOS ioreg: HIDIdleTime in ns → ms', () => {
    expect(parseIoregIdle(IOREG)).toBe(4817)
    expect(parseIoregIdle('+-o IOHIDSystem\n{}\n')).toBeNull()
    expect(parseIoregIdle('')).toBeNull()
  })

  it('macOS pmset -g batt: the power source', () => {
    expect(parsePmsetBatt(PMSET_AC)).toBe(false)
    expect(parsePmsetBatt(PMSET_BATTERY)).toBe(true)
    expect(parsePmsetBatt(PMSET_DESKTOP)).toBe(false)
    expect(parsePmsetBatt(PMSET_UPS)).toBe(true)
    expect(parsePmsetBatt('No batteries\n')).toBeNull()
  })

  it('Windows Win32_Battery.BatteryStatus', () => {
    expect(parseWinBatteryStatus('')).toBe(false) // no battery: a desktop
    expect(parseWinBatteryStatus('\r\n')).toBe(false)
    expect(parseWinBatteryStatus('2\r\n')).toBe(false) // on AC
    expect(parseWinBatteryStatus('1\r\n')).toBe(true) // discharging
    expect(parseWinBatteryStatus('4\r\n')).toBe(true) // low
    expect(parseWinBatteryStatus('6\r\n')).toBe(false) // charging
    expect(parseWinBatteryStatus('1\r\n2\r\n')).toBe(false) // two batteries, one on AC
    expect(parseWinBatteryStatus('10\r\n')).toBeNull()
    expect(parseWinBatteryStatus('Get-CimInstance : Access denied\r\n')).toBeNull()
  })

  it('Linux loginctl show-session', () => {
    const idle = parseLoginctlSession(LOGINCTL_IDLE)
    expect(idle).toEqual({ type: 'wayland', idleHint: true, idleSince: 1767607200000 })
    expect(logindIdleMs(idle!, 1767607200000 + 90_000)).toBe(90_000)
    const active = parseLoginctlSession(LOGINCTL_ACTIVE)
    expect(active).toEqual({ type: 'x11', idleHint: false, idleSince: null })
    expect(logindIdleMs(active!, Date.now())).toBe(0)
    // A text session says nothing about the desktop.
    expect(logindIdleMs(parseLoginctlSession(LOGINCTL_TTY)!, Date.now())).toBeNull()
    expect(parseLoginctlSession('Failed to get session: No such device\n')).toBeNull()
    expect(parseLoginctlSession('')).toBeNull()
  })
})

/** A fake /sys/class/power_supply: name → files. */
async function powerSupplies(supplies: Record<string, Record<string, string>>): Promise<string> {
  const dir = await fx.tmpDir('spare-psu-')
  for (const [name, files] of Object.entries(supplies)) {
    await fs.mkdir(path.join(dir, name))
    for (const [f, v] of Object.entries(files))
      await fs.writeFile(path.join(dir, name, f), `${v}\n`)
  }
  return dir
}

describe('linuxOnBattery', () => {
  it('reads a laptop on mains power as false, and on battery as true', async () => {
    const ac = { type: 'Mains', online: '1' }
    const bat = { type: 'Battery', status: 'Discharging', scope: 'System' }
    expect(await linuxOnBattery(await powerSupplies({ AC: ac, BAT0: bat }))).toBe(false)
    const unplugged = { AC: { type: 'Mains', online: '0' }, BAT0: bat }
    expect(await linuxOnBattery(await powerSupplies(unplugged))).toBe(true)
  })

  it('reads USB power (a Raspberry Pi, USB-C laptops) as mains', async () => {
    const dir = await powerSupplies({
      ucsi: { type: 'USB', online: '1' },
      BAT1: { type: 'Battery', status: 'Discharging' },
    })
    expect(await linuxOnBattery(dir)).toBe(false)
  })

  it('reads no battery at all as false: a desktop or a server', async () => {
    expect(await linuxOnBattery(await powerSupplies({}))).toBe(false)
    expect(await linuxOnBattery(path.join(await fx.tmpDir(), 'missing'))).toBe(false)
    // A wireless mouse's battery is not the computer's.
    const mouse = { type: 'Battery', status: 'Discharging', scope: 'Device' }
    expect(await linuxOnBattery(await powerSupplies({ 'hid-mouse-battery': mouse }))).toBe(false)
  })

  it('reads a battery without mains information by its status', async () => {
    const only = (status: string) => powerSupplies({ BAT0: { type: 'Battery', status } })
    expect(await linuxOnBattery(await only('Charging'))).toBe(false)
    expect(await linuxOnBattery(await only('Full'))).toBe(false)
    expect(await linuxOnBattery(await only('Not charging'))).toBe(false)
    expect(await linuxOnBattery(await only('Unknown'))).toBeNull()
  })
})

describe('linuxTtyIdleMs', () => {
  it('is the time since the newest terminal access, ignoring ptmx', async () => {
    const dev = await fx.tmpDir('spare-dev-')
    await fs.mkdir(path.join(dev, 'pts'))
    const now = Date.now()
    const touch = async (rel: string, agoMs: number) => {
      const f = path.join(dev, rel)
      await fs.writeFile(f, '')
      const t = new Date(now - agoMs)
      await fs.utimes(f, t, t)
    }
    await touch('pts/0', 600_000)
    await touch('pts/3', 42_000)
    await touch('tty1', 3_600_000)
    await touch('pts/ptmx', 0)
    await touch('null', 0)
    const idle = await linuxTtyIdleMs(dev, now)
    expect(idle).toBeGreaterThanOrEqual(41_000)
    expect(idle).toBeLessThanOrEqual(43_000)
  })

  it('is null when there are no terminals', async () => {
    const dev = await fx.tmpDir('spare-dev-')
    expect(await linuxTtyIdleMs(dev)).toBeNull()
    expect(await linuxTtyIdleMs(path.join(dev, 'missing'))).toBeNull()
  })
})

describe.skipIf(process.platform !== 'linux')('osProbe on this machine', () => {
  it('reads idle time and battery for real, within a second', async () => {
    const probe = osProbe()
    expect(probe.name).toMatch(/^Linux: /)
    const t0 = performance.now()
    const [idle, battery] = await Promise.all([probe.idleMs(), probe.onBattery()])
    expect(performance.now() - t0).toBeLessThan(5000)
    // The terminals' newest access time, computed independently (logind is not running here,
    // or if it is, it can only make the idle time shorter).
    const ttys = [
      ...(await fs.readdir('/dev/pts').catch(() => [] as string[]))
        .filter((n) => n !== 'ptmx')
        .map((n) => `/dev/pts/${n}`),
      ...(await fs.readdir('/dev')).filter((n) => n.startsWith('tty')).map((n) => `/dev/${n}`),
    ]
    const atimes = await Promise.all(
      ttys.map((f) =>
        fs.stat(f).then(
          (st) => st.atimeMs,
          () => 0,
        ),
      ),
    )
    const newest = Math.max(0, ...atimes)
    if (newest === 0) expect([null, expect.any(Number)]).toContainEqual(idle)
    else {
      expect(Number.isInteger(idle)).toBe(true)
      expect(idle).toBeGreaterThanOrEqual(0)
      expect(idle).toBeLessThanOrEqual(Date.now() - newest + 1000)
    }
    // What /sys says, computed independently: no system battery → false.
    const dir = '/sys/class/power_supply'
    const names = await fs.readdir(dir).catch(() => [] as string[])
    const types = await Promise.all(
      names.map((n) => fs.readFile(path.join(dir, n, 'type'), 'utf8').catch(() => '')),
    )
    if (!types.some((t) => t.trim() === 'Battery')) expect(battery).toBe(false)
    else expect([true, false, null]).toContain(battery)
  })
})

describe('osProbe with recorded command output', () => {
  function recorder(outputs: Record<string, string | null>) {
    const calls: string[] = []
    const run: RunCommand = (file, args) => {
      const cmd = [file, ...args].join(' ')
      calls.push(cmd)
      const key = Object.keys(outputs).find((k) => cmd.startsWith(k))
      return Promise.resolve(key === undefined ? null : (outputs[key] ?? null))
    }
    return { run, calls }
  }

  it('macOS: ioreg and pmset', async () => {
    const { run, calls } = recorder({ ioreg: IOREG, 'pmset -g batt': PMSET_BATTERY })
    const probe = osProbe({ platform: 'darwin', run })
    expect(await probe.idleMs()).toBe(4817)
    expect(await probe.onBattery()).toBe(true)
    expect(calls).toEqual(['ioreg -c IOHIDSystem', 'pmset -g batt'])
  })

  it('Windows: powershell for the battery, no idle time', async () => {
    const { run, calls } = recorder({ powershell: '2\r\n' })
    const probe = osProbe({ platform: 'win32', run })
    expect(await probe.idleMs()).toBeNull()
    expect(await probe.onBattery()).toBe(false)
    expect(calls).toEqual([
      'powershell -NoProfile -NonInteractive -Command (Get-CimInstance Win32_Battery).BatteryStatus',
    ])
    expect(probe.name).toMatch(/no idle time/)
  })

  it('Linux: a graphical session idle for less than the terminals wins', async () => {
    const dev = await fx.tmpDir('spare-dev-')
    const now = 1767607200000 + 90_000
    await fs.writeFile(path.join(dev, 'tty1'), '')
    await fs.utimes(path.join(dev, 'tty1'), new Date(now - 3_600_000), new Date(now - 3_600_000))
    const { run, calls } = recorder({
      'loginctl show-user 1000 --property=Display --value': '3\n',
      'loginctl show-session 3': LOGINCTL_IDLE,
    })
    const probe = osProbe({ platform: 'linux', run, devDir: dev, uid: 1000, now: () => now })
    expect(await probe.idleMs()).toBe(90_000)
    expect(calls[1]).toBe(
      'loginctl show-session 3 --property=Type --property=IdleHint --property=IdleSinceHint',
    )
  })

  it('Linux: without logind, the terminals alone; logind is not asked again at once', async () => {
    const dev = await fx.tmpDir('spare-dev-')
    const now = Date.now()
    await fs.writeFile(path.join(dev, 'tty1'), '')
    await fs.utimes(path.join(dev, 'tty1'), new Date(now - 60_000), new Date(now - 60_000))
    const { run, calls } = recorder({})
    const probe = osProbe({ platform: 'linux', run, devDir: dev, now: () => now, cacheMs: 0 })
    const idle = await probe.idleMs()
    expect(idle).toBeGreaterThanOrEqual(59_000)
    expect(idle).toBeLessThanOrEqual(61_000)
    await probe.idleMs()
    expect(calls).toHaveLength(1)
  })

  it('caches readings, shares one reading between concurrent calls, and never throws', async () => {
    let n = 0
    const run: RunCommand = () => {
      n++
      return Promise.resolve(PMSET_AC)
    }
    const probe = osProbe({ platform: 'darwin', run, cacheMs: 60_000 })
    const [a, b] = await Promise.all([probe.onBattery(), probe.onBattery()])
    expect([a, b, await probe.onBattery()]).toEqual([false, false, false])
    expect(n).toBe(1)

    const failing = osProbe({
      platform: 'darwin',
      run: () => Promise.reject(new Error('spawn ioreg ENOENT')),
    })
    expect(await failing.idleMs()).toBeNull()
    expect(await failing.onBattery()).toBeNull()
    const throwing = osProbe({
      platform: 'win32',
      run: () => {
        throw new Error('boom')
      },
    })
    expect(await throwing.onBattery()).toBeNull()
  })

  it('reads nothing on other platforms', async () => {
    const probe = osProbe({ platform: 'freebsd' })
    expect(await probe.idleMs()).toBeNull()
    expect(await probe.onBattery()).toBeNull()
  })
})
