// What the hosting and compute protocols share: a Protomux channel of one message type, each
// message parsed before use (a bad one is reported, never thrown), and a hello that binds a
// node's identity key to one connection, so a hello can't be replayed on another.
import crypto from 'hypercore-crypto'
import type Protomux from 'protomux'
import type { ProtomuxMessage } from 'protomux'

export interface MessageChannelOptions<M> {
  protocol: string
  /** Parses a message from the peer; throws on anything malformed. */
  decode: (buf: Buffer) => M
  onopen: () => void
  onclose: () => void
  onmessage: (m: M) => Promise<void>
  /** The peer sent something `decode` refused. */
  onbad: (reason: string) => void
  /** Handling a message failed (a bug or an I/O error): logged by the caller. */
  onfail: (err: Error, m: M) => void
}

/** Opens the channel; its message sender, or null when the peer has one of that protocol open. */
export function openMessageChannel<M>(
  mux: Protomux,
  opts: MessageChannelOptions<M>,
): ProtomuxMessage | null {
  const channel = mux.createChannel({
    protocol: opts.protocol,
    onopen: opts.onopen,
    onclose: opts.onclose,
  })
  if (!channel) return null
  const msg = channel.addMessage({
    onmessage: (buf: Buffer) => {
      let m: M
      try {
        m = opts.decode(buf)
      } catch (err) {
        opts.onbad((err as Error).message)
        return
      }
      opts.onmessage(m).catch((err: Error) => opts.onfail(err, m))
    },
  })
  channel.open()
  return msg
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
