// The `local` network mode promises that nothing binds or sends outside 127.0.0.1. Every UDP
// socket Holepunch opens is a udx-native socket, so its bind and send calls are watched here while
// two real nodes find each other and sync a folder in the local mode (on a port of their own, not
// the shared 49737).
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import crypto from 'hypercore-crypto'
import { openNetwork } from '../../main/engine/net/network.ts'
import { useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

interface UdxSocketMethods {
  bind(port: number, host: string, ...rest: unknown[]): unknown
  send(buf: Buffer, port: number, host: string, ...rest: unknown[]): unknown
  trySend(buf: Buffer, port: number, host: string, ...rest: unknown[]): unknown
}

const UdxSocket = createRequire(import.meta.url)('udx-native/lib/socket.js') as {
  prototype: UdxSocketMethods
}

const bound: string[] = []
const sentTo: string[] = []
// Class methods are not enumerable: copied one by one.
const originals: UdxSocketMethods = {
  bind: UdxSocket.prototype.bind,
  send: UdxSocket.prototype.send,
  trySend: UdxSocket.prototype.trySend,
}

beforeEach(() => {
  bound.length = 0
  sentTo.length = 0
  const proto = UdxSocket.prototype
  proto.bind = function (this: UdxSocketMethods, port, host, ...rest) {
    bound.push(`${host}:${port}`)
    return originals.bind.call(this, port, host, ...rest)
  }
  proto.send = function (this: UdxSocketMethods, buf, port, host, ...rest) {
    sentTo.push(`${host}:${port}`)
    return originals.send.call(this, buf, port, host, ...rest)
  }
  proto.trySend = function (this: UdxSocketMethods, buf, port, host, ...rest) {
    sentTo.push(`${host}:${port}`)
    return originals.trySend.call(this, buf, port, host, ...rest)
  }
})
afterEach(() => {
  Object.assign(UdxSocket.prototype, originals)
})

async function localDataDir(port: number): Promise<string> {
  const dataDir = path.join(await fx.tmpDir('spare-unit-data-'), 'data')
  await fs.mkdir(dataDir, { recursive: true })
  const settings = { version: 1, network: 'local', localBootstrapPort: port }
  await fs.writeFile(path.join(dataDir, 'settings.json'), JSON.stringify(settings))
  return dataDir
}

describe('the local network mode', () => {
  it('binds and sends only on 127.0.0.1, the bootstrap node it hosts included', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000)
    const owner = await fx.readyNode({ dataDir: await localDataDir(port), network: 'local' })
    const reader = await fx.readyNode({ dataDir: await localDataDir(port), network: 'local' })
    const src = await fx.tmpDir()
    await fs.writeFile(path.join(src, 'x.txt'), 'x')
    const { invite } = await owner.share(src)
    const dst = path.join(await fx.tmpDir(), 'mirror')
    await reader.join(invite, dst)
    await waitFor(
      async () => (await fs.readFile(path.join(dst, 'x.txt'), 'utf8').catch(() => '')) === 'x',
      20_000,
      'the folder to sync',
    )
    expect(bound).toContain(`127.0.0.1:${port}`)
    expect(bound.filter((a) => !a.startsWith('127.0.0.1:'))).toEqual([])
    expect(sentTo.length).toBeGreaterThan(0)
    expect(sentTo.filter((a) => !a.startsWith('127.'))).toEqual([])
  })
})

describe('the public network mode', () => {
  // HyperDHT binds 49737 (then the next four) by default, on every interface: the local network's
  // bootstrap port. A local node started next on the machine found it busy, took that for
  // another local node hosting the bootstrap, and bootstrapped off the public node instead.
  it('leaves the local bootstrap port (49737) alone', async () => {
    const net = await openNetwork({ mode: 'public' }, crypto.keyPair())
    fx.defer(() => net.close())
    // Its sockets are bound first thing; it never gets further offline (no public bootstrap).
    await new Promise((resolve) => net.dht.once('listening', resolve))
    expect(bound.length).toBeGreaterThan(0)
    expect(bound.filter((a) => a.endsWith(':49737'))).toEqual([])
  })
})
