// How the app was asked to run (command line and environment) and where its files are, as pure
// functions. No electron import (tested in test/unit/app-options.test.ts).
import path from 'node:path'

export interface AppOptions {
  /** Start in the tray without showing the window (used by the login item). */
  hidden: boolean
  /**
   * An explicit network ('public', 'local' or 'host:port,...'), or null to use the node's saved
   * setting (public unless changed). The node persists an explicit one.
   */
  network: string | null
  /** Overrides where the node keeps its data (tests, several instances side by side). */
  dataDir: string | null
}

/** The flag the login item passes so that a start at login stays in the tray. */
export const HIDDEN_FLAG = '--hidden'

function flagValue(argv: readonly string[], name: string): string | null {
  let value: string | null = null
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === `--${name}`) {
      const next = argv[i + 1]
      if (next !== undefined && !next.startsWith('--')) {
        value = next
        i++
      }
    } else if (arg.startsWith(`--${name}=`)) {
      value = arg.slice(name.length + 3)
    }
  }
  return value !== null && value.trim() !== '' ? value.trim() : null
}

/**
 * The app runs on the node's saved network setting, which is public unless the user changed it.
 * `--network=MODE` or SPARE_NETWORK override it (`npm start` sets SPARE_NETWORK=local, so that
 * development never touches the public DHT).
 */
export function parseAppOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): AppOptions {
  const envNetwork = env.SPARE_NETWORK?.trim()
  const envDataDir = env.SPARE_DATA_DIR?.trim()
  return {
    hidden: argv.includes(HIDDEN_FLAG),
    network: flagValue(argv, 'network') ?? (envNetwork ? envNetwork : null),
    dataDir: flagValue(argv, 'data-dir') ?? (envDataDir ? envDataDir : null),
  }
}

/** Where the app's built files are, relative to app.getAppPath() (the folder of package.json). */
export interface AppLayout {
  /** The built renderer, served as app://spare/. */
  rendererDir: string
  /** The sandboxed preload bundle (scripts/build-main.mjs). */
  preload: string
  /** Tray icons, copied from build/tray by scripts/build-main.mjs. */
  trayIconDir: string
}

export function appLayout(appRoot: string): AppLayout {
  return {
    rendererDir: path.join(appRoot, 'renderer', 'dist'),
    preload: path.join(appRoot, 'dist', 'main', 'app', 'preload.cjs'),
    trayIconDir: path.join(appRoot, 'dist', 'tray'),
  }
}

/** The node's data folder inside Electron's userData, apart from Chromium's own caches there. */
export function nodeDataDir(userData: string, options: Pick<AppOptions, 'dataDir'>): string {
  return options.dataDir !== null ? path.resolve(options.dataDir) : path.join(userData, 'node')
}
