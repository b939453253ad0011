import { describe, expect, it } from 'vitest'
import { randomBytes } from 'node:crypto'
import crypto from 'hypercore-crypto'
import z32 from 'z32'
import {
  decodeInvite,
  encodeInvite,
  INVITE_PREFIX,
  InviteError,
  type Invite,
} from '../../main/engine/folders/invite.ts'

const Z32_ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769'

function sample(name = 'Photos', writer = false): Invite {
  return {
    key: randomBytes(32),
    encryptionKey: randomBytes(32),
    name,
    writer,
    sync: writer,
    seed: writer ? randomBytes(32) : null,
  }
}

/** Builds an invite from a raw body with a correct checksum, to reach the checks after it. */
function rawInvite(body: Buffer): string {
  const sum = crypto.hash(body).subarray(0, 4)
  return INVITE_PREFIX + z32.encode(Buffer.concat([body, sum]))
}

function body(opts: { version?: number; flags?: number; name?: Buffer; nameLen?: number } = {}) {
  const name = opts.name ?? Buffer.from('Photos')
  return Buffer.concat([
    Buffer.from([opts.version ?? 1, opts.flags ?? 0]),
    randomBytes(32),
    randomBytes(32),
    Buffer.from([opts.nameLen ?? name.length]),
    name,
  ])
}

function refusal(text: string): InviteError {
  try {
    decodeInvite(text)
  } catch (err) {
    expect(err).toBeInstanceOf(InviteError)
    return err as InviteError
  }
  throw new Error(`invite was accepted: ${text}`)
}

describe('invite round trip', () => {
  it.each([
    ['plain', 'Photos'],
    ['empty', ''],
    ['spaces and punctuation', 'My Docs (2024) – final!'],
    ['unicode', 'Ünïcødé 写真 📷'],
    ['exactly 64 bytes', 'x'.repeat(64)],
  ])('keeps keys and a %s name', (_label, name) => {
    const inv = sample(name)
    const text = encodeInvite(inv)
    expect(text.startsWith(INVITE_PREFIX)).toBe(true)
    expect(text).toMatch(/^spare1[ybndrfg8ejkmcpqxot1uwisza345h769]+$/)
    const back = decodeInvite(text)
    expect(back.key.equals(inv.key)).toBe(true)
    expect(back.encryptionKey.equals(inv.encryptionKey)).toBe(true)
    expect(back.name).toBe(name)
    expect(back.writer).toBe(false)
  })

  it('carries the writer flag and seed, and the two-way flag', () => {
    const inv = sample('w', true)
    const back = decodeInvite(encodeInvite(inv))
    expect(back.writer).toBe(true)
    expect(back.sync).toBe(true)
    expect(back.seed?.equals(inv.seed as Buffer)).toBe(true)
    expect(back.name).toBe('w')
    const reader = decodeInvite(encodeInvite({ ...inv, writer: false, seed: null }))
    expect(reader.writer).toBe(false)
    expect(reader.sync).toBe(true)
    expect(reader.seed).toBeNull()
  })

  it('refuses to encode a writer invite without a seed or for a published folder', () => {
    expect(() => encodeInvite({ ...sample('w', true), seed: null })).toThrow(InviteError)
    expect(() => encodeInvite({ ...sample('w', true), sync: false })).toThrow(InviteError)
  })

  it('refuses a writer flag without the two-way flag, and a writer invite cut before its seed', () => {
    expect(refusal(rawInvite(body({ flags: 1 }))).message).toMatch(/unknown flags/)
    const short = Buffer.concat([Buffer.from([1, 3]), randomBytes(64), Buffer.from([0])])
    expect(refusal(rawInvite(short)).message).toMatch(/truncated/)
  })

  it('different keys give different invites', () => {
    expect(encodeInvite(sample())).not.toBe(encodeInvite(sample()))
  })

  it('clips an ASCII name over 64 bytes to 64 bytes', () => {
    const name = 'abcdefghij'.repeat(10)
    const back = decodeInvite(encodeInvite(sample(name)))
    expect(back.name).toBe(name.slice(0, 64))
  })

  it('clips a long name of 2- and 3-byte characters on a character boundary', () => {
    for (const name of ['é'.repeat(40), '写'.repeat(30), 'a' + 'é'.repeat(40)]) {
      const back = decodeInvite(encodeInvite(sample(name)))
      expect(Buffer.byteLength(back.name, 'utf8')).toBeLessThanOrEqual(64)
      expect(Buffer.byteLength(back.name, 'utf8')).toBeGreaterThan(60)
      expect(name.startsWith(back.name)).toBe(true)
      expect(back.name).not.toContain('\uFFFD')
    }
  })

  it('clips a name of 4-byte characters when no half character fits', () => {
    // 'xx' + 16 emoji: the clipped candidates with a lone surrogate are 2 + 60 + 3 = 65 bytes,
    // too long, so the clipping loop drops whole characters here.
    const name = 'xx' + '😀'.repeat(16)
    const back = decodeInvite(encodeInvite(sample(name)))
    expect(back.name).toBe('xx' + '😀'.repeat(15))
  })

  // BUG (main/engine/folders/invite.ts, clipName): the loop drops one UTF-16 code unit at a time,
  // so it can stop with a lone high surrogate at the end; Buffer.from encodes that as U+FFFD
  // (3 bytes), and the name in the invite ends with a replacement character instead of being cut
  // on a character boundary. Repro: encodeInvite({..., name: 'a' + '😀'.repeat(16)}) decodes to
  // 'a' + 15 × '😀' + '\uFFFD'.
  it('clips a name of 4-byte characters on a character boundary (no U+FFFD)', () => {
    const name = 'a' + '😀'.repeat(16) // 65 bytes
    const back = decodeInvite(encodeInvite(sample(name)))
    expect(back.name).toBe('a' + '😀'.repeat(15))
  })

  it('accepts whitespace and newlines around an invite', () => {
    const inv = sample()
    const text = encodeInvite(inv)
    for (const padded of [` ${text} `, `\n${text}\n`, `\t ${text}\r\n`]) {
      expect(decodeInvite(padded).key.equals(inv.key)).toBe(true)
    }
  })

  it('refuses keys that are not 32 bytes when encoding', () => {
    expect(() => encodeInvite({ ...sample(), key: randomBytes(31) })).toThrow(InviteError)
    expect(() => encodeInvite({ ...sample(), encryptionKey: randomBytes(33) })).toThrow(
      'keys must be 32 bytes',
    )
  })
})

describe('invite refusals', () => {
  const good = encodeInvite(sample('Holiday photos'))

  it.each([
    ['empty', ''],
    ['another prefix', 'spare2' + good.slice(6)],
    ['no prefix', good.slice(6)],
    ['an uppercase prefix', 'SPARE1' + good.slice(6)],
    ['a URL', 'https://example.com/' + good],
  ])('refuses %s with a message naming the prefix', (_label, text) => {
    expect(refusal(text).message).toBe('not a Spare invite: it should start with "spare1"')
  })

  it.each([
    ['l (not in z-base-32)', 'l'],
    ['0', '0'],
    ['v', 'v'],
    ['a space', ' '],
    ['a dash', '-'],
    ['an uppercase letter', 'Y'],
    ['a non-ASCII letter', 'é'],
  ])('refuses an invite containing %s', (_label, ch) => {
    const mid = Math.floor(good.length / 2)
    const text = good.slice(0, mid) + ch + good.slice(mid + 1)
    expect(refusal(text).message).toMatch(/characters that cannot appear in an invite/)
  })

  it('refuses an invite with nothing after the prefix', () => {
    expect(refusal('spare1').message).toMatch(/copied whole/)
  })

  it('refuses an invite cut at many positions', () => {
    const cuts = [7, 10, 20, 50, 100, good.length - 8, good.length - 2, good.length - 1]
    for (const n of cuts) {
      const err = refusal(good.slice(0, n))
      expect(err.message, `cut at ${n}`).toMatch(/copied whole/)
    }
    // Short enough that the payload cannot even hold the keys: named as truncated.
    expect(refusal(good.slice(0, 50)).message).toBe(
      'the invite is truncated (was it copied whole?)',
    )
  })

  it('refuses an invite with a valid checksum but too short to hold keys', () => {
    expect(refusal(rawInvite(randomBytes(20))).message).toMatch(/truncated/)
  })

  it('refuses invites with one character changed anywhere (checksum)', () => {
    const original = decodeInvite(good)
    let refused = 0
    for (let i = INVITE_PREFIX.length; i < good.length; i++) {
      const other = Z32_ALPHABET[(Z32_ALPHABET.indexOf(good[i]!) + 7) % 32]!
      const tampered = good.slice(0, i) + other + good.slice(i + 1)
      let decoded: Invite
      try {
        decoded = decodeInvite(tampered)
      } catch (err) {
        expect(err).toBeInstanceOf(InviteError)
        expect((err as Error).message).toMatch(/checksum does not match/)
        refused++
        continue
      }
      // Only the unused padding bits of the last character can change without a refusal,
      // and then the decoded invite is the same one.
      expect(i, 'only the last character may carry unused bits').toBe(good.length - 1)
      expect(decoded.key.equals(original.key)).toBe(true)
      expect(decoded.encryptionKey.equals(original.encryptionKey)).toBe(true)
      expect(decoded.name).toBe(original.name)
    }
    expect(refused).toBeGreaterThanOrEqual(good.length - INVITE_PREFIX.length - 1)
  })

  it('refuses an invite whose checksum was replaced', () => {
    const raw = z32.decode(good.slice(INVITE_PREFIX.length))
    raw[raw.length - 1] = raw[raw.length - 1]! ^ 0xff
    expect(refusal(INVITE_PREFIX + z32.encode(raw)).message).toBe(
      'the invite is damaged: its checksum does not match (was it copied whole and unchanged?)',
    )
  })

  it('refuses a changed key byte even though the text still looks valid', () => {
    const raw = z32.decode(good.slice(INVITE_PREFIX.length))
    raw[10] = raw[10]! ^ 0x01
    expect(refusal(INVITE_PREFIX + z32.encode(raw)).message).toMatch(/checksum does not match/)
  })

  it.each([0, 2, 255])('refuses version %i with an upgrade hint', (version) => {
    const err = refusal(rawInvite(body({ version })))
    expect(err.message).toBe(
      `the invite has version ${version}; this Spare reads version 1. Upgrade Spare.`,
    )
  })

  it.each([4, 0x80, 0xff])('refuses unknown flags 0x%s', (flags) => {
    expect(refusal(rawInvite(body({ flags }))).message).toBe('the invite has unknown flags')
  })

  it('accepts the two-way flag and a writer invite built by hand', () => {
    expect(decodeInvite(rawInvite(body({ flags: 2 }))).sync).toBe(true)
    const seed = randomBytes(32)
    const w = Buffer.concat([
      Buffer.from([1, 3]),
      randomBytes(64),
      seed,
      Buffer.from([1]),
      Buffer.from('W'),
    ])
    const back = decodeInvite(rawInvite(w))
    expect(back.writer).toBe(true)
    expect(back.seed?.equals(seed)).toBe(true)
    expect(back.name).toBe('W')
  })

  it('refuses a name length that does not match the payload', () => {
    expect(refusal(rawInvite(body({ nameLen: 10 }))).message).toBe('the invite has a bad length')
    expect(refusal(rawInvite(body({ nameLen: 2 }))).message).toBe('the invite has a bad length')
    const trailing = Buffer.concat([body(), Buffer.from([0])])
    expect(refusal(rawInvite(trailing)).message).toBe('the invite has a bad length')
  })
})
