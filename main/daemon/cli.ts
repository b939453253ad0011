// The `spare` command line. `spare daemon` runs the node in the foreground; every other command
// talks to the running daemon of the same data directory through its local API.
// Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input (message on stderr).
import path from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import { ApiError, type FolderSummary, type NodeStatus, type Peer } from '../../shared/contract.ts'
import { defaultDataDir } from '../engine/paths.ts'
import { LOG_LEVELS, type LogLevel } from '../engine/log-levels.ts'
import { connect, NoDaemonError } from './http-client.ts'
import { VERSION } from '../engine/version.ts'

export class UsageError extends Error {}

interface GlobalOpts {
  dataDir?: string
}

function dataDirOf(cmd: Command): string {
  const opts = cmd.optsWithGlobals<GlobalOpts>()
  return path.resolve(opts.dataDir ?? defaultDataDir())
}

function print(json: boolean, value: unknown, human: () => string): void {
  if (json) process.stdout.write(JSON.stringify(value, null, 2) + '\n')
  else process.stdout.write(human() + '\n')
}

export function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let v = n
  let i = 0
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000
    i++
  }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`
}

function formatDuration(s: number): string {
  const d = Math.floor(s / 86400)
  const h = Math.floor((s % 86400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d) return `${d}d ${h}h`
  if (h) return `${h}h ${m}m`
  if (m) return `${m}m ${s % 60}s`
  return `${s}s`
}

function formatStatus(s: NodeStatus): string {
  return [
    `Node      ${s.nodeId}`,
    `Version   ${s.version}`,
    `Network   ${s.network.mode}${s.network.bootstrap.length ? ` (${s.network.bootstrap.join(', ')})` : ''}`,
    `Peers     ${s.peers}`,
    `Syncing   ${s.paused ? 'paused (spare resume)' : 'on'}`,
    `Folders   ${s.folders}`,
    `Uptime    ${formatDuration(s.uptime)}`,
    `Data dir  ${s.dataDir}`,
  ].join('\n')
}

function formatFolder(f: FolderSummary): string {
  const progress =
    f.bytes > 0 && f.localBytes < f.bytes ? ` ${Math.floor((100 * f.localBytes) / f.bytes)}%` : ''
  const lines = [
    `${f.id}  ${f.name}  [${f.kind === 'sync' ? `two-way, ${f.role}` : f.role}]  ${f.state}${progress}`,
    `  path     ${f.path}`,
    `  content  ${f.files} files, ${formatBytes(f.bytes)}   peers ${f.peers}   version ${f.version}`,
  ]
  if (f.kind === 'sync') {
    lines.push(`  writers  ${f.members}   conflicts ${f.conflicts}`)
    if (f.waitingForAccept) {
      lines.push('  waiting  for a writer of the folder to come online and accept this device')
    }
  }
  if (f.error) lines.push(`  error    ${f.error}`)
  if (f.problems.length) {
    lines.push(`  problems: ${f.problems.length}`)
    for (const r of f.problems.slice(0, 5)) lines.push(`    ${JSON.stringify(r.path)}: ${r.reason}`)
  }
  if (f.localChanges.length) {
    lines.push(`  local changes (not sent anywhere): ${f.localChanges.length}`)
    for (const c of f.localChanges.slice(0, 10)) lines.push(`    ${c.kind.padEnd(8)} ${c.path}`)
    if (f.localChanges.length > 10) lines.push(`    … and ${f.localChanges.length - 10} more`)
  }
  if (f.refused.length) {
    lines.push(`  refused from the network: ${f.refused.length}`)
    for (const r of f.refused.slice(0, 5)) lines.push(`    ${JSON.stringify(r.path)}: ${r.reason}`)
  }
  return lines.join('\n')
}

function formatPeers(peers: Peer[]): string {
  if (!peers.length) return 'No peers connected.'
  return peers
    .map(
      (p) =>
        `${p.id.slice(0, 16)}…  since ${p.connectedAt}  folders: ${p.folders.join(', ') || '-'}`,
    )
    .join('\n')
}

export function buildProgram(): Command {
  const program = new Command()
  program
    .name('spare')
    .description('Spare: a peer-to-peer personal cloud. Sync folders, donate disk and CPU.')
    // No commander .version(): its --version would swallow `spare restore --version V`.
    .addHelpText('after', '\n`spare --version` prints the version.')
    .option('--data-dir <dir>', 'data directory (default: $SPARE_DATA_DIR or the app data folder)')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })

  program
    .command('daemon')
    .description('run the node in the foreground until SIGINT/SIGTERM')
    .option(
      '--network <mode>',
      'public, local, or a bootstrap list HOST:PORT[,HOST:PORT...] (saved)',
    )
    .option(
      '--port <port>',
      'port of the local API on 127.0.0.1 (default: any free port)',
      parsePort,
    )
    .addOption(
      new Option('--log-level <level>', 'log level').choices(LOG_LEVELS as unknown as string[]),
    )
    .action(
      async (opts: { network?: string; port?: number; logLevel?: LogLevel }, cmd: Command) => {
        // Loaded here so the other commands never load the engine.
        const { runDaemon } = await import('./daemon.ts')
        process.exitCode = await runDaemon({ dataDir: dataDirOf(cmd), ...opts })
      },
    )

  program
    .command('status')
    .description('node id, network mode, peers, folders, uptime')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const status = await client.call('node.status')
      print(!!opts.json, status, () => formatStatus(status))
    })

  program
    .command('share')
    .description('share a folder two-way (every writer you invite can change it); prints an invite')
    .argument('<path>', 'the folder to share')
    .option('--name <name>', 'a name for the folder (default: its base name)')
    .option('--publish', 'only this device writes; the others mirror it (one-way)')
    .option('--json', 'print one JSON document')
    .action(
      async (
        p: string,
        opts: { json?: boolean; name?: string; publish?: boolean },
        cmd: Command,
      ) => {
        const { client } = await connect(dataDirOf(cmd))
        const res = await client.call('folders.share', {
          path: path.resolve(p),
          mode: opts.publish ? 'publish' : 'sync',
          ...(opts.name ? { name: opts.name } : {}),
        })
        print(!!opts.json, { invite: res.invite, folder: res.folder }, () =>
          [
            `Sharing ${res.folder.path} as ${res.folder.id}.`,
            opts.publish
              ? 'Invite (for devices that mirror this folder; it carries the key to read it):'
              : 'Invite for one more writer (single use, valid 7 days; `spare invite ID --read-only` for a reader):',
            '',
            res.invite,
          ].join('\n'),
        )
      },
    )

  program
    .command('invite')
    .description('print a new invite to a folder: for a writer, or --read-only for a reader')
    .argument('<id>', 'folder id (see `spare folders`)')
    .option('--read-only', 'the invited device receives the folder but cannot change it')
    .option('--json', 'print one JSON document')
    .action(async (id: string, opts: { json?: boolean; readOnly?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const res = await client.call('folders.invite', { id, readOnly: !!opts.readOnly })
      print(!!opts.json, res, () => res.invite)
    })

  program
    .command('join')
    .description('join a shared folder into PATH (created if missing), as writer or reader')
    .argument('<invite>', 'the invite printed by `spare share` or `spare invite`')
    .argument('<path>', 'where to put the folder')
    .option('--json', 'print one JSON document')
    .action(async (invite: string, p: string, opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const res = await client.call('folders.join', { invite, path: path.resolve(p) })
      print(
        !!opts.json,
        res,
        () =>
          `Joined ${res.folder.name} (${res.folder.id}) into ${res.folder.path} as ${res.folder.role === 'writer' ? 'a writer' : 'a reader'}.`,
      )
    })

  program
    .command('members')
    .description('list the writer devices of a two-way folder')
    .argument('<id>', 'folder id (see `spare folders`)')
    .option('--json', 'print one JSON document')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const members = await client.call('folders.members', { id })
      print(!!opts.json, members, () =>
        members
          .map(
            (m) =>
              `${m.device}  ${m.removed ? 'removed' : 'writer '}  ${m.label || '-'}${m.you ? '  (this device)' : ''}`,
          )
          .join('\n'),
      )
    })

  program
    .command('remove')
    .description('remove a writer from a two-way folder: every member refuses its later changes')
    .argument('<id>', 'folder id (see `spare folders`)')
    .argument('<device>', 'the device id (see `spare members ID`)')
    .option('--json', 'print one JSON document')
    .action(async (id: string, device: string, opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const m = await client.call('folders.removeMember', { id, member: device })
      print(!!opts.json, m, () => `Removed ${m.device} from ${id}. Its later changes are refused.`)
    })

  program
    .command('conflicts')
    .description('list the conflict copies in a two-way folder')
    .argument('<id>', 'folder id (see `spare folders`)')
    .option('--json', 'print one JSON document')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const list = await client.call('folders.conflicts', { id })
      print(!!opts.json, list, () =>
        list.length
          ? list.map((c) => `${c.path}\n  copy of ${c.original}`).join('\n')
          : 'No conflicts.',
      )
    })

  program
    .command('versions')
    .description('list the kept versions of a file in a two-way folder, newest first')
    .argument('<id>', 'folder id (see `spare folders`)')
    .argument('<path>', 'the file, relative to the folder')
    .option('--json', 'print one JSON document')
    .action(async (id: string, p: string, opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const list = await client.call('folders.versions', { id, path: p })
      print(!!opts.json, list, () =>
        list.length
          ? list
              .map(
                (v) =>
                  `${v.id.padEnd(20)} ${new Date(v.at).toISOString()}  ${v.kind === 'deleted' ? 'deleted' : formatBytes(v.size).padStart(9)}  by ${v.device}${v.current ? '  (current)' : ''}`,
              )
              .join('\n')
          : `No versions of ${p}.`,
      )
    })

  program
    .command('restore')
    .description(
      'restore a kept version of a file (default: the newest earlier one) in place or to DEST',
    )
    .argument('<id>', 'folder id (see `spare folders`)')
    .argument('<path>', 'the file, relative to the folder')
    .option('--version <v>', 'the version id (see `spare versions ID PATH`)')
    .option('--to <dest>', 'write the version to DEST instead of into the folder')
    .option('--json', 'print one JSON document')
    .action(
      async (
        id: string,
        p: string,
        opts: { json?: boolean; version?: string; to?: string },
        cmd: Command,
      ) => {
        const { client } = await connect(dataDirOf(cmd))
        const res = await client.call('folders.restore', {
          id,
          path: p,
          ...(opts.version ? { version: opts.version } : {}),
          ...(opts.to ? { to: path.resolve(opts.to) } : {}),
        })
        print(!!opts.json, res, () => `Restored version ${res.version} to ${res.path}.`)
      },
    )

  program
    .command('keep-versions')
    .description('set how many days replaced and deleted files stay restorable (default 30)')
    .argument('<id>', 'folder id (see `spare folders`)')
    .argument('<days>', 'days (0 keeps none)')
    .option('--json', 'print one JSON document')
    .action(async (id: string, days: string, opts: { json?: boolean }, cmd: Command) => {
      const n = Number(days)
      if (!/^\d+(\.\d+)?$/.test(days) || !Number.isFinite(n)) {
        throw new ApiError('BAD_INPUT', `days must be a number of days, got "${days}"`)
      }
      const { client } = await connect(dataDirOf(cmd))
      const f = await client.call('folders.configure', { id, versionsDays: n })
      print(!!opts.json, f, () => `Versions in ${id} are kept for ${n} days.`)
    })

  program
    .command('folders')
    .description('list folders with their state')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const folders = await client.call('folders.list')
      print(!!opts.json, folders, () =>
        folders.length
          ? folders.map(formatFolder).join('\n\n')
          : 'No folders yet. Share one with `spare share PATH`.',
      )
    })

  program
    .command('peers')
    .description('list connected peers')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const peers = await client.call('peers.list')
      print(!!opts.json, peers, () => formatPeers(peers))
    })

  program
    .command('network')
    .description('change the network mode of the running daemon, live (saved)')
    .argument('<mode>', 'public, local, or a bootstrap list HOST:PORT[,HOST:PORT...]')
    .option('--json', 'print one JSON document')
    .action(async (mode: string, opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const status = await client.call('node.setNetwork', { network: mode })
      print(!!opts.json, status, () => formatStatus(status))
    })

  for (const [name, method, done] of [
    ['pause', 'sync.pause', 'Syncing is paused for every folder (until `spare resume`).'],
    ['resume', 'sync.resume', 'Syncing resumed.'],
  ] as const) {
    program
      .command(name)
      .description(
        name === 'pause'
          ? 'pause syncing of every folder (saved across restarts)'
          : 'resume syncing',
      )
      .option('--json', 'print one JSON document')
      .action(async (opts: { json?: boolean }, cmd: Command) => {
        const { client } = await connect(dataDirOf(cmd))
        const status = await client.call(method)
        print(!!opts.json, status, () => done)
      })
  }

  program
    .command('unshare')
    .description('stop syncing a folder; its files on disk stay')
    .argument('<id>', 'folder id (see `spare folders`)')
    .option('--json', 'print one JSON document')
    .action(async (id: string, opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const res = await client.call('folders.unshare', { id })
      print(!!opts.json, res, () => `Stopped syncing ${id}. Its files stay on disk.`)
    })

  program
    .command('ui')
    .description('print a one-time login link to the web UI of the running daemon')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const dataDir = dataDirOf(cmd)
      const { info, token } = await connect(dataDir)
      const res = await fetch(`${info.url}/api/ui-link`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      })
      if (!res.ok) throw new ApiError('INTERNAL', `the daemon answered HTTP ${res.status}`)
      const body = (await res.json()) as { url: string }
      print(
        !!opts.json,
        body,
        () => `Open this link in a browser on this machine (it works once):\n${body.url}`,
      )
    })

  return program
}

function parsePort(v: string): number {
  const n = v.trim() === '' ? NaN : Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UsageError(`--port must be 0-65535, got "${v}"`)
  return n
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`${VERSION}\n`)
    return 0
  }
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.exitCode === 0
      )
        return 0
      return 2 // commander already printed the message
    }
    if (err instanceof UsageError) {
      process.stderr.write(`spare: ${err.message}\n`)
      return 2
    }
    if (err instanceof ApiError) {
      process.stderr.write(`spare: ${err.message}\n`)
      return err.code === 'BAD_INPUT' || err.code === 'NOT_FOUND' || err.code === 'CONFLICT' ? 2 : 1
    }
    if (err instanceof NoDaemonError) {
      process.stderr.write(`spare: ${err.message}\n`)
      return 1
    }
    process.stderr.write(`spare: ${(err as Error).message ?? String(err)}\n`)
    return 1
  }
}
