// What the hosting and compute protocols share: a Protomux channel of one message type, each
// message parsed before use (a bad one is reported, never thrown), and a hello that binds a
// node's identity key to one connection, so a hello can't be replayed on another.
//
// Forward compatibility: each end sends its version of the protocol in the channel's open
// handshake. A message `decode` refuses from a peer on a NEWER version (a message type or form
// added after this one) is ignored, not reported as bad: without that, every new message type
// earned the newer node a strike from each older one. From a peer on the same or an older
// version it is still bad. A peer that claims a newer version gains nothing by it: what it sends
// that this end cannot read is dropped.
import c from 'compact-encoding'
import crypto from 'hypercore-crypto'
import type Protomux from 'protomux'
import type { ProtomuxEncoding, ProtomuxMessage } from 'protomux'

/**
 * Undecodable messages one channel takes before it closes. Each is reported (a strike and a log
 * line at the caller): a peer sending nothing but junk could otherwise write log lines, and
 * the strikes file, as fast as it sends frames of a few bytes. A channel closed for it stays
 * closed for that connection.
 */
export const MAX_BAD_MESSAGES = 16

/** The version a peer that sends none (a node from before versions were sent) speaks. */
export const FIRST_PROTOCOL_VERSION = 1

/**
 * The open handshake: the version as a compact-encoding uint, further fields may follow (ignored
 * here). No bytes, or bytes that are not a uint, read as the first version: older peers open the
 * channel with no handshake, and ignore the bytes of ours.
 */
const versionHandshake: ProtomuxEncoding<number> = {
  preencode: (state, v) => c.uint.preencode(state, v),
  encode: (state, v) => c.uint.encode(state, v),
  decode(state) {
    if (state.start >= state.end) return FIRST_PROTOCOL_VERSION
    try {
      return Math.max(FIRST_PROTOCOL_VERSION, c.uint.decode(state))
    } catch {
      return FIRST_PROTOCOL_VERSION
    }
  },
}

export interface MessageChannelOptions<M> {
  protocol: string
  /** This end's version of the protocol (FIRST_PROTOCOL_VERSION unless told). */
  version?: number
  /** Parses a message from the peer; throws on anything malformed. */
  decode: (buf: Buffer) => M
  /** The channel is open; `peerVersion`: the version the peer speaks (what it may be sent). */
  onopen: (peerVersion: number) => void
  onclose: () => void
  onmessage: (m: M) => Promise<void>
  /** The peer sent something `decode` refused (a peer on the same or an older version). */
  onbad: (reason: string) => void
  /** A peer on a newer version sent something `decode` refused: ignored; told for logging. */
  onnewer?: (reason: string, peerVersion: number) => void
  /** Handling a message failed (a bug or an I/O error): logged by the caller. */
  onfail: (err: Error, m: M) => void
}

/**
 * Decodable messages that break a protocol's rules (a 'started' before the hello, a result that
 * does not match its hash) one channel takes before the caller closes it: each is a strike and
 * a log line, as undecodable ones are (MAX_BAD_MESSAGES).
 */
export const MAX_RULE_BREAKS = 16

/** A channel's sender; `close` closes the channel (for good, on this connection). */
export interface MessageSender extends ProtomuxMessage {
  close(): void
}

/** Opens the channel; its message sender, or null when the peer has one of that protocol open. */
export function openMessageChannel<M>(
  mux: Protomux,
  opts: MessageChannelOptions<M>,
): MessageSender | null {
  const version = opts.version ?? FIRST_PROTOCOL_VERSION
  // Known before any message: Protomux decodes the handshake and calls onopen before it hands
  // over the peer's first message.
  let peerVersion = FIRST_PROTOCOL_VERSION
  let bad = 0
  const channel = mux.createChannel({
    protocol: opts.protocol,
    handshake: versionHandshake as ProtomuxEncoding<unknown>,
    onopen: (handshake) => {
      peerVersion = typeof handshake === 'number' ? handshake : FIRST_PROTOCOL_VERSION
      opts.onopen(peerVersion)
    },
    onclose: opts.onclose,
  })
  if (!channel) return null
  const msg = channel.addMessage({
    onmessage: (buf: Buffer) => {
      let m: M
      try {
        m = opts.decode(buf)
      } catch (err) {
        if (peerVersion > version) opts.onnewer?.((err as Error).message, peerVersion)
        else if (bad < MAX_BAD_MESSAGES) {
          bad++
          opts.onbad((err as Error).message)
          if (bad === MAX_BAD_MESSAGES) channel.close()
        }
        return
      }
      opts.onmessage(m).catch((err: Error) => opts.onfail(err, m))
    },
  })
  channel.open(version)
  return { send: (buf) => msg.send(buf), close: () => channel.close() }
}

/** The ends of a connection, as Hyperswarm's connections have them. */
export interface ConnectionKeys {
  publicKey: Buffer
  remotePublicKey: Buffer
}

function helloBytes(tag: string, from: Buffer, to: Buffer): Buffer {
  return Buffer.concat([Buffer.from(tag), from, to])
}

/** This node's signature (hex) binding its identity to `conn`, from this end to the other. */
export function signHello(tag: string, conn: ConnectionKeys, secretKey: Buffer): string {
  return crypto
    .sign(helloBytes(tag, conn.publicKey, conn.remotePublicKey), secretKey)
    .toString('hex')
}

/** Whether the peer's hello signature binds `identity` to this connection, from its end. */
export function verifyHello(
  tag: string,
  conn: ConnectionKeys,
  identity: string,
  sig: string,
): boolean {
  return crypto.verify(
    helloBytes(tag, conn.remotePublicKey, conn.publicKey),
    Buffer.from(sig, 'hex'),
    Buffer.from(identity, 'hex'),
  )
}
