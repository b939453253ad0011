// A hostile peer for tests: an owner whose drive holds entries that try to escape the folder.
// It writes raw Hyperbee entries (bypassing Hyperdrive's path normalization), shares the drive on
// the given bootstrap, prints {"invite": ...} on stdout and serves until SIGTERM.
//
// usage: node --import tsx test/helpers/hostile-owner.ts BOOTSTRAP STORE_DIR OUTSIDE_DIR
import Corestore from 'corestore'
import Hyperdrive from 'hyperdrive'
import Hyperswarm from 'hyperswarm'
import HyperDHT from 'hyperdht'
import crypto from 'hypercore-crypto'
// @ts-expect-error sub-encoder ships no types; it is Hyperdrive's own key encoding.
import SubEncoder from 'sub-encoder'
import { encodeInvite } from '../../main/engine/folders/invite.ts'
import { bootstrapOf } from './child-peer.ts'

const [bootstrapArg, storeDir, outsideDir] = process.argv.slice(2)
if (!bootstrapArg || !storeDir || !outsideDir) {
  process.stderr.write('usage: hostile-owner BOOTSTRAP STORE_DIR OUTSIDE_DIR\n')
  process.exit(2)
}
const bootstrap = bootstrapOf(bootstrapArg)

const store = new Corestore(storeDir)
const encryptionKey = crypto.randomBytes(32)
const drive = new Hyperdrive(store, { encryptionKey })
await drive.ready()
const keyEncoding = new SubEncoder('files', 'utf-8')
const now = Date.now()
const file = (size: number): object => ({ kind: 'file', mtime: now, size })

// A good file, so the reader has something legitimate to sync.
await drive.put('/ok.txt', Buffer.from('fine\n'), { metadata: file(5) })
const blobEntry = await drive.entry('/ok.txt')
const blob = blobEntry!.value.blob
const raw = (key: string, value: object): Promise<void> =>
  (drive.db as unknown as { put(k: string, v: object, o: object): Promise<void> }).put(key, value, {
    keyEncoding,
  })
const hostileFile = { executable: false, linkname: null, blob, metadata: file(5) }

await raw('/../escape-1.txt', hostileFile)
await raw('/sub/../../escape-2.txt', hostileFile)
await raw('/..\\..\\escape-3.txt', hostileFile)
await raw('/nul\0byte.txt', hostileFile)
await raw('//escape-4.txt', hostileFile)
await raw('/C:/escape-5.txt', hostileFile)
await raw('escape-6.txt', hostileFile)
await raw('/ctrl\x1bchar.txt', hostileFile)
await raw('/.spare-tmp-sneaky', hostileFile)
await raw('/bad-metadata.txt', {
  executable: false,
  linkname: null,
  blob,
  metadata: { kind: 'nope' },
})
// Packed files (sharing a block with others) that claim to start past their block's end, or
// before its start.
await raw('/packed-outside.txt', { ...hostileFile, metadata: { ...file(5), packed: 100 } })
await raw('/packed-negative.txt', { ...hostileFile, metadata: { ...file(5), packed: -1 } })
// A symlink to a folder outside, then a file "inside" it: writing it would land outside.
await raw('/evil-link', {
  executable: false,
  linkname: outsideDir,
  blob: null,
  metadata: { kind: 'symlink', mtime: now, size: 0 },
})
await raw('/evil-link/pwned.txt', hostileFile)

const dht = new HyperDHT({ bootstrap, host: '127.0.0.1', firewalled: false })
const swarm = new Hyperswarm({ dht })
swarm.on('connection', (conn) => store.replicate(conn))
await swarm.join(drive.discoveryKey, { server: true, client: true }).flushed()
const invite = encodeInvite({
  key: drive.key,
  encryptionKey,
  name: 'hostile',
  writer: false,
  sync: false,
  seed: null,
})
process.stdout.write(JSON.stringify({ invite }) + '\n')

process.once('SIGTERM', () => {
  void (async () => {
    await swarm.destroy()
    await drive.close()
    await store.close()
    process.exit(0)
  })()
})
