// "Start at login". macOS and Windows have app.setLoginItemSettings (used by main.ts); Linux has
// none, so a packaged Linux app writes an XDG autostart entry (~/.config/autostart), which GNOME,
// KDE, Xfce and the others honour. Node only, no electron import (test/unit/app-login-item.test.ts).
import fs from 'node:fs'
import path from 'node:path'
import { HIDDEN_FLAG } from './app-options.ts'

export type LoginItemKind = 'electron' | 'xdg' | 'unsupported'

export function loginItemKind(platform: NodeJS.Platform, isPackaged: boolean): LoginItemKind {
  if (platform === 'darwin' || platform === 'win32') return 'electron'
  // From source the "app" is the Electron binary plus a folder: not worth a login entry.
  if (platform === 'linux' && isPackaged) return 'xdg'
  return 'unsupported'
}

/** Quotes one argument of a desktop entry's Exec key (freedesktop Desktop Entry spec). */
export function quoteExecArg(arg: string): string {
  if (!/[\s"'\\`$<>~|&;*?#()%]/.test(arg) && arg.length > 0) return arg
  return `"${arg.replace(/[\\"`$]/g, (c) => `\\${c}`).replace(/%/g, '%%')}"`
}

export function xdgAutostartEntry(command: readonly string[]): string {
  if (command.some((arg) => /[\r\n]/.test(arg))) {
    throw new Error('a login item command cannot contain a line break')
  }
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Spare',
    'Comment=Peer-to-peer personal cloud',
    // The string-value escape rule applies on top of the Exec quoting: each backslash is doubled.
    `Exec=${command.map(quoteExecArg).join(' ').replace(/\\/g, '\\\\')}`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n')
}

/** The command that starts this app at login: the AppImage itself when run from one. */
export function xdgAutostartCommand(execPath: string, appImage: string | undefined): string[] {
  return [appImage !== undefined && appImage !== '' ? appImage : execPath, HIDDEN_FLAG]
}

export function xdgAutostartFile(
  env: Readonly<Record<string, string | undefined>>,
  home: string,
): string {
  const configHome =
    env.XDG_CONFIG_HOME !== undefined && path.isAbsolute(env.XDG_CONFIG_HOME)
      ? env.XDG_CONFIG_HOME
      : path.join(home, '.config')
  return path.join(configHome, 'autostart', 'dev.spare.app.desktop')
}

export function readXdgAutostart(file: string): boolean {
  try {
    const text = fs.readFileSync(file, 'utf8')
    return !/^\s*(Hidden\s*=\s*true|X-GNOME-Autostart-enabled\s*=\s*false)\s*$/m.test(text)
  } catch {
    return false
  }
}

export function writeXdgAutostart(
  file: string,
  enabled: boolean,
  command: readonly string[],
): void {
  if (!enabled) {
    fs.rmSync(file, { force: true })
    return
  }
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  fs.writeFileSync(tmp, xdgAutostartEntry(command), { mode: 0o644 })
  fs.renameSync(tmp, file)
}
