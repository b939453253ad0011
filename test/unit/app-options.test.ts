import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { appLayout, nodeDataDir, parseAppOptions } from '../../main/app/app-options.ts'
import {
  loginItemKind,
  quoteExecArg,
  readXdgAutostart,
  writeXdgAutostart,
  xdgAutostartCommand,
  xdgAutostartEntry,
  xdgAutostartFile,
} from '../../main/app/login-item.ts'

describe('parseAppOptions', () => {
  it('uses the saved network unless a flag or SPARE_NETWORK overrides it', () => {
    expect(parseAppOptions([], {})).toEqual({ hidden: false, network: null, dataDir: null })
    expect(parseAppOptions([], { SPARE_NETWORK: 'local' }).network).toBe('local')
    expect(parseAppOptions(['--network=127.0.0.1:49737'], { SPARE_NETWORK: 'local' }).network).toBe(
      '127.0.0.1:49737',
    )
    expect(parseAppOptions(['.', '--network', 'public'], {}).network).toBe('public')
    expect(parseAppOptions(['--network', '--hidden'], {}).network).toBeNull()
    expect(parseAppOptions(['--network='], { SPARE_NETWORK: '  ' }).network).toBeNull()
  })

  it('reads --hidden and the data folder', () => {
    expect(parseAppOptions(['--hidden'], {}).hidden).toBe(true)
    expect(parseAppOptions(['--data-dir=/tmp/a'], { SPARE_DATA_DIR: '/tmp/b' }).dataDir).toBe(
      '/tmp/a',
    )
    expect(parseAppOptions([], { SPARE_DATA_DIR: '/tmp/b' }).dataDir).toBe('/tmp/b')
  })

  it('keeps the node data apart from Chromium inside userData', () => {
    expect(nodeDataDir('/u', { dataDir: null })).toBe(path.join('/u', 'node'))
    expect(nodeDataDir('/u', { dataDir: '/d' })).toBe(path.resolve('/d'))
  })

  it('knows where the built files are', () => {
    const l = appLayout('/app')
    expect(l.rendererDir).toBe(path.join('/app', 'renderer', 'dist'))
    expect(l.preload).toBe(path.join('/app', 'dist', 'main', 'app', 'preload.cjs'))
    expect(l.trayIconDir).toBe(path.join('/app', 'dist', 'tray'))
  })
})

describe('login item', () => {
  const dirs: string[] = []
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true })
  })

  it('uses Electron on macOS and Windows, XDG autostart on packaged Linux', () => {
    expect(loginItemKind('darwin', false)).toBe('electron')
    expect(loginItemKind('win32', true)).toBe('electron')
    expect(loginItemKind('linux', true)).toBe('xdg')
    expect(loginItemKind('linux', false)).toBe('unsupported')
    expect(loginItemKind('freebsd', true)).toBe('unsupported')
  })

  it('quotes Exec arguments as the Desktop Entry spec says', () => {
    expect(quoteExecArg('/opt/Spare/spare-desktop')).toBe('/opt/Spare/spare-desktop')
    expect(quoteExecArg('/home/a b/Spare.AppImage')).toBe('"/home/a b/Spare.AppImage"')
    expect(quoteExecArg('/x/$HOME`id`"q"')).toBe('"/x/\\$HOME\\`id\\`\\"q\\""')
    expect(quoteExecArg('/x/100%')).toBe('"/x/100%%"')
    const entry = xdgAutostartEntry(['/home/a\\b/Spare.AppImage', '--hidden'])
    expect(entry).toContain('Exec="/home/a\\\\\\\\b/Spare.AppImage" --hidden\n')
    expect(() => xdgAutostartEntry(['/x\n[Desktop Entry]'])).toThrow(/line break/)
  })

  it('starts the AppImage itself when run from one, hidden', () => {
    expect(xdgAutostartCommand('/tmp/.mount_x/spare-desktop', '/home/a/Spare.AppImage')).toEqual([
      '/home/a/Spare.AppImage',
      '--hidden',
    ])
    expect(xdgAutostartCommand('/opt/Spare/spare-desktop', undefined)).toEqual([
      '/opt/Spare/spare-desktop',
      '--hidden',
    ])
  })

  it('writes, reads and removes the autostart entry', () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'spare-login-'))
    dirs.push(home)
    const file = xdgAutostartFile({}, home)
    expect(file).toBe(path.join(home, '.config', 'autostart', 'dev.spare.app.desktop'))
    expect(xdgAutostartFile({ XDG_CONFIG_HOME: '/cfg' }, home)).toBe(
      path.join('/cfg', 'autostart', 'dev.spare.app.desktop'),
    )
    expect(xdgAutostartFile({ XDG_CONFIG_HOME: 'relative' }, home)).toBe(file)
    expect(readXdgAutostart(file)).toBe(false)
    writeXdgAutostart(file, true, ['/opt/Spare/spare-desktop', '--hidden'])
    expect(readXdgAutostart(file)).toBe(true)
    expect(fs.readFileSync(file, 'utf8')).toContain('Exec=/opt/Spare/spare-desktop --hidden')
    fs.appendFileSync(file, 'Hidden=true\n')
    expect(readXdgAutostart(file)).toBe(false)
    writeXdgAutostart(file, false, [])
    expect(fs.existsSync(file)).toBe(false)
    writeXdgAutostart(file, false, []) // idempotent
  })
})
