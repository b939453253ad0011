// "Start at login". macOS and Windows have app.setLoginItemSettings (used by main.ts); Linux has
// none, so a packaged Linux app writes an XDG autostart entry (~/.config/autostart), which GNOME,
// KDE, Xfce and the others honour. LoginItem keeps the tray and the window's Settings in step with
// what the system says. Node only, no electron import (test/unit/app-options.test.ts for the XDG
// entry, test/unit/app-login-item.test.ts for LoginItem).
import fs from 'node:fs'
import path from 'node:path'
import type { LoginItemState } from '../../shared/ipc.ts'
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

/** How main.ts reads and writes the login item of this platform (see loginItemKind). */
export interface LoginItemAccess {
  supported: boolean
  read(): boolean
  /** May throw (an unwritable autostart folder, say). */
  write(openAtLogin: boolean): void
}

/**
 * The one place the login item is read and changed, for the tray menu and the window's Settings
 * alike. Every answer is read from the system, never assumed from what was asked for; whenever a
 * read differs from the previous one (a change from the tray, from Settings, or made outside Spare
 * and noticed on the next read), `onChange` hears it, so the other side can follow.
 */
export class LoginItem {
  readonly #access: LoginItemAccess
  readonly #onChange: (state: LoginItemState) => void
  #last: boolean | null = null

  constructor(access: LoginItemAccess, onChange: (state: LoginItemState) => void = () => {}) {
    this.#access = access
    this.#onChange = onChange
  }

  /** Reads the system's setting (always off where unsupported). */
  read(): LoginItemState {
    const state: LoginItemState = {
      supported: this.#access.supported,
      openAtLogin: this.#access.supported && this.#access.read(),
    }
    const changed = this.#last !== null && this.#last !== state.openAtLogin
    this.#last = state.openAtLogin
    if (changed) this.#onChange(state)
    return state
  }

  /**
   * Asks for the login item on or off, then reads it back. A write that fails is logged and
   * otherwise shows only in the answer: the setting as it still is.
   */
  set(openAtLogin: boolean): LoginItemState {
    // What it was before, so that the change is noticed even if nothing read it yet.
    if (this.#last === null) this.read()
    if (this.#access.supported) {
      try {
        this.#access.write(openAtLogin)
      } catch (err) {
        console.error('spare: could not change the login item', err)
      }
    }
    return this.read()
  }
}
