// Invites: one copy-pasteable string carrying a folder's key and its encryption key.
//
//   spare1<z-base-32 payload>
//   payload = version(1) | flags(1) | key(32) | encryptionKey(32) | [seed(32)] | nameLen(1) | name
//             | checksum(4)
//
// The checksum (first 4 bytes of BLAKE2b-256 of everything before it) catches truncation, typos
// and tampering before anything touches the network. Flag bit 1 marks a two-way (sync) folder,
// whose key is its first writer's log. Flag bit 0 marks a writer invite: it carries the seed of
// an invite key pair the inviting writer recorded in its log; the joiner signs its own log key
// with it, and any writer that sees the signature adds the joiner (once per invite).
import crypto from 'hypercore-crypto'
import z32 from 'z32'

export const INVITE_PREFIX = 'spare1'
const VERSION = 1
const MAX_NAME_BYTES = 64

export interface Invite {
  key: Buffer
  encryptionKey: Buffer
  name: string
  writer: boolean
  /** A two-way folder (sync) rather than a one-writer published one. */
  sync: boolean
  /** Writer invites only: the seed of the invite key pair. */
  seed: Buffer | null
}

export class InviteError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InviteError'
  }
}

function checksum(data: Buffer): Buffer {
  return crypto.hash(data).subarray(0, 4)
}

function clipName(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8')
  if (bytes.length <= MAX_NAME_BYTES) return bytes
  // Cut on a code point boundary, never inside a surrogate pair.
  const chars = Array.from(name)
  while (Buffer.byteLength(chars.join(''), 'utf8') > MAX_NAME_BYTES) chars.pop()
  return Buffer.from(chars.join(''), 'utf8')
}

export function encodeInvite(invite: Invite): string {
  if (invite.key.length !== 32 || invite.encryptionKey.length !== 32) {
    throw new InviteError('keys must be 32 bytes')
  }
  if (invite.writer && (!invite.sync || !invite.seed || invite.seed.length !== 32)) {
    throw new InviteError('a writer invite needs a two-way folder and a 32-byte seed')
  }
  const name = clipName(invite.name)
  const body = Buffer.concat([
    Buffer.from([VERSION, (invite.writer ? 1 : 0) | (invite.sync ? 2 : 0)]),
    invite.key,
    invite.encryptionKey,
    invite.writer && invite.seed ? invite.seed : Buffer.alloc(0),
    Buffer.from([name.length]),
    name,
  ])
  return INVITE_PREFIX + z32.encode(Buffer.concat([body, checksum(body)]))
}

export function decodeInvite(text: string): Invite {
  const s = text.trim()
  if (!s.startsWith(INVITE_PREFIX)) {
    throw new InviteError(`not a Spare invite: it should start with "${INVITE_PREFIX}"`)
  }
  const encoded = s.slice(INVITE_PREFIX.length)
  if (encoded.length === 0) throw new InviteError('the invite is truncated (was it copied whole?)')
  if (!/^[ybndrfg8ejkmcpqxot1uwisza345h769]+$/.test(encoded)) {
    throw new InviteError(
      'the invite contains characters that cannot appear in an invite (was it copied whole?)',
    )
  }
  let raw: Buffer
  try {
    raw = z32.decode(encoded)
  } catch {
    throw new InviteError('the invite cannot be decoded (was it copied whole?)')
  }
  const minLength = 2 + 32 + 32 + 1 + 4
  if (raw.length < minLength)
    throw new InviteError('the invite is truncated (was it copied whole?)')
  const body = raw.subarray(0, raw.length - 4)
  const sum = raw.subarray(raw.length - 4)
  if (!checksum(body).equals(sum)) {
    throw new InviteError(
      'the invite is damaged: its checksum does not match (was it copied whole and unchanged?)',
    )
  }
  const version = body[0]
  if (version !== VERSION) {
    throw new InviteError(
      `the invite has version ${version}; this Spare reads version ${VERSION}. Upgrade Spare.`,
    )
  }
  const flags = body[1] ?? 0
  if (flags & ~3) throw new InviteError('the invite has unknown flags')
  const writer = (flags & 1) === 1
  const sync = (flags & 2) === 2
  if (writer && !sync) throw new InviteError('the invite has unknown flags')
  const key = Buffer.from(body.subarray(2, 34))
  const encryptionKey = Buffer.from(body.subarray(34, 66))
  let at = 66
  let seed: Buffer | null = null
  if (writer) {
    if (body.length < at + 33)
      throw new InviteError('the invite is truncated (was it copied whole?)')
    seed = Buffer.from(body.subarray(at, at + 32))
    at += 32
  }
  const nameLen = body[at] ?? 0
  if (body.length !== at + 1 + nameLen) throw new InviteError('the invite has a bad length')
  const name = body.subarray(at + 1, at + 1 + nameLen).toString('utf8')
  return { key, encryptionKey, name, writer, sync, seed }
}
