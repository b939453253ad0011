// The one API contract between Spare's engine and everything that drives it: the CLI, the web UI
// served by the daemon and the Electron renderer. Every method and event is declared here with a
// zod schema. The main side validates every call before it reaches the engine (main/engine/api);
// clients validate every result (shared/client.ts). No other channel names exist anywhere.
//
// This file imports neither Node nor the DOM: it runs in all three places.
import { z } from 'zod'

export const API_VERSION = 1

/** Folder ids are the first 16 hex characters of the folder's discovery key: stable, public. */
export const FolderIdSchema = z
  .string()
  .regex(/^[0-9a-f]{16}$/, 'a folder id is 16 hex characters (see `spare folders`)')

export const FolderRoleSchema = z.enum(['owner', 'reader', 'writer'])
export type FolderRole = z.infer<typeof FolderRoleSchema>

/** 'paused': syncing is paused node-wide (no network); an owner still records local changes. */
export const FolderStateSchema = z.enum(['scanning', 'syncing', 'idle', 'error', 'paused'])
export type FolderState = z.infer<typeof FolderStateSchema>

export const LocalChangeSchema = z.object({
  path: z.string(),
  kind: z.enum(['added', 'modified', 'deleted']),
})
export type LocalChange = z.infer<typeof LocalChangeSchema>

export const FolderHostSchema = z.object({
  /** The host's identity (node id). */
  host: z.string(),
  /** Bytes of the folder it reports holding. */
  bytes: z.number().nonnegative(),
  /** Bytes it agreed to keep. */
  agreedBytes: z.number().nonnegative(),
  connected: z.boolean(),
  since: z.number(),
  lastAudit: z
    .object({ at: z.number(), ok: z.boolean(), reason: z.string().nullable() })
    .nullable(),
  auditsPassed: z.number().int().nonnegative(),
})
export type FolderHost = z.infer<typeof FolderHostSchema>

export const FolderSummarySchema = z.object({
  id: FolderIdSchema,
  name: z.string(),
  path: z.string(),
  role: FolderRoleSchema,
  state: FolderStateSchema,
  /** Set when state is 'error' (for example the disk is full); null otherwise. */
  error: z.string().nullable(),
  /** Files (and symlinks) in the folder's published tree. */
  files: z.number().int().nonnegative(),
  /** Bytes of file content in the folder's published tree. */
  bytes: z.number().int().nonnegative(),
  /** Bytes of that content this device already holds on disk in the folder. */
  localBytes: z.number().int().nonnegative(),
  peers: z.number().int().nonnegative(),
  /** Version of the folder's tree this device has reached. */
  version: z.number().int().nonnegative(),
  /** A reader's own edits, which are never sent anywhere. Always empty for an owner. */
  localChanges: z.array(LocalChangeSchema),
  /** Entries refused from the network (hostile or invalid paths), most recent first. */
  refused: z.array(z.object({ path: z.string(), reason: z.string() })),
  lastSyncAt: z.string().nullable(),
  /** 'publish': one owner, readers mirror it. 'sync': two-way, every writer can change it. */
  kind: z.enum(['publish', 'sync']).default('publish'),
  /** Conflict copies in the tree (sync folders). */
  conflicts: z.number().int().nonnegative().default(0),
  /** Names that cannot exist on another OS, case-only clashes, unreadable files. */
  problems: z.array(z.object({ path: z.string(), reason: z.string() })).default([]),
  /** Writer devices of a sync folder (not removed). */
  members: z.number().int().nonnegative().default(0),
  /** A joined writer no member has accepted yet (none online since it joined). */
  waitingForAccept: z.boolean().default(false),
  /** Two-way folders: days replaced and deleted versions stay restorable (null: publish). */
  versionsDays: z.number().nullable().default(null),
  /** Two-way folders: donor hosts keeping its encrypted cores, and how many it wants. */
  hosts: z.array(FolderHostSchema).default([]),
  hostsWanted: z.number().int().nonnegative().default(0),
  /**
   * While a full scan runs (state 'scanning'): the paths it has looked at of those it found.
   * Null otherwise, and from daemons that do not report it.
   */
  scan: z
    .object({ done: z.number().int().nonnegative(), total: z.number().int().nonnegative() })
    .nullable()
    .default(null),
})
export type FolderSummary = z.infer<typeof FolderSummarySchema>

export const NetworkModeSchema = z.enum(['public', 'local', 'custom'])
export type NetworkMode = z.infer<typeof NetworkModeSchema>

export const NodeStatusSchema = z.object({
  nodeId: z.string(),
  version: z.string(),
  network: z.object({
    mode: NetworkModeSchema,
    bootstrap: z.array(z.string()),
  }),
  peers: z.number().int().nonnegative(),
  folders: z.number().int().nonnegative(),
  /** Syncing paused node-wide: no folder talks to the network until resumed. Survives restarts. */
  paused: z.boolean(),
  uptime: z.number().nonnegative(),
  dataDir: z.string(),
  /**
   * What this start could not read under the data directory and what it did about it (a damaged
   * state file set aside, a folder that could not open). Absent from older daemons.
   */
  notices: z.array(z.string()).optional(),
})
export type NodeStatus = z.infer<typeof NodeStatusSchema>

export const PeerSchema = z.object({
  id: z.string(),
  /** Folder ids this peer replicates with us. */
  folders: z.array(FolderIdSchema),
  connectedAt: z.string(),
  bytesUp: z.number().int().nonnegative(),
  bytesDown: z.number().int().nonnegative(),
})
export type Peer = z.infer<typeof PeerSchema>

const PathParam = z
  .string()
  .min(1, 'a folder path is required')
  .max(4096, 'path is too long')
  .refine((p) => !p.includes('\0'), 'path contains a NUL byte')

const InviteParam = z
  .string()
  .trim()
  .min(1, 'an invite is required')
  .max(2048, 'invite is too long')

/** A path inside a folder, as a user types it ('notes/a.txt' or '/notes/a.txt'). */
const FilePathParam = z
  .string()
  .min(1, 'a path inside the folder is required')
  .max(4096, 'path is too long')
  .refine((p) => !p.includes('\0'), 'path contains a NUL byte')

export const MemberSchema = z.object({
  /** Short device id: the first 12 hex characters of the member's log key. */
  device: z.string(),
  key: z.string(),
  label: z.string(),
  removed: z.boolean(),
  /** This device. */
  you: z.boolean(),
  /** The device that added this member (null for the folder's creator). */
  addedBy: z.string().nullable(),
})
export type Member = z.infer<typeof MemberSchema>

/** One side of a conflict: what the engine knows of that version. */
export const ConflictSideSchema = z.object({
  kind: z.enum(['file', 'dir', 'symlink']),
  size: z.number(),
  mtime: z.number(),
  /** The device whose content this is. */
  device: z.string(),
})

export const ConflictSchema = z.object({
  /** The conflict copy: NAME.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.EXT */
  path: z.string(),
  /** The path it is a copy of. */
  original: z.string(),
  copy: ConflictSideSchema,
  /** The file the copy sits beside (the version that kept the name); null if deleted since. */
  kept: ConflictSideSchema.nullable(),
})
export type Conflict = z.infer<typeof ConflictSchema>

export const VersionSchema = z.object({
  /** DEVICE.INDEX: the writer log and position of this version. */
  id: z.string(),
  kind: z.enum(['file', 'dir', 'symlink', 'deleted']),
  size: z.number().int().nonnegative(),
  mtime: z.number(),
  /** When the version was recorded (ms since the epoch). */
  at: z.number(),
  /** The device whose content this is. */
  device: z.string(),
  current: z.boolean(),
})
export type Version = z.infer<typeof VersionSchema>

const limitBytes = z.number().int('bytes must be whole').min(0).max(1e18).nullable()

/** Donation limits; null means that kind of limit is off. */
export const DonateLimitsSchema = z.object({
  diskBytes: limitBytes,
  diskPercent: z.number().gt(0).max(100).nullable(),
  leaveFreeBytes: limitBytes,
  upBytesPerSec: limitBytes,
  downBytesPerSec: limitBytes,
  /** % of CPU time each donor job may use (a duty cycle); null or 0: no CPU is donated. */
  cpuPercent: z.number().min(0).max(100).nullable(),
  /** Donor jobs run at once (one core each). */
  cpuCores: z.number().int('cores must be whole').min(1).max(1024),
  /** Run jobs only after the computer has been idle this long (ms); null: also while in use. */
  onlyIdleMs: z
    .number()
    .int()
    .min(0)
    .max(7 * 24 * 3600 * 1000)
    .nullable(),
  /** Suspend jobs while other programs use more than this % of the machine's CPU; null: never. */
  suspendAboveOtherPercent: z.number().min(0).max(100).nullable(),
  /** Run jobs on battery power too (off by default: not on battery). */
  allowOnBattery: z.boolean(),
  /** When jobs may run: "09:00-17:00" or "mon-fri 18:00-08:00; sat,sun 00:00-24:00"; null: always. */
  schedule: z.string().max(500).nullable(),
  /** Memory one job may use at most (bytes). */
  jobMemoryBytes: z
    .number()
    .int()
    .min(16 * 1024 * 1024)
    .max(64 * 1024 ** 3),
  /** Wall time one job may take at most on this donor (ms). */
  jobWallMs: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3600 * 1000),
})

/** A change of limits: only the fields given change. */
export const DonateLimitsChangeSchema = DonateLimitsSchema.partial().strict()

/** Why donor jobs may not run now; null: they may. */
export const CpuBlockSchema = z.enum([
  'off', // no CPU donated (cpuPercent null or 0)
  'paused', // donating paused or snoozed
  'schedule', // outside the daily schedule
  'battery', // on battery power
  'in-use', // the computer was used within onlyIdleMs
  'busy', // other programs use more than suspendAboveOtherPercent
])
export type CpuBlock = z.infer<typeof CpuBlockSchema>

export const CpuStatusSchema = z.object({
  /** null: jobs may run now. */
  blockedBy: CpuBlockSchema.nullable(),
  /** One sentence for people: why jobs don't run, or what they may use. */
  reason: z.string(),
  /** Donor CPU time over the last 10 s, as % of cpuCores × 10 s (compare with cpuPercent). */
  usedPercent: z.number(),
  /** Other programs' CPU use, % of the whole machine; null before the first reading. */
  otherPercent: z.number().nullable(),
  /** Time since the last user input (ms); null where the platform can't tell. */
  idleMs: z.number().nullable(),
  /** null where the platform can't tell (a desktop without a battery reads false). */
  onBattery: z.boolean().nullable(),
  /** Where idle and battery readings come from (Electron's powerMonitor, /sys, pmset, ...). */
  probe: z.string(),
  machineCores: z.number(),
  running: z.number(),
  queued: z.number(),
})
export type CpuStatus = z.infer<typeof CpuStatusSchema>

/** Job ids: hex BLAKE2b-256 of the module, the input and a nonce. */
export const JobIdSchema = z
  .string()
  .trim()
  .regex(/^[0-9a-f]{64}$/, 'a job id is 64 hex characters (see `spare compute jobs`)')

/** Why a job (or one donor's run of it) failed. */
export const JobErrorKindSchema = z.enum([
  'invalid', // not a valid module, or not a Spare job (no spare.memory import, own memory, no run)
  'forbidden-import', // imports something other than the fixed interface
  'too-large', // module, input or output over the size caps
  'trap', // the module trapped (unreachable, out of bounds, ...), or run() returned non-zero
  'timeout', // past the wall-time cap
  'memory', // past the memory cap
  'crashed', // the runner process died
  'no-quorum', // donors kept disagreeing: no result reached the quorum
  // no result without disagreement: no donor took the job in time, or the donors asked went away,
  // answered late, sent results that did not check out or gave the job back (the message says
  // which), or none was at work on it for a while
  'no-donors',
  // the submitter withdrew it (a quorum agreed first), or the donor stopped or gave it up (its
  // donating held too long): never an answer about the job, so never a vote
  'cancelled',
])
export type JobErrorKind = z.infer<typeof JobErrorKindSchema>

export const JobDonorSchema = z.object({
  identity: z.string(),
  /** sent → running → answered (waiting for the quorum) → agreed or outvoted; or failed, gone. */
  state: z.enum(['sent', 'running', 'answered', 'agreed', 'outvoted', 'failed', 'gone']),
  resultHash: z.string().nullable(),
  cpuMs: z.number().nullable(),
  error: z.string().nullable(),
  /** A countersigned compute receipt was recorded for this donor. */
  credited: z.boolean(),
})

/** A job this node submitted. */
export const JobSummarySchema = z.object({
  id: z.string(),
  name: z.string(),
  state: z.enum(['waiting', 'running', 'done', 'failed']),
  replicas: z.number(),
  /** Matching results needed: a majority of the replicas, at least 1. */
  quorum: z.number(),
  moduleBytes: z.number(),
  inputBytes: z.number(),
  submittedAt: z.number(),
  finishedAt: z.number().nullable(),
  donors: z.array(JobDonorSchema),
  resultHash: z.string().nullable(),
  outputBytes: z.number().nullable(),
  error: z.object({ kind: JobErrorKindSchema, message: z.string() }).nullable(),
})
export type JobSummary = z.infer<typeof JobSummarySchema>

export const JobDetailSchema = JobSummarySchema.extend({
  /** The agreed output, base64; null until done. */
  output: z.string().nullable(),
})
export type JobDetail = z.infer<typeof JobDetailSchema>

/** A job this node ran (or runs) for someone else. */
export const RunSummarySchema = z.object({
  id: z.string(),
  submitter: z.string(),
  state: z.enum(['queued', 'running', 'suspended', 'done', 'failed']),
  queuedAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  cpuMs: z.number(),
  error: z.object({ kind: JobErrorKindSchema, message: z.string() }).nullable(),
  /** true: a receipt was countersigned; false: outvoted (no credit); null: not known yet. */
  credited: z.boolean().nullable(),
})
export type RunSummary = z.infer<typeof RunSummarySchema>

/** Caps on what a job may carry (a donor refuses more). */
export const JOB_MODULE_MAX_BYTES = 2 * 1024 * 1024
export const JOB_INPUT_MAX_BYTES = 2 * 1024 * 1024
export const JOB_OUTPUT_MAX_BYTES = 4 * 1024 * 1024

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64')

export const DonateStatusSchema = z.object({
  limits: DonateLimitsSchema,
  usedBytes: z.number(),
  fs: z.object({ total: z.number(), free: z.number() }),
  disk: z.object({
    budget: z.number(),
    byRule: z.object({
      disk: z.number().nullable(),
      percent: z.number().nullable(),
      leaveFree: z.number().nullable(),
    }),
    binding: z.enum(['disk', 'percent', 'leaveFree', 'none']),
  }),
  hosting: z.array(
    z.object({
      folder: z.string(),
      owner: z.string(),
      cores: z.number(),
      bytes: z.number(),
      agreedBytes: z.number(),
      since: z.number(),
      lastNeededAt: z.number(),
      overAgreed: z.boolean(),
    }),
  ),
  /** Donating paused (tray: Pause donating / Snooze): until when; null `until`: until resumed. */
  pause: z.object({ until: z.number().nullable() }).nullable(),
  /** Donated CPU: whether jobs may run now, why not, and what they use. */
  cpu: CpuStatusSchema,
})
export type DonateStatus = z.infer<typeof DonateStatusSchema>

/** Donate CPU: a change of `spare donate pause`; no minutes: until resumed. */
export const DonatePauseSchema = z
  .object({
    minutes: z
      .number()
      .gt(0, 'minutes must be more than 0')
      .max(7 * 24 * 60, 'at most a week (10080 minutes)')
      .optional(),
  })
  .strict()

export const ReceiptSchema = z.object({
  body: z.discriminatedUnion('kind', [
    z.object({
      v: z.number(),
      kind: z.enum(['storage', 'served']),
      host: z.string(),
      owner: z.string(),
      folder: z.string(),
      bytes: z.number(),
      from: z.number(),
      to: z.number(),
      audits: z.number(),
      nonce: z.string(),
    }),
    /** CPU time `host` (the donor) gave `owner` (the submitter) for a quorum-validated result. */
    z.object({
      v: z.number(),
      kind: z.literal('compute'),
      host: z.string(),
      owner: z.string(),
      job: z.string(),
      result: z.string(),
      cpuMs: z.number(),
      from: z.number(),
      to: z.number(),
      nonce: z.string(),
    }),
  ]),
  hostSig: z.string(),
  ownerSig: z.string(),
})

export const LedgerSchema = z.object({
  key: z.string(),
  identity: z.string(),
  given: z.number(),
  received: z.number(),
  balance: z.number(),
  receipts: z.number(),
  recent: z.array(ReceiptSchema),
  /** Peers that sent forged, one-sided or overclaiming receipts or bad messages: count each. */
  strikes: z.record(z.string(), z.number()),
})
export type Ledger = z.infer<typeof LedgerSchema>

export const LedgerReportSchema = z.object({
  identity: z.string().nullable(),
  key: z.string(),
  entries: z.number(),
  valid: z.boolean(),
  errors: z.array(z.object({ index: z.number(), reason: z.string() })),
  given: z.number(),
  received: z.number(),
  balance: z.number(),
  receiptCount: z.number(),
  /** Receipts not counted because they end too far ahead of the checker's clock (not errors). */
  ahead: z.number(),
  receipts: z.array(ReceiptSchema),
})
export type LedgerReport = z.infer<typeof LedgerReportSchema>

/** Every method: its params schema and its result schema. */
export const methods = {
  'node.status': {
    params: z.object({}).strict(),
    result: NodeStatusSchema,
  },
  'peers.list': {
    params: z.object({}).strict(),
    result: z.array(PeerSchema),
  },
  'node.setNetwork': {
    params: z
      .object({
        network: z
          .string()
          .trim()
          .min(1, 'a network is required: public, local or HOST:PORT[,HOST:PORT...]')
          .max(2048, 'the bootstrap list is too long'),
      })
      .strict(),
    result: NodeStatusSchema,
  },
  'sync.pause': {
    params: z.object({}).strict(),
    result: NodeStatusSchema,
  },
  'sync.resume': {
    params: z.object({}).strict(),
    result: NodeStatusSchema,
  },
  'folders.list': {
    params: z.object({}).strict(),
    result: z.array(FolderSummarySchema),
  },
  'folders.get': {
    params: z.object({ id: FolderIdSchema }).strict(),
    result: FolderSummarySchema,
  },
  'folders.share': {
    params: z
      .object({
        path: PathParam,
        name: z.string().min(1).max(255).optional(),
        /** 'sync' (default): two-way. 'publish': only this device writes. */
        mode: z.enum(['sync', 'publish']).optional(),
      })
      .strict(),
    result: z.object({ folder: FolderSummarySchema, invite: z.string() }),
  },
  'folders.invite': {
    params: z.object({ id: FolderIdSchema, readOnly: z.boolean().optional() }).strict(),
    result: z.object({ invite: z.string() }),
  },
  'folders.members': {
    params: z.object({ id: FolderIdSchema }).strict(),
    result: z.array(MemberSchema),
  },
  'folders.removeMember': {
    params: z
      .object({
        id: FolderIdSchema,
        member: z
          .string()
          .trim()
          .regex(/^[0-9a-f]{6,64}$/, 'a member is named by its device id (see `spare members`)'),
      })
      .strict(),
    result: MemberSchema,
  },
  'folders.conflicts': {
    params: z.object({ id: FolderIdSchema }).strict(),
    result: z.array(ConflictSchema),
  },
  'folders.preview': {
    params: z.object({ id: FolderIdSchema, path: FilePathParam }).strict(),
    /** The start of a file on this device (16 KiB at most); text null when it is binary. */
    result: z.object({ size: z.number(), text: z.string().nullable(), truncated: z.boolean() }),
  },
  'folders.resolveConflict': {
    params: z
      .object({
        id: FolderIdSchema,
        /** The conflict copy. */
        path: FilePathParam,
        /** 'original': delete the copy. 'copy': the copy replaces the file it is a copy of. */
        keep: z.enum(['original', 'copy']),
      })
      .strict(),
    result: z.object({ path: z.string() }),
  },
  'folders.versions': {
    params: z.object({ id: FolderIdSchema, path: FilePathParam }).strict(),
    result: z.array(VersionSchema),
  },
  'folders.restore': {
    params: z
      .object({
        id: FolderIdSchema,
        path: FilePathParam,
        version: z
          .string()
          .regex(
            /^[0-9a-f]{12}\.\d+$/,
            'a version id looks like 1a2b3c4d5e6f.42 (see `spare versions`)',
          )
          .optional(),
        to: PathParam.optional(),
      })
      .strict(),
    result: z.object({ version: z.string(), path: z.string() }),
  },
  'folders.configure': {
    params: z
      .object({
        id: FolderIdSchema,
        versionsDays: z
          .number()
          .min(0, 'days must be 0 or more')
          .max(36500, 'days must be at most 36500')
          .optional(),
        hostsWanted: z
          .number()
          .int('hosts must be a whole number')
          .min(0, 'hosts must be 0 or more')
          .max(16, 'hosts must be at most 16')
          .optional(),
      })
      .strict(),
    result: FolderSummarySchema,
  },
  'donate.get': {
    params: z.object({}).strict(),
    result: DonateStatusSchema,
  },
  'donate.set': {
    params: DonateLimitsChangeSchema,
    result: DonateStatusSchema,
  },
  'donate.pause': {
    params: DonatePauseSchema,
    result: DonateStatusSchema,
  },
  'donate.resume': {
    params: z.object({}).strict(),
    result: DonateStatusSchema,
  },
  'compute.submit': {
    params: z
      .object({
        /** The WebAssembly module, base64. */
        module: base64.max(Math.ceil(JOB_MODULE_MAX_BYTES / 3) * 4, 'the module is over 2 MiB'),
        /** The job's input, base64. */
        input: base64.max(Math.ceil(JOB_INPUT_MAX_BYTES / 3) * 4, 'the input is over 2 MiB'),
        replicas: z
          .number()
          .int('replicas must be a whole number')
          .min(1, 'replicas must be 1 or more')
          .max(9, 'replicas must be at most 9')
          .optional(),
        name: z.string().max(200).optional(),
        /** Wall time each donor may spend (ms); donors also apply their own cap. */
        wallMs: z
          .number()
          .int()
          .min(1000)
          .max(24 * 3600 * 1000)
          .optional(),
      })
      .strict(),
    result: JobSummarySchema,
  },
  'compute.jobs': {
    params: z.object({}).strict(),
    result: z.object({ submitted: z.array(JobSummarySchema), run: z.array(RunSummarySchema) }),
  },
  'compute.job': {
    params: z.object({ id: JobIdSchema }).strict(),
    result: JobDetailSchema,
  },
  'ledger.get': {
    params: z.object({}).strict(),
    result: LedgerSchema,
  },
  'ledger.verify': {
    params: z
      .object({
        key: z
          .string()
          .trim()
          .regex(/^[0-9a-f]{64}$/, 'a ledger key is 64 hex characters (see `spare ledger`)'),
      })
      .strict(),
    result: LedgerReportSchema,
  },
  'folders.join': {
    params: z.object({ invite: InviteParam, path: PathParam }).strict(),
    result: z.object({ folder: FolderSummarySchema }),
  },
  'folders.unshare': {
    params: z.object({ id: FolderIdSchema }).strict(),
    result: z.object({ id: FolderIdSchema }),
  },
} as const

export type Methods = typeof methods
export type MethodName = keyof Methods
export type MethodParams<M extends MethodName> = z.input<Methods[M]['params']>
export type MethodResult<M extends MethodName> = z.infer<Methods[M]['result']>

export function isMethodName(name: unknown): name is MethodName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(methods, name)
}

/** Events pushed from the engine to every connected client. */
export const events = {
  /** Something about a folder changed (state, counts, peers). */
  'folder.updated': FolderSummarySchema,
  /** A folder was removed (unshared). */
  'folder.removed': z.object({ id: FolderIdSchema }),
  /** Node-wide status changed (peers, network). */
  'node.updated': NodeStatusSchema,
  /** Donating was paused or resumed, or the CPU donation state changed. */
  'donate.updated': DonateStatusSchema,
  /** A submitted job changed state (a donor answered, a quorum agreed, it failed). */
  'job.updated': JobSummarySchema,
} as const

export type Events = typeof events
export type EventName = keyof Events
export type EventPayload<E extends EventName> = z.infer<Events[E]>

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name)
}

export const ErrorCodeSchema = z.enum([
  'BAD_INPUT', // the caller's input is wrong: exit code 2 in the CLI, HTTP 400
  'NOT_FOUND', // no such folder, method or resource: HTTP 404
  'CONFLICT', // the request clashes with existing state (already shared, path in use): HTTP 409
  'UNAUTHORIZED', // missing or wrong token, foreign Origin or Host: HTTP 401/403
  'UNAVAILABLE', // the node is starting or closing: HTTP 503
  'BUSY', // too many calls running on this connection, or too many WebSockets open: HTTP 429
  'INTERNAL', // a bug or an unexpected failure: HTTP 500
])
export type ErrorCode = z.infer<typeof ErrorCodeSchema>

export const ErrorBodySchema = z.object({
  error: z.object({ code: ErrorCodeSchema, message: z.string() }),
})

/** The error every transport carries from the service to a client. */
export class ApiError extends Error {
  readonly code: ErrorCode
  constructor(code: ErrorCode, message: string) {
    super(message)
    this.name = 'ApiError'
    this.code = code
  }
  toJSON(): z.infer<typeof ErrorBodySchema> {
    return { error: { code: this.code, message: this.message } }
  }
}

/** Turns a zod failure into one readable sentence naming the offending fields. */
export function describeZodError(err: z.ZodError): string {
  return err.issues
    .map((issue) =>
      issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message,
    )
    .join('; ')
}

// ---- Wire messages of the WebSocket transport (the HTTP transport posts {method, params}) ----

export const WsRequestSchema = z.object({
  id: z.number().int().nonnegative(),
  method: z.string(),
  params: z.unknown().optional(),
})
export type WsRequest = z.infer<typeof WsRequestSchema>

export const WsServerMessageSchema = z.union([
  z.object({ id: z.number().int(), result: z.unknown() }),
  z.object({ id: z.number().int(), error: ErrorBodySchema.shape.error }),
  z.object({ event: z.string(), data: z.unknown() }),
])
export type WsServerMessage = z.infer<typeof WsServerMessageSchema>

/** Paths of the daemon's local API. */
export const API_PATHS = {
  call: '/api/call',
  ws: '/api/ws',
  events: '/api/events',
  /** GET ?nonce=HEX → {proof}: HMAC-SHA256(token, nonce); the daemon shows it holds the token. */
  proof: '/api/proof',
} as const

/**
 * How the web UI authenticates to the daemon. A session is an origin-scoped secret (the page keeps
 * it in localStorage; never a cookie, which every other port on 127.0.0.1 would receive too):
 * HTTP sends `Authorization: Session ID`; a WebSocket, which can't set headers in a browser,
 * offers the subprotocols [WS_PROTOCOL, WS_SESSION_PREFIX + ID] and the daemon accepts only
 * WS_PROTOCOL, so the secret is never echoed.
 */
export const WEB_SESSION = {
  /** The `Authorization` scheme of a web UI session. */
  scheme: 'Session',
  /** The subprotocol the daemon selects. */
  wsProtocol: 'spare',
  /** Prefix of the subprotocol that carries the session id. */
  wsSessionPrefix: 'spare-session.',
  /** The URL fragment key that hands a new session from the login redirect to the page. */
  fragmentKey: 'session',
  /** The localStorage key the page keeps its session under. */
  storageKey: 'spare.session',
} as const
