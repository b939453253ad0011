// The `spare` command line. `spare daemon` runs the node in the foreground; every other command
// talks to the running daemon of the same data directory through its local API.
// Exit codes: 0 success, 1 runtime failure, 2 bad usage or bad input (message on stderr).
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import {
  ApiError,
  JOB_INPUT_MAX_BYTES,
  JOB_MODULE_MAX_BYTES,
  type DonateStatus,
  type FolderSummary,
  type JobDetail,
  type JobSummary,
  type NodeStatus,
  type Peer,
  type RunSummary,
} from '../../shared/contract.ts'
import { parseDuration, parsePercent, parseRate, parseSize } from '../engine/limits/units.ts'
import { defaultDataDir } from '../engine/paths.ts'
import { LOG_LEVELS, type LogLevel } from '../engine/log-levels.ts'
import { connect, NoDaemonError, postToDaemon } from './http-client.ts'
import { VERSION } from '../engine/version.ts'

export class UsageError extends Error {}

/** A percentage where 0 is allowed ("--cpu 0": donate nothing). */
function parsePercentOrZero(text: string): number {
  if (/^\s*0+(\.0+)?\s*%?\s*$/.test(text)) return 0
  return parsePercent(text)
}

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
    ...(s.notices ?? []).map((n) => `Notice    ${n}`),
  ].join('\n')
}

export function formatFolder(f: FolderSummary): string {
  const progress =
    f.bytes > 0 && f.localBytes < f.bytes ? ` ${Math.floor((100 * f.localBytes) / f.bytes)}%` : ''
  const scan = f.scan && f.state === 'scanning' ? ` ${f.scan.done}/${f.scan.total} paths` : ''
  const lines = [
    `${f.id}  ${f.name}  [${f.kind === 'sync' ? `two-way, ${f.role}` : f.role}]  ${f.state}${scan}${progress}`,
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

function formatDonate(st: DonateStatus): string {
  const l = st.limits
  const rule = (name: string, v: number | null): string =>
    v === null ? `${name} off` : `${name} ${formatBytes(v)}`
  const lines = [
    `donating ${st.disk.budget > 0 ? formatBytes(st.disk.budget) : 'nothing (set a disk limit: spare donate set --disk 50GB)'}   used ${formatBytes(st.usedBytes)}   binding rule: ${st.disk.binding}`,
    `  limits  disk ${l.diskBytes === null ? 'off' : formatBytes(l.diskBytes)}, ${l.diskPercent === null ? 'percent off' : `${l.diskPercent}% of disk`}, leave free ${l.leaveFreeBytes === null ? 'off' : formatBytes(l.leaveFreeBytes)}, up ${l.upBytesPerSec === null ? 'unlimited' : `${formatBytes(l.upBytesPerSec)}/s`}, down ${l.downBytesPerSec === null ? 'unlimited' : `${formatBytes(l.downBytesPerSec)}/s`}`,
    `  caps    ${rule('disk', st.disk.byRule.disk)}, ${rule('percent', st.disk.byRule.percent)}, ${rule('leave-free', st.disk.byRule.leaveFree)}   disk ${formatBytes(st.fs.free)} free of ${formatBytes(st.fs.total)}`,
  ]
  const c = st.cpu
  const cpuOn = l.cpuPercent !== null && l.cpuPercent > 0
  lines.push(
    `cpu      ${cpuOn ? `${l.cpuPercent}% of CPU time on ${l.cpuCores} of ${c.machineCores} cores` : 'nothing (set a CPU limit: spare donate set --cpu 25)'}   used ${c.usedPercent.toFixed(1)}%   jobs ${c.running} running, ${c.queued} queued`,
    `  now     ${c.blockedBy ? `suspended (${c.blockedBy}): ` : ''}${c.reason}`,
    `  limits  only idle ${l.onlyIdleMs === null ? 'off' : formatMs(l.onlyIdleMs)}, suspend above ${l.suspendAboveOtherPercent === null ? 'off' : `${l.suspendAboveOtherPercent}% other CPU`}, on battery ${l.allowOnBattery ? 'yes' : 'no'}, schedule ${l.schedule ?? 'always'}, per job ${formatBytes(l.jobMemoryBytes)} / ${formatMs(l.jobWallMs)}`,
    `  machine other programs ${c.otherPercent === null ? '?' : `${c.otherPercent.toFixed(0)}%`} CPU, idle ${c.idleMs === null ? 'unknown' : formatMs(c.idleMs)}, battery ${c.onBattery === null ? 'unknown' : c.onBattery ? 'yes' : 'no'} (${c.probe})`,
  )
  if (st.pause) {
    lines.push(
      `paused   ${st.pause.until === null ? 'until resumed (spare donate resume)' : `until ${new Date(st.pause.until).toLocaleTimeString()}`}`,
    )
  }
  if (st.hosting.length) {
    lines.push(`  keeping ${st.hosting.length} folders for others:`)
    for (const h of st.hosting) {
      lines.push(
        `    ${h.folder}  ${formatBytes(h.bytes)} of ${formatBytes(h.agreedBytes)} agreed  ${h.cores} cores  for ${h.owner.slice(0, 16)}…`,
      )
    }
  }
  return lines.join('\n')
}

function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`
  return formatDuration(Math.round(ms / 1000))
}

function formatJob(j: JobSummary): string {
  const agreed = j.donors.filter((d) => d.state === 'agreed').length
  const lines = [
    `${j.id.slice(0, 16)}  ${j.name}  ${j.state}  quorum ${j.quorum} of ${j.replicas}   ${new Date(j.submittedAt).toLocaleString()}`,
  ]
  if (j.resultHash) lines.push(`  result   ${j.resultHash}  (${formatBytes(j.outputBytes ?? 0)})`)
  if (j.error) lines.push(`  error    ${j.error.kind}: ${j.error.message}`)
  if (j.donors.length) lines.push(`  donors   ${agreed} agreed of ${j.donors.length} asked`)
  for (const d of j.donors) {
    const cpu = d.cpuMs === null ? '' : `  ${formatMs(d.cpuMs)} CPU`
    const credit = d.credited ? '  credited' : ''
    lines.push(
      `    ${d.identity.slice(0, 16)}  ${d.state}${cpu}${credit}${d.error ? `  (${d.error})` : ''}`,
    )
  }
  return lines.join('\n')
}

function formatRun(r: RunSummary): string {
  const credit = r.credited === null ? 'pending' : r.credited ? 'credited' : 'no credit'
  return `${r.id.slice(0, 16)}  for ${r.submitter.slice(0, 16)}  ${r.state}  ${formatMs(r.cpuMs)} CPU  ${credit}${r.error ? `  ${r.error.kind}: ${r.error.message}` : ''}`
}

async function readJobFile(file: string, what: string, max: number): Promise<Buffer> {
  let buf: Buffer
  try {
    buf = await fs.readFile(file)
  } catch (err) {
    throw new UsageError(`cannot read the ${what} ${file}: ${(err as Error).message}`)
  }
  if (buf.length > max) {
    throw new UsageError(
      `the ${what} ${file} is ${formatBytes(buf.length)}; at most ${formatBytes(max)}`,
    )
  }
  return buf
}

/** Prints a finished job: the output to --out, or as text when it is text, else a hint. */
async function reportJob(j: JobDetail, opts: { json?: boolean; out?: string }): Promise<void> {
  const output = j.output === null ? null : Buffer.from(j.output, 'base64')
  if (opts.out && output) await fs.writeFile(opts.out, output)
  if (opts.json) {
    print(true, j, () => '')
    return
  }
  const lines = [formatJob(j)]
  if (output && opts.out) lines.push(`  output   written to ${opts.out}`)
  else if (output && isPrintable(output)) lines.push(output.toString('utf8').replace(/\n$/, ''))
  else if (output) lines.push('  output   binary: save it with --out FILE')
  process.stdout.write(lines.join('\n') + '\n')
}

function isPrintable(b: Buffer): boolean {
  if (b.length > 64 * 1024) return false
  const text = b.toString('utf8')
  if (text.includes('\uFFFD')) return false
  // Control characters other than tab, newline and carriage return: binary.
  for (const byte of b) if (byte < 0x20 && byte !== 9 && byte !== 10 && byte !== 13) return false
  return true
}

/** Ledger credit is in byte-hours: 1 GB kept for an hour, or 1 GB served. */
function formatCredit(n: number): string {
  const sign = n < 0 ? '-' : ''
  return `${sign}${formatBytes(Math.abs(n))}·h`
}

function formatReceipt(r: {
  body:
    | {
        kind: 'storage' | 'served'
        host: string
        owner: string
        bytes: number
        from: number
        to: number
        audits: number
        folder: string
      }
    | { kind: 'compute'; host: string; owner: string; job: string; cpuMs: number; to: number }
}): string {
  const b = r.body
  if (b.kind === 'compute') {
    return `  ${new Date(b.to).toISOString()}  compute ${formatMs(b.cpuMs)} CPU for job ${b.job.slice(0, 12)}  donor ${b.host.slice(0, 12)} → submitter ${b.owner.slice(0, 12)}`
  }
  return `  ${new Date(b.to).toISOString()}  ${b.kind} ${formatBytes(b.bytes)} of ${b.folder}  host ${b.host.slice(0, 12)} → owner ${b.owner.slice(0, 12)}  audits ${b.audits}`
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
      const side = (x: { size: number; mtime: number; device: string } | null): string =>
        x
          ? `${formatBytes(x.size)}, modified ${new Date(x.mtime).toLocaleString()}, from ${x.device}`
          : 'deleted since'
      print(!!opts.json, list, () =>
        list.length
          ? list
              .map(
                (c) =>
                  `${c.path}\n  copy of ${c.original}\n  kept:  ${side(c.kept)}\n  copy:  ${side(c.copy)}`,
              )
              .join('\n') + '\n(spare resolve ID COPY --keep original|copy)'
          : 'No conflicts.',
      )
    })

  program
    .command('resolve')
    .description(
      'settle a conflict: keep the original (the copy is deleted) or the copy (it replaces the original)',
    )
    .argument('<id>', 'folder id (see `spare folders`)')
    .argument('<copy>', 'the conflict copy (see `spare conflicts ID`)')
    .addOption(
      new Option('--keep <side>', 'which version to keep')
        .choices(['original', 'copy'])
        .makeOptionMandatory(),
    )
    .option('--json', 'print one JSON document')
    .action(
      async (
        id: string,
        copy: string,
        opts: { keep: 'original' | 'copy'; json?: boolean },
        cmd: Command,
      ) => {
        const { client } = await connect(dataDirOf(cmd))
        const res = await client.call('folders.resolveConflict', {
          id,
          path: copy,
          keep: opts.keep,
        })
        print(!!opts.json, res, () =>
          opts.keep === 'original'
            ? `Kept ${res.path}; deleted the conflict copy.`
            : `The copy is now ${res.path}; the replaced version stays restorable (spare versions).`,
        )
      },
    )

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

  const donate = program
    .command('donate')
    .description(
      'show donated disk and CPU: limits, usage against each, what this node keeps for others',
    )
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const st = await client.call('donate.get')
      print(!!opts.json, st, () => formatDonate(st))
    })
  donate
    .command('set')
    .description('set donation limits (the smallest disk limit wins; "off" clears one)')
    .option('--disk <size>', 'at most this much, e.g. 50GB')
    .option('--disk-percent <p>', 'at most this share of the disk, e.g. 20')
    .option('--leave-free <size>', 'always leave this much free, e.g. 10GB')
    .option('--up <rate>', 'hosting upload limit, e.g. 2MB/s')
    .option('--down <rate>', 'hosting download limit, e.g. 5MB/s')
    .option('--cpu <p>', 'each job uses at most this % of CPU time, e.g. 25 (0 or off: none)')
    .option('--cores <n>', 'run at most this many jobs at once, one core each')
    .option('--only-idle <time>', 'run jobs only after no input for this long, e.g. 5m (off)')
    .option('--suspend-above <p>', 'suspend while other programs use more than p% CPU (off)')
    .option('--on-battery <yes|no>', 'also run jobs on battery power (default no)')
    .option(
      '--schedule <rules>',
      'when jobs may run, e.g. "mon-fri 18:00-08:00; sat,sun 00:00-24:00" (off)',
    )
    .option('--job-memory <size>', 'memory one job may use, e.g. 256MB')
    .option('--job-time <time>', 'wall time one job may take, e.g. 10m')
    .option('--json', 'print one JSON document')
    .action(
      async (
        opts: {
          json?: boolean
          disk?: string
          diskPercent?: string
          leaveFree?: string
          up?: string
          down?: string
          cpu?: string
          cores?: string
          onlyIdle?: string
          suspendAbove?: string
          onBattery?: string
          schedule?: string
          jobMemory?: string
          jobTime?: string
        },
        cmd: Command,
      ) => {
        const change: Record<string, number | string | boolean | null> = {}
        const off = (v: string): boolean => /^(off|none|unlimited)$/i.test(v.trim())
        try {
          if (opts.disk !== undefined)
            change.diskBytes = off(opts.disk) ? null : parseSize(opts.disk)
          if (opts.diskPercent !== undefined)
            change.diskPercent = off(opts.diskPercent) ? null : parsePercent(opts.diskPercent)
          if (opts.leaveFree !== undefined)
            change.leaveFreeBytes = off(opts.leaveFree) ? null : parseSize(opts.leaveFree)
          if (opts.up !== undefined) change.upBytesPerSec = parseRate(opts.up)
          if (opts.down !== undefined) change.downBytesPerSec = parseRate(opts.down)
          if (opts.cpu !== undefined)
            change.cpuPercent = off(opts.cpu) ? null : parsePercentOrZero(opts.cpu)
          if (opts.cores !== undefined) {
            if (!/^\d+$/.test(opts.cores.trim()) || Number(opts.cores) < 1)
              throw new Error(`--cores must be a whole number of 1 or more, got "${opts.cores}"`)
            change.cpuCores = Number(opts.cores)
          }
          if (opts.onlyIdle !== undefined)
            change.onlyIdleMs = off(opts.onlyIdle) ? null : parseDuration(opts.onlyIdle)
          if (opts.suspendAbove !== undefined)
            change.suspendAboveOtherPercent = off(opts.suspendAbove)
              ? null
              : parsePercentOrZero(opts.suspendAbove)
          if (opts.onBattery !== undefined) {
            const v = opts.onBattery.trim().toLowerCase()
            if (!['yes', 'no', 'true', 'false', 'on', 'off'].includes(v))
              throw new Error(`--on-battery takes yes or no, got "${opts.onBattery}"`)
            change.allowOnBattery = ['yes', 'true', 'on'].includes(v)
          }
          if (opts.schedule !== undefined)
            change.schedule =
              off(opts.schedule) || /^always$/i.test(opts.schedule.trim())
                ? null
                : opts.schedule.trim()
          if (opts.jobMemory !== undefined) change.jobMemoryBytes = parseSize(opts.jobMemory)
          if (opts.jobTime !== undefined) change.jobWallMs = parseDuration(opts.jobTime)
        } catch (err) {
          throw new UsageError((err as Error).message)
        }
        if (Object.keys(change).length === 0) {
          throw new UsageError(
            'give at least one limit: --disk, --disk-percent, --leave-free, --up, --down, --cpu, --cores, --only-idle, --suspend-above, --on-battery, --schedule, --job-memory or --job-time',
          )
        }
        const { client } = await connect(dataDirOf(cmd))
        const st = await client.call('donate.set', change)
        // --json may be parsed by `donate` itself: look at the parents' options too.
        print(!!cmd.optsWithGlobals<{ json?: boolean }>().json, st, () => formatDonate(st))
      },
    )

  donate
    .command('pause')
    .description('pause donating (hosting traffic and CPU jobs) until resumed, or --for a while')
    .option('--for <time>', 'resume by itself after this long, e.g. 1h')
    .option('--json', 'print one JSON document')
    .action(async (opts: { for?: string }, cmd: Command) => {
      let minutes: number | undefined
      if (opts.for !== undefined) {
        try {
          minutes = parseDuration(opts.for) / 60_000
        } catch (err) {
          throw new UsageError((err as Error).message)
        }
      }
      const { client } = await connect(dataDirOf(cmd))
      const st = await client.call('donate.pause', minutes === undefined ? {} : { minutes })
      print(!!cmd.optsWithGlobals<{ json?: boolean }>().json, st, () => formatDonate(st))
    })
  donate
    .command('snooze')
    .description('pause donating for one hour')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const st = await client.call('donate.pause', { minutes: 60 })
      print(!!cmd.optsWithGlobals<{ json?: boolean }>().json, st, () => formatDonate(st))
    })
  donate
    .command('resume')
    .description('resume donating after a pause or snooze')
    .option('--json', 'print one JSON document')
    .action(async (_opts: unknown, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const st = await client.call('donate.resume')
      print(!!cmd.optsWithGlobals<{ json?: boolean }>().json, st, () => formatDonate(st))
    })

  const compute = program
    .command('compute')
    .description('run WebAssembly jobs on donors: submit one, list jobs submitted and run')
  compute
    .command('submit')
    .description('send a job to donors; prints its result once a quorum of them agree')
    .argument('<module>', 'the WebAssembly module (.wasm) that imports only the spare interface')
    .requiredOption('--input <file>', "the job's input")
    .option('--replicas <n>', 'donors that run it at once; a majority must agree', '2')
    .option('--name <name>', 'a name to list it by (default: the module file name)')
    .option('--time <time>', 'wall time each donor may spend, e.g. 5m (default 10m)')
    .option('--out <file>', 'write the output here')
    .option('--no-wait', 'print the job id and return at once')
    .option('--json', 'print one JSON document')
    .action(
      async (
        modulePath: string,
        opts: {
          input: string
          replicas: string
          name?: string
          time?: string
          out?: string
          wait: boolean
          json?: boolean
        },
        cmd: Command,
      ) => {
        if (!/^\d+$/.test(opts.replicas.trim()) || Number(opts.replicas) < 1) {
          throw new UsageError(
            `--replicas must be a whole number of 1 or more, got "${opts.replicas}"`,
          )
        }
        let wallMs: number | undefined
        try {
          if (opts.time !== undefined) wallMs = parseDuration(opts.time)
        } catch (err) {
          throw new UsageError((err as Error).message)
        }
        const module = await readJobFile(modulePath, 'module', JOB_MODULE_MAX_BYTES)
        const input = await readJobFile(opts.input, 'input', JOB_INPUT_MAX_BYTES)
        const { client } = await connect(dataDirOf(cmd))
        const job = await client.call('compute.submit', {
          module: module.toString('base64'),
          input: input.toString('base64'),
          replicas: Number(opts.replicas),
          name: opts.name ?? path.basename(modulePath),
          ...(wallMs !== undefined ? { wallMs } : {}),
        })
        if (!opts.wait) {
          print(
            !!opts.json,
            job,
            () => `Submitted ${job.id}. See it with: spare compute job ${job.id}`,
          )
          return
        }
        if (!opts.json)
          process.stderr.write(
            `Submitted ${job.id.slice(0, 16)}; waiting for a quorum of donors…\n`,
          )
        for (;;) {
          const j = await client.call('compute.job', { id: job.id })
          if (j.state === 'done' || j.state === 'failed') {
            await reportJob(j, opts)
            if (j.state === 'failed') process.exitCode = 1
            return
          }
          await new Promise((r) => setTimeout(r, 300))
        }
      },
    )
  compute
    .command('jobs')
    .description('jobs this node submitted and jobs it ran for others, with their state')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const jobs = await client.call('compute.jobs')
      print(!!cmd.optsWithGlobals<{ json?: boolean }>().json || !!opts.json, jobs, () => {
        const lines: string[] = []
        lines.push(
          jobs.submitted.length
            ? 'Submitted:'
            : 'Submitted: none (spare compute submit MODULE.wasm --input FILE)',
        )
        for (const j of jobs.submitted) lines.push(formatJob(j))
        lines.push(
          jobs.run.length
            ? 'Run for others:'
            : 'Run for others: none (spare donate set --cpu 25 to donate CPU)',
        )
        for (const r of jobs.run) lines.push(`  ${formatRun(r)}`)
        return lines.join('\n')
      })
    })
  compute
    .command('job')
    .description('one submitted job: its state, donors and result')
    .argument('<id>', 'the job id (see `spare compute jobs`)')
    .option('--out <file>', 'write the output here')
    .option('--json', 'print one JSON document')
    .action(async (id: string, opts: { out?: string; json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const j = await client.call('compute.job', { id })
      await reportJob(j, {
        ...opts,
        json: !!cmd.optsWithGlobals<{ json?: boolean }>().json || !!opts.json,
      })
      if (j.state === 'failed') process.exitCode = 1
    })

  const ledger = program
    .command('ledger')
    .description("show this node's ledger: its key, balance and recent receipts")
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const l = await client.call('ledger.get')
      print(!!opts.json, l, () =>
        [
          `ledger   ${l.key}`,
          `identity ${l.identity}`,
          `given ${formatCredit(l.given)}   received ${formatCredit(l.received)}   balance ${formatCredit(l.balance)}   receipts ${l.receipts}`,
          ...l.recent.slice(0, 10).map(formatReceipt),
        ].join('\n'),
      )
    })
  ledger
    .command('verify')
    .description("fetch another node's ledger by its key and check every signature")
    .argument('<key>', 'the ledger key (64 hex characters, from `spare ledger` on that node)')
    .option('--json', 'print one JSON document')
    .action(async (key: string, opts: { json?: boolean }, cmd: Command) => {
      const { client } = await connect(dataDirOf(cmd))
      const r = await client.call('ledger.verify', { key })
      print(!!cmd.optsWithGlobals<{ json?: boolean }>().json, r, () =>
        [
          `${r.valid ? 'VALID' : 'INVALID'}  ledger ${r.key} of ${r.identity ?? 'an unproven identity'}`,
          `entries ${r.entries}   receipts ${r.receiptCount}   given ${formatCredit(r.given)}   received ${formatCredit(r.received)}   balance ${formatCredit(r.balance)}`,
          ...(r.ahead > 0
            ? [
                `${r.ahead} receipt${r.ahead === 1 ? '' : 's'} not counted yet: ${r.ahead === 1 ? 'its period ends' : 'their periods end'} ahead of this clock (is it behind?)`,
              ]
            : []),
          ...r.errors.slice(0, 20).map((e) => `  entry ${e.index}: ${e.reason}`),
        ].join('\n'),
      )
      if (!r.valid) process.exitCode = 1
    })

  program
    .command('hosts')
    .description('show the donor hosts keeping a two-way folder; with N, how many it should have')
    .argument('<id>', 'folder id (see `spare folders`)')
    .argument('[n]', 'how many hosts to keep (0-16; default 2)')
    .option('--json', 'print one JSON document')
    .action(async (id: string, n: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      if (n !== undefined && !/^\d+$/.test(n))
        throw new UsageError(`N must be a whole number, got "${n}"`)
      const { client } = await connect(dataDirOf(cmd))
      let f
      if (n !== undefined) {
        f = await client.call('folders.configure', { id, hostsWanted: Number(n) })
      } else {
        f = await client.call('folders.get', { id })
      }
      print(!!opts.json, { hostsWanted: f.hostsWanted, hosts: f.hosts }, () =>
        [
          `${f.hosts.length} of ${f.hostsWanted} hosts`,
          ...f.hosts.map(
            (h) =>
              `${h.host.slice(0, 16)}…  ${formatBytes(h.bytes)} of ${formatBytes(h.agreedBytes)}  ${h.connected ? 'online' : 'offline'}  audits passed ${h.auditsPassed}${h.lastAudit ? `  last ${h.lastAudit.ok ? 'ok' : `FAILED (${h.lastAudit.reason})`}` : ''}`,
          ),
        ].join('\n'),
      )
    })

  program
    .command('ui')
    .description('print a one-time login link to the web UI of the running daemon')
    .option('--json', 'print one JSON document')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const dataDir = dataDirOf(cmd)
      const { info, token } = await connect(dataDir)
      const answer = await postToDaemon(`http://127.0.0.1:${info.port}/api/ui-link`, token, dataDir)
      const link = (answer as { url?: unknown } | null)?.url
      if (typeof link !== 'string')
        throw new ApiError('INTERNAL', 'the daemon answered without a login link')
      const body = { url: link }
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
