#!/usr/bin/env node
// npm start: runs Spare from source. Builds what is missing or stale, then starts the Electron app,
// or, where Electron's binary is not available (it is downloaded from outside the npm registry,
// which some machines can't reach), the headless daemon with the same UI in a browser.
//
//   npm start [-- ARGS]   ARGS go to the app (e.g. --network=local) or to `spare daemon`
//
// From source, Spare keeps its data apart from an installed Spare ("Spare (development)" in the
// platform's app data folder, or $SPARE_DATA_DIR) and runs on the local network unless
// $SPARE_NETWORK or --network says otherwise: development never touches the public DHT.
// Environment: SPARE_NO_ELECTRON_DOWNLOAD=1 never downloads Electron; CI never does either.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

// ---- decisions (pure; test/unit/app-start.test.ts) ----

/** CI=true, CI=1, CI=anything but false/0 means a CI run. */
export function isCI(env) {
  const ci = env.CI
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false'
}

/**
 * What npm start does next, given whether Electron's binary is there and whether a download was
 * already tried. Returns { action: 'electron', binary } | { action: 'download' } |
 * { action: 'daemon', reason } with reason 'ci', 'opted-out' or 'download-failed'.
 */
export function decideStart({ binary, downloadTried, env }) {
  if (binary) return { action: 'electron', binary }
  if (isCI(env)) return { action: 'daemon', reason: 'ci' }
  if (env.SPARE_NO_ELECTRON_DOWNLOAD === '1') return { action: 'daemon', reason: 'opted-out' }
  if (!downloadTried) return { action: 'download' }
  return { action: 'daemon', reason: 'download-failed' }
}

/** The one paragraph printed when Spare falls back to the daemon. */
export function fallbackMessage(reason) {
  const why = {
    ci: 'this is a CI run, where it is never downloaded',
    'opted-out': 'SPARE_NO_ELECTRON_DOWNLOAD=1 is set, so it was not downloaded',
    'download-failed':
      'npm installs the electron package without its binary, and downloading it just now failed (it comes from GitHub, not from the npm registry, and this machine may not reach it)',
  }[reason]
  return [
    `Electron's binary isn't available on this machine: ${why}.`,
    'To get the desktop app later, run `node node_modules/electron/install.js` on a machine that can',
    'reach GitHub (or set ELECTRON_MIRROR to a mirror), then `npm start` again.',
    'Until then Spare runs as the headless daemon: the same node and the same UI, in your browser.',
    'Open the one-time login link it prints below; stop it with Ctrl-C.',
  ].join(' ')
}

/** True when the output is missing or older than its newest input. */
export function isStale(outputMtimeMs, newestInputMtimeMs) {
  return outputMtimeMs === null || newestInputMtimeMs > outputMtimeMs
}

/** Whether ARGS already choose a network (--network X or --network=X). */
export function hasFlag(args, name) {
  return args.some((a) => a === `--${name}` || a.startsWith(`--${name}=`))
}

/** Where npm start keeps the node's data: the same folder for the app and the daemon fallback. */
export function devDataDir(platform, env, home) {
  const appData =
    platform === 'win32'
      ? (env.APPDATA ?? path.join(home, 'AppData', 'Roaming'))
      : platform === 'darwin'
        ? path.join(home, 'Library', 'Application Support')
        : env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME)
          ? env.XDG_CONFIG_HOME
          : path.join(home, '.config')
  return path.join(appData, 'Spare (development)', 'node')
}

/** The environment of the child: development data folder and local network unless set. */
export function childEnv(env, { platform = process.platform, home = os.homedir() } = {}) {
  const next = { ...env }
  delete next.ELECTRON_RUN_AS_NODE
  if (!next.SPARE_DATA_DIR) next.SPARE_DATA_DIR = devDataDir(platform, env, home)
  if (!next.SPARE_NETWORK) next.SPARE_NETWORK = 'local'
  return next
}

/** The command line of the fallback: `spare daemon`, on the local network unless told otherwise. */
export function daemonArgs(args, env) {
  const network = hasFlag(args, 'network') ? [] : ['--network', env.SPARE_NETWORK || 'local']
  return [path.join(root, 'bin', 'spare'), 'daemon', ...network, ...args]
}

// ---- effects ----

/** The Electron binary if require('electron') names one that exists; null otherwise. */
export function electronBinary(requireFn = createRequire(path.join(root, 'package.json'))) {
  try {
    const binary = requireFn('electron')
    return typeof binary === 'string' && fs.existsSync(binary) ? binary : null
  } catch {
    return null // no path.txt: the binary was never downloaded
  }
}

function newestMtime(target, skip) {
  let stat
  try {
    stat = fs.statSync(target)
  } catch {
    return 0
  }
  if (!stat.isDirectory()) return stat.mtimeMs
  let newest = 0
  for (const entry of fs.readdirSync(target)) {
    const child = path.join(target, entry)
    if (entry === 'node_modules' || skip.some((s) => child === s || child.startsWith(s + path.sep)))
      continue
    newest = Math.max(newest, newestMtime(child, skip))
  }
  return newest
}

function outputMtime(files) {
  try {
    return Math.min(...files.map((f) => fs.statSync(f).mtimeMs))
  } catch {
    return null
  }
}

const TARGETS = {
  renderer: {
    outputs: ['renderer/dist/index.html'],
    inputs: ['renderer', 'shared', 'package.json'],
    skip: ['renderer/dist'],
    command: ['npm', ['run', '--silent', 'build:renderer']],
  },
  main: {
    outputs: ['dist/main/app/main.cjs', 'dist/main/app/preload.cjs'],
    inputs: ['main', 'shared', 'build/tray', 'scripts/build-main.mjs', 'package.json'],
    skip: [],
    command: [process.execPath, [path.join(root, 'scripts', 'build-main.mjs')]],
  },
}

/** Whether a build target ('renderer' or 'main') is missing or older than its sources. */
export function needsBuild(name) {
  const t = TARGETS[name]
  const abs = (p) => path.join(root, p)
  const skip = t.skip.map(abs)
  const inputs = Math.max(...t.inputs.map((p) => newestMtime(abs(p), skip)))
  return isStale(outputMtime(t.outputs.map(abs)), inputs)
}

function buildIfNeeded(name) {
  const t = TARGETS[name]
  if (!needsBuild(name)) return
  console.log(`npm start: building ${name === 'main' ? 'the main process' : 'the renderer'}…`)
  const [cmd, args] = t.command
  const res = spawnSync(cmd, args, {
    cwd: root,
    stdio: 'inherit',
    shell: process.platform === 'win32',
  })
  if (res.status !== 0) {
    console.error(
      `npm start: the ${name} build failed; fix the errors above and run npm start again.`,
    )
    process.exit(res.status ?? 1)
  }
}

function tryDownloadElectron() {
  console.log("npm start: Electron's binary is missing; trying to download it once…")
  const res = spawnSync(
    process.execPath,
    [path.join(root, 'node_modules', 'electron', 'install.js')],
    {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '' },
      timeout: 5 * 60_000,
    },
  )
  if (res.status === 0) return true
  // One line of why, not the downloader's stack trace.
  const output = `${res.stderr ?? ''}\n${res.stdout ?? ''}`
  const reason =
    output.split('\n').find((line) => /error/i.test(line) && !/^\s+at /.test(line)) ??
    res.error?.message ??
    `exit code ${res.status}`
  console.log(`npm start: the download failed: ${reason.trim()}`)
  return false
}

/**
 * Forwards a signal at most once per `windowMs`: Ctrl-C reaches npm and this script alike, and npm
 * passes it on again, yet the child must see one SIGINT (a second one means "force quit" to the
 * daemon). A later one is passed on, so pressing Ctrl-C again still forces.
 */
export function signalDeduper(windowMs = 1500, now = () => Date.now()) {
  const last = new Map()
  return (signal) => {
    const t = now()
    const prev = last.get(signal)
    last.set(signal, t)
    return prev === undefined || t - prev >= windowMs
  }
}

/** Runs a child with our stdio, passes our signals on to it and exits with its code. */
function runForwarding(cmd, args, env) {
  // In its own process group (POSIX), so that the terminal's Ctrl-C reaches the child only
  // through us, exactly once.
  const detached = process.platform !== 'win32'
  const child = spawn(cmd, args, { cwd: root, stdio: 'inherit', env, detached })
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP']
  const shouldForward = signalDeduper()
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null && shouldForward(signal)) {
      child.kill(signal)
    }
  }
  for (const s of signals) process.on(s, forward)
  child.on('error', (err) => {
    console.error(`npm start: could not run ${cmd}: ${err.message}`)
    process.exit(1)
  })
  child.on('exit', (code, signal) => {
    for (const s of signals) process.off(s, forward)
    if (signal !== null) process.kill(process.pid, signal)
    else process.exit(code ?? 1)
  })
}

function main(args) {
  let decision = decideStart({ binary: electronBinary(), downloadTried: false, env: process.env })
  if (decision.action === 'download') {
    const ok = tryDownloadElectron()
    const binary = ok ? electronBinary() : null
    decision = decideStart({ binary, downloadTried: true, env: process.env })
  }
  const env = childEnv(process.env)
  buildIfNeeded('renderer')
  if (decision.action === 'electron') {
    buildIfNeeded('main')
    runForwarding(decision.binary, [root, ...args], env)
    return
  }
  console.log(`\n${fallbackMessage(decision.reason)}\n`)
  // Run directly where a shell reads bin/spare's launcher line (the daemon's memory settings,
  // docs/ARCHITECTURE.md, Memory); on Windows through node.
  const [bin, ...rest] = daemonArgs(args, env)
  if (process.platform === 'win32') runForwarding(process.execPath, [bin, ...rest], env)
  else runForwarding(bin, rest, { ...env, SPARE_NODE: process.execPath })
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main(process.argv.slice(2))
}
