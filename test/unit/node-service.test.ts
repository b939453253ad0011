// SpareService and SpareNode with real parts: a real node on a HyperDHT testnet on 127.0.0.1,
// real data directories, real folders on disk.
import { describe, expect, it } from 'vitest'
import { promises as fs, existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import crypto from 'hypercore-crypto'
import { ApiError, NodeStatusSchema, type ErrorCode } from '../../shared/contract.ts'
import { SpareService } from '../../main/engine/api/service.ts'
import { SpareNode, SettingsError, NetworkConfigError } from '../../main/engine/node.ts'
import { decodeInvite, encodeInvite } from '../../main/engine/folders/invite.ts'
import type { Swarm } from '../../main/engine/net/swarm.ts'
import { deadPid, livePid, modeOf, useFixtures, waitFor } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

async function callError(
  service: SpareService,
  method: string,
  params: unknown,
): Promise<ApiError> {
  const err = await service.call(method, params).then(
    (res) => {
      throw new Error(`${method} succeeded: ${JSON.stringify(res)}`)
    },
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(ApiError)
  return err as ApiError
}

async function expectCode(
  service: SpareService,
  method: string,
  params: unknown,
  code: ErrorCode,
  message?: string | RegExp,
): Promise<ApiError> {
  const err = await callError(service, method, params)
  expect(err.code, err.message).toBe(code)
  if (typeof message === 'string') expect(err.message).toContain(message)
  else if (message) expect(err.message).toMatch(message)
  return err
}

/** A ready node with its service and a scratch directory for folders. */
async function setup(): Promise<{ node: SpareNode; service: SpareService; dir: string }> {
  const node = await fx.readyNode()
  const dir = await fx.tmpDir('spare-unit-folders-')
  return { node, service: new SpareService(node), dir }
}

async function mkdirs(...dirs: string[]): Promise<void> {
  for (const d of dirs) await fs.mkdir(d, { recursive: true })
}

function randomInvite(writer = false): string {
  return encodeInvite({
    key: randomBytes(32),
    encryptionKey: randomBytes(32),
    name: 'Remote',
    writer,
    sync: writer,
    seed: writer ? randomBytes(32) : null,
  })
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length
}

interface ShareResult {
  folder: { id: string; path: string; role: string; name: string }
  invite: string
}

describe('SpareService: input validation', () => {
  it.each(['nope', 'folders.delete', '__proto__', 'toString', 'constructor', ''])(
    'refuses the unknown method %j as NOT_FOUND',
    async (method) => {
      const { service } = await setup()
      await expectCode(service, method, {}, 'NOT_FOUND', `unknown method: ${method}`)
    },
  )

  it('answers node.status with a status that matches the contract', async () => {
    const { node, service } = await setup()
    const status = NodeStatusSchema.parse(await service.call('node.status', {}))
    expect(status.nodeId).toMatch(/^[0-9a-f]{64}$/)
    expect(status.dataDir).toBe(node.dataDir)
    expect(status.network.mode).toBe('custom')
    expect(status.network.bootstrap.length).toBeGreaterThanOrEqual(1)
    for (const b of status.network.bootstrap) expect(b).toMatch(/^127\.0\.0\.1:\d+$/)
    expect(status.folders).toBe(0)
    // params may be omitted
    expect(NodeStatusSchema.parse(await service.call('node.status', undefined)).nodeId).toBe(
      status.nodeId,
    )
    expect(await service.call('folders.list', null)).toEqual([])
    expect(await service.call('peers.list', {})).toEqual([])
  })

  it('refuses bad params with BAD_INPUT naming the field', async () => {
    const { service } = await setup()
    const bad: Array<[string, unknown, string | RegExp]> = [
      ['folders.share', {}, /^folders\.share: path: /],
      ['folders.share', { path: 42 }, /path: .*string/],
      ['folders.share', { path: '' }, 'path: a folder path is required'],
      ['folders.share', { path: '/a\0b' }, 'path: path contains a NUL byte'],
      ['folders.share', { path: '/' + 'x'.repeat(5000) }, 'path: path is too long'],
      ['folders.share', { path: '/tmp', name: '' }, 'name: '],
      ['folders.share', { path: '/tmp', name: 7 }, 'name: '],
      ['folders.share', { path: '/tmp', extra: 1 }, 'extra'],
      ['folders.get', {}, 'id: '],
      ['folders.get', { id: 'xyz' }, 'id: a folder id is 16 hex characters'],
      ['folders.get', { id: '0123456789ABCDEF' }, 'id: a folder id is 16 hex characters'],
      ['folders.get', { id: '0123456789abcdef0' }, 'id: a folder id is 16 hex characters'],
      ['folders.invite', { id: 12 }, 'id: '],
      ['folders.unshare', { id: '../../etc' }, 'id: a folder id is 16 hex characters'],
      ['folders.join', { path: '/tmp/x' }, 'invite: '],
      ['folders.join', { invite: '   ', path: '/tmp/x' }, 'invite: an invite is required'],
      ['folders.join', { invite: 'x'.repeat(3000), path: '/tmp/x' }, 'invite: invite is too long'],
      ['folders.join', { invite: randomInvite() }, 'path: '],
      ['node.status', { verbose: true }, 'verbose'],
      ['node.status', 'status please', /^node\.status: /],
      ['folders.list', [1, 2], /^folders\.list: /],
    ]
    for (const [method, params, message] of bad) {
      const err = await expectCode(service, method, params, 'BAD_INPUT', message)
      expect(err.message.startsWith(`${method}: `), err.message).toBe(true)
    }
    // Nothing was shared or joined by any of those calls.
    expect(await service.call('folders.list', {})).toEqual([])
  })
})

describe('SpareService: folders.share', () => {
  it('shares a folder and lists it, with an invite that decodes to it', async () => {
    const { node, service, dir } = await setup()
    const folderPath = path.join(dir, 'Photos')
    await mkdirs(folderPath)
    await fs.writeFile(path.join(folderPath, 'a.txt'), 'hello')
    const events: Array<[string, unknown]> = []
    service.subscribe((e, d) => events.push([e, d]))

    const res = (await service.call('folders.share', { path: folderPath })) as ShareResult
    // Two-way by default: this device is a writer and the invite admits one more writer.
    expect(res.folder.role).toBe('writer')
    expect(res.folder.path).toBe(folderPath)
    expect(res.folder.name).toBe('Photos')
    expect(res.folder.id).toMatch(/^[0-9a-f]{16}$/)
    const first = decodeInvite(res.invite)
    expect(first.name).toBe('Photos')
    expect(first.writer).toBe(true)
    expect(first.sync).toBe(true)

    // Every writer invite is new (single use); a read-only one carries no seed.
    const again = (await service.call('folders.invite', { id: res.folder.id })) as {
      invite: string
    }
    expect(again.invite).not.toBe(res.invite)
    expect(decodeInvite(again.invite).key.equals(first.key)).toBe(true)
    const ro = (await service.call('folders.invite', { id: res.folder.id, readOnly: true })) as {
      invite: string
    }
    expect(decodeInvite(ro.invite)).toMatchObject({ writer: false, sync: true, seed: null })

    // One-way publishing: an owner, and the same reader invite every time.
    await mkdirs(path.join(dir, 'Pub'))
    const pub = (await service.call('folders.share', {
      path: path.join(dir, 'Pub'),
      mode: 'publish',
    })) as ShareResult
    expect(pub.folder.role).toBe('owner')
    expect(decodeInvite(pub.invite)).toMatchObject({ writer: false, sync: false })
    expect(await service.call('folders.invite', { id: pub.folder.id })).toEqual({
      invite: pub.invite,
    })
    await service.call('folders.unshare', { id: pub.folder.id })
    const list = (await service.call('folders.list', {})) as Array<{ id: string }>
    expect(list.map((f) => f.id)).toEqual([res.folder.id])
    expect(((await service.call('folders.get', { id: res.folder.id })) as { id: string }).id).toBe(
      res.folder.id,
    )
    expect(
      events.some(([e, d]) => e === 'folder.updated' && (d as { id: string }).id === res.folder.id),
    ).toBe(true)
    expect(node.status().folders).toBe(1)

    // Persisted, owner-only, with the keys that the invite carries.
    const settingsFile = path.join(node.dataDir, 'settings.json')
    expect(await modeOf(settingsFile)).toBe(0o600)
    const saved = JSON.parse(await fs.readFile(settingsFile, 'utf8')) as {
      folders: Array<{ id: string; key: string; encryptionKey: string }>
    }
    expect(saved.folders).toHaveLength(1)
    const inv = decodeInvite(res.invite)
    expect(saved.folders[0]!.key).toBe(inv.key.toString('hex'))
    expect(saved.folders[0]!.encryptionKey).toBe(inv.encryptionKey.toString('hex'))
  })

  it('uses the given name', async () => {
    const { service, dir } = await setup()
    await mkdirs(path.join(dir, 'x'))
    const res = (await service.call('folders.share', {
      path: path.join(dir, 'x'),
      name: 'Family photos',
    })) as ShareResult
    expect(res.folder.name).toBe('Family photos')
    expect(decodeInvite(res.invite).name).toBe('Family photos')
  })

  it('refuses a path that does not exist, a file and a relative path', async () => {
    const { service, dir } = await setup()
    const missing = path.join(dir, 'missing')
    await expectCode(
      service,
      'folders.share',
      { path: missing },
      'BAD_INPUT',
      `no such folder: ${missing}`,
    )
    expect(existsSync(missing)).toBe(false)
    const file = path.join(dir, 'file.txt')
    await fs.writeFile(file, 'x')
    await expectCode(service, 'folders.share', { path: file }, 'BAD_INPUT', `not a folder: ${file}`)
    await expectCode(
      service,
      'folders.share',
      { path: 'relative/dir' },
      'BAD_INPUT',
      'must be absolute',
    )
    await expectCode(service, 'folders.share', { path: '.' }, 'BAD_INPUT', 'must be absolute')
    expect(await service.call('folders.list', {})).toEqual([])
  })

  it('refuses the data directory, a folder inside it and a folder that contains it', async () => {
    const { node, service } = await setup()
    const overlap = `overlaps Spare's data directory ${node.dataDir}`
    await expectCode(service, 'folders.share', { path: node.dataDir }, 'BAD_INPUT', overlap)
    await expectCode(
      service,
      'folders.share',
      { path: path.join(node.dataDir, 'store') },
      'BAD_INPUT',
      overlap,
    )
    await expectCode(
      service,
      'folders.share',
      { path: path.dirname(node.dataDir) },
      'BAD_INPUT',
      overlap,
    )
    await expectCode(
      service,
      'folders.share',
      { path: node.dataDir + path.sep },
      'BAD_INPUT',
      overlap,
    )
    expect(await service.call('folders.list', {})).toEqual([])
  })

  // BUG (main/engine/node.ts, checkPath): the folder is compared by its realpath with
  // this.dataDir, which is only path.resolve()d. When the data directory is given through a
  // symlink (e.g. SPARE_DATA_DIR=/home/me/link-to-data, or macOS's /var → /private/var), sharing
  // the real data directory is accepted and Spare imports its own store into a folder.
  // Repro: dataDir = BASE/link (→ BASE/real); node.share('BASE/real') succeeds.
  it('refuses the data directory when the node was given it through a symlink', async () => {
    const base = await fx.tmpDir()
    await mkdirs(path.join(base, 'real'))
    await fs.symlink(path.join(base, 'real'), path.join(base, 'link'))
    const node = await fx.readyNode({ dataDir: path.join(base, 'link') })
    const service = new SpareService(node)
    await expectCode(
      service,
      'folders.share',
      { path: path.join(base, 'real') },
      'BAD_INPUT',
      /overlaps/,
    )
  })

  it('refuses a folder that overlaps a shared one, but not a sibling with a common prefix', async () => {
    const { service, dir } = await setup()
    const a = path.join(dir, 'a')
    await mkdirs(path.join(a, 'sub'), path.join(dir, 'a-2'))
    await fs.symlink(a, path.join(dir, 'alias'))
    const first = (await service.call('folders.share', { path: a })) as ShareResult

    const conflict = `overlaps the synced folder ${a} (${first.folder.id})`
    await expectCode(service, 'folders.share', { path: a }, 'CONFLICT', conflict)
    await expectCode(service, 'folders.share', { path: path.join(a, 'sub') }, 'CONFLICT', conflict)
    await expectCode(service, 'folders.share', { path: dir }, 'CONFLICT', conflict)
    await expectCode(
      service,
      'folders.share',
      { path: path.join(dir, 'alias') },
      'CONFLICT',
      conflict,
    )
    await expectCode(
      service,
      'folders.share',
      { path: path.join(a, 'sub', '..') },
      'CONFLICT',
      conflict,
    )

    const sibling = (await service.call('folders.share', {
      path: path.join(dir, 'a-2'),
    })) as ShareResult
    expect(sibling.folder.id).not.toBe(first.folder.id)
    expect(((await service.call('folders.list', {})) as unknown[]).length).toBe(2)
  })
})

describe('SpareService: folders.join', () => {
  it.each([
    ['garbage', 'hello', 'invalid invite: not a Spare invite'],
    ['a truncated invite', randomInvite().slice(0, 60), /^invalid invite: .*copied whole/],
    ['bad characters', 'spare1!!!', 'invalid invite: the invite contains characters'],
  ])('refuses %s as BAD_INPUT', async (_l, invite, message) => {
    const { service, dir } = await setup()
    const target = path.join(dir, 'target')
    await expectCode(service, 'folders.join', { invite, path: target }, 'BAD_INPUT', message)
    expect(existsSync(target)).toBe(false)
  })

  it('refuses a tampered invite as BAD_INPUT', async () => {
    const { service, dir } = await setup()
    const good = randomInvite()
    const i = 40
    const tampered = good.slice(0, i) + (good[i] === 'y' ? 'b' : 'y') + good.slice(i + 1)
    await expectCode(
      service,
      'folders.join',
      { invite: tampered, path: path.join(dir, 't') },
      'BAD_INPUT',
      /checksum/,
    )
  })

  it('joins with a writer invite as a writer, with a proof signed by the invite key', async () => {
    const { node, service, dir } = await setup()
    const seed = randomBytes(32)
    const key = randomBytes(32)
    const invite = encodeInvite({
      key,
      encryptionKey: randomBytes(32),
      name: 'Team',
      writer: true,
      sync: true,
      seed,
    })
    const res = (await service.call('folders.join', {
      invite,
      path: path.join(dir, 't'),
    })) as ShareResult
    expect(res.folder.role).toBe('writer')
    const settings = JSON.parse(
      await fs.readFile(path.join(node.dataDir, 'settings.json'), 'utf8'),
    ) as { folders: Array<{ proof: { invite: string; sig: string } | null; namespace: string }> }
    const proof = settings.folders[0]!.proof!
    expect(proof.invite).toBe(crypto.keyPair(seed).publicKey.toString('hex'))
    expect(proof.sig).toMatch(/^[0-9a-f]{128}$/)
  })

  it('joins an invite into a new folder, and refuses the same folder twice', async () => {
    const { service, dir } = await setup()
    const invite = randomInvite()
    const target = path.join(dir, 'mirror', 'deep')
    const res = (await service.call('folders.join', { invite: `  ${invite}\n`, path: target })) as {
      folder: { id: string; role: string; path: string; name: string }
    }
    expect(res.folder.role).toBe('reader')
    expect(res.folder.path).toBe(target)
    expect(res.folder.name).toBe('Remote')
    expect((await fs.stat(target)).isDirectory()).toBe(true)

    const other = path.join(dir, 'other')
    await expectCode(
      service,
      'folders.join',
      { invite, path: other },
      'CONFLICT',
      `already syncs that folder as ${target} (${res.folder.id})`,
    )
    expect(existsSync(other)).toBe(false)
    // A reader has no invite of its own to hand out... but its id is known.
    expect(((await service.call('folders.list', {})) as unknown[]).length).toBe(1)
  })

  it("refuses to join this device's own shared folder", async () => {
    const { service, dir } = await setup()
    await mkdirs(path.join(dir, 'own'))
    const shared = (await service.call('folders.share', {
      path: path.join(dir, 'own'),
    })) as ShareResult
    await expectCode(
      service,
      'folders.join',
      { invite: shared.invite, path: path.join(dir, 'copy') },
      'CONFLICT',
      'already syncs',
    )
    expect(existsSync(path.join(dir, 'copy'))).toBe(false)
  })

  it('refuses a join path inside a shared folder, a file, a relative path or the data dir', async () => {
    const { node, service, dir } = await setup()
    await mkdirs(path.join(dir, 'own'))
    await service.call('folders.share', { path: path.join(dir, 'own') })
    const inside = path.join(dir, 'own', 'mirror')
    await expectCode(
      service,
      'folders.join',
      { invite: randomInvite(), path: inside },
      'CONFLICT',
      'overlaps the synced folder',
    )
    expect(existsSync(inside)).toBe(false)
    await fs.writeFile(path.join(dir, 'file'), 'x')
    await expectCode(
      service,
      'folders.join',
      { invite: randomInvite(), path: path.join(dir, 'file') },
      'BAD_INPUT',
      'not a folder',
    )
    await expectCode(
      service,
      'folders.join',
      { invite: randomInvite(), path: 'rel/x' },
      'BAD_INPUT',
      'must be absolute',
    )
    await expectCode(
      service,
      'folders.join',
      { invite: randomInvite(), path: path.join(node.dataDir, 'm') },
      'BAD_INPUT',
      'overlaps',
    )
  })

  // BUG (main/engine/node.ts, checkPath): a join path that does not exist yet was compared as
  // typed, not by where it lands. Through a symlink to the data directory (or to a shared folder)
  // it passed, and mkdir created the folder inside Spare's own store; under a file, mkdir failed
  // with ENOTDIR as an INTERNAL error (exit 1) instead of bad input.
  // BUG (main/engine/node.ts, share/join): the overlap and already-joined checks ran before
  // several awaits, and the folder was only registered after them. Two calls at once (a double
  // click, two scripts) both passed: one directory synced as two folders, or one folder joined
  // twice under the same id.
  it('two shares of one folder at once: one wins, the other is a CONFLICT', async () => {
    const { service, dir } = await setup()
    const a = path.join(dir, 'a')
    await mkdirs(a)
    const results = await Promise.allSettled([
      service.call('folders.share', { path: a }),
      service.call('folders.share', { path: a }),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const rejected = results.find((r) => r.status === 'rejected')
    expect((rejected!.reason as ApiError).code).toBe('CONFLICT')
    expect(await service.call('folders.list', {})).toHaveLength(1)
  })

  it('two joins of one invite at once: one wins, the other is a CONFLICT', async () => {
    const { service, dir } = await setup()
    const invite = randomInvite()
    const results = await Promise.allSettled([
      service.call('folders.join', { invite, path: path.join(dir, 'x') }),
      service.call('folders.join', { invite, path: path.join(dir, 'y') }),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const rejected = results.find((r) => r.status === 'rejected')
    expect((rejected!.reason as ApiError).code).toBe('CONFLICT')
    expect(await service.call('folders.list', {})).toHaveLength(1)
  })

  it('refuses a new join path that lands in the data dir or a shared folder through a symlink', async () => {
    const { node, service, dir } = await setup()
    await fs.symlink(node.dataDir, path.join(dir, 'to-data'))
    const viaData = path.join(dir, 'to-data', 'mirror')
    await expectCode(
      service,
      'folders.join',
      { invite: randomInvite(), path: viaData },
      'BAD_INPUT',
      'overlaps',
    )
    expect(existsSync(path.join(node.dataDir, 'mirror'))).toBe(false)
    await mkdirs(path.join(dir, 'own'))
    await service.call('folders.share', { path: path.join(dir, 'own') })
    await fs.symlink(path.join(dir, 'own'), path.join(dir, 'to-own'))
    await expectCode(
      service,
      'folders.join',
      { invite: randomInvite(), path: path.join(dir, 'to-own', 'a', 'b') },
      'CONFLICT',
      'overlaps the synced folder',
    )
    expect(existsSync(path.join(dir, 'own', 'a'))).toBe(false)
  })

  it('refuses a join path under a file as bad input', async () => {
    const { service, dir } = await setup()
    await fs.writeFile(path.join(dir, 'file'), 'x')
    await expectCode(
      service,
      'folders.join',
      { invite: randomInvite(), path: path.join(dir, 'file', 'sub') },
      'BAD_INPUT',
      'not a folder',
    )
    expect(await fs.readFile(path.join(dir, 'file'), 'utf8')).toBe('x')
  })
})

describe('SpareService: paths inside a two-way folder', () => {
  // BUG (main/engine/node.ts, normalizeKey/restore/preview): a path that is not one inside the
  // folder was caught by restore and rethrown as UNAVAILABLE (exit 1), and preview let a segment
  // over 255 bytes or a control character reach the folder, which threw a plain Error: INTERNAL.
  it('refuses a path that cannot be in the folder as BAD_INPUT in every call', async () => {
    const { service, dir } = await setup()
    await mkdirs(path.join(dir, 'own'))
    const shared = (await service.call('folders.share', {
      path: path.join(dir, 'own'),
    })) as ShareResult
    const id = shared.folder.id
    for (const bad of ['..', 'a/../..', '/', 'x'.repeat(300), 'a\nb', 'a/.spare-tmp-1']) {
      for (const method of ['folders.preview', 'folders.versions', 'folders.restore']) {
        await expectCode(service, method, { id, path: bad }, 'BAD_INPUT')
      }
      await expectCode(
        service,
        'folders.resolveConflict',
        { id, path: bad, keep: 'copy' },
        'BAD_INPUT',
      )
    }
  })
})

describe('SpareService: folders.restore --to', () => {
  // BUG (main/engine/node.ts, restore): --to was only compared, as typed, with the folder's own
  // path. A destination in Spare's data directory (settings.json, api-token) was overwritten with
  // the old version; one reaching into the folder through a symlink slipped past the check; and an
  // existing folder as the destination failed in rename as UNAVAILABLE (exit 1), not bad input.
  it('refuses a destination in the data dir, in the folder through a symlink, or a folder', async () => {
    const { node, service, dir } = await setup()
    const own = path.join(dir, 'own')
    await mkdirs(own)
    const shared = (await service.call('folders.share', { path: own })) as ShareResult
    const id = shared.folder.id
    const file = path.join(own, 'a.txt')
    const versions = async (): Promise<unknown[]> =>
      (await service.call('folders.versions', { id, path: 'a.txt' })) as unknown[]
    await fs.writeFile(file, 'one\n')
    await waitFor(async () => (await versions()).length === 1)
    await fs.writeFile(file, 'two, longer\n')
    await waitFor(async () => (await versions()).length === 2)

    const settings = path.join(node.dataDir, 'settings.json')
    const before = await fs.readFile(settings, 'utf8')
    await expectCode(
      service,
      'folders.restore',
      { id, path: 'a.txt', to: settings },
      'BAD_INPUT',
      'data directory',
    )
    expect(await fs.readFile(settings, 'utf8')).toBe(before)

    await fs.symlink(own, path.join(dir, 'alias'))
    await expectCode(
      service,
      'folders.restore',
      { id, path: 'a.txt', to: path.join(dir, 'alias', 'b.txt') },
      'BAD_INPUT',
      'without --to',
    )
    expect(existsSync(path.join(own, 'b.txt'))).toBe(false)

    const elsewhere = path.join(dir, 'elsewhere')
    await mkdirs(elsewhere)
    await expectCode(
      service,
      'folders.restore',
      { id, path: 'a.txt', to: elsewhere },
      'BAD_INPUT',
      'is a folder',
    )
    expect(readdirSync(elsewhere)).toEqual([])

    // A plain destination outside both still works.
    const dest = path.join(dir, 'copy', 'old.txt')
    const res = (await service.call('folders.restore', { id, path: 'a.txt', to: dest })) as {
      path: string
    }
    expect(res.path).toBe(dest)
    expect(await fs.readFile(dest, 'utf8')).toBe('one\n')
  })
})

describe('SpareService: folders.unshare', () => {
  it('refuses an unknown id as NOT_FOUND', async () => {
    const { service } = await setup()
    for (const method of ['folders.unshare', 'folders.get', 'folders.invite']) {
      await expectCode(
        service,
        method,
        { id: '0123456789abcdef' },
        'NOT_FOUND',
        'no folder with id 0123456789abcdef',
      )
    }
  })

  it('stops syncing a folder, keeps its files and forgets it', async () => {
    const { node, service, dir } = await setup()
    const folderPath = path.join(dir, 'docs')
    await mkdirs(folderPath)
    await fs.writeFile(path.join(folderPath, 'keep.txt'), 'keep me')
    const { folder } = (await service.call('folders.share', { path: folderPath })) as ShareResult
    const events: Array<[string, unknown]> = []
    service.subscribe((e, d) => events.push([e, d]))

    expect(await service.call('folders.unshare', { id: folder.id })).toEqual({ id: folder.id })
    expect(events).toContainEqual(['folder.removed', { id: folder.id }])
    expect(await service.call('folders.list', {})).toEqual([])
    expect(await fs.readFile(path.join(folderPath, 'keep.txt'), 'utf8')).toBe('keep me')
    const saved = JSON.parse(
      await fs.readFile(path.join(node.dataDir, 'settings.json'), 'utf8'),
    ) as { folders: unknown[] }
    expect(saved.folders).toEqual([])
    await expectCode(service, 'folders.unshare', { id: folder.id }, 'NOT_FOUND')
    // The path is free again.
    const again = (await service.call('folders.share', { path: folderPath })) as ShareResult
    expect(again.folder.id).not.toBe(folder.id)
  })

  it('a listener that throws does not break calls or other listeners', async () => {
    const { service, dir } = await setup()
    await mkdirs(path.join(dir, 'x'))
    const seen: string[] = []
    service.subscribe(() => {
      throw new Error('broken listener')
    })
    service.subscribe((e) => seen.push(e))
    await service.call('folders.share', { path: path.join(dir, 'x') })
    expect(seen).toContain('folder.updated')
  })
})

describe('SpareNode lifecycle', () => {
  it('ready() and close() are idempotent', async () => {
    const node = await fx.node()
    const lock = path.join(node.dataDir, 'spare.lock')
    const p1 = node.ready()
    const p2 = node.ready()
    expect(p2).toBe(p1)
    await Promise.all([p1, p2])
    await node.ready()
    expect(node.opened).toBe(true)
    expect(await fs.readFile(lock, 'utf8')).toBe(String(process.pid))
    await node.close()
    await node.close()
    expect(node.opened).toBe(false)
    expect(existsSync(lock)).toBe(false)
    const service = new SpareService(node)
    await expectCode(service, 'folders.list', {}, 'UNAVAILABLE', 'the node is closed')
    await expectCode(service, 'folders.share', { path: '/tmp' }, 'UNAVAILABLE')
  })

  it('close() without ready() resolves and opens nothing', async () => {
    const base = await fx.tmpDir()
    const node = new SpareNode({ dataDir: path.join(base, 'data'), network: '127.0.0.1:9' })
    await node.close()
    await node.close()
    expect(node.opened).toBe(false)
    expect(existsSync(path.join(base, 'data'))).toBe(false)
    await expectCode(new SpareService(node), 'folders.list', {}, 'UNAVAILABLE')
  })

  it('close() while ready() is in flight waits for it and releases everything', async () => {
    const node = await fx.node()
    const ready = node.ready()
    const closed = node.close()
    await Promise.allSettled([ready])
    await closed
    expect(node.opened).toBe(false)
    expect(existsSync(path.join(node.dataDir, 'spare.lock'))).toBe(false)
    // The data directory is free for the next node.
    await fx.readyNode({ dataDir: node.dataDir })
  })

  // BUG (main/engine/node.ts, ready()/close()): after close() has run, ready() is not refused: it
  // opens the store, the DHT and the swarm again (phase 'open', lock file written), and close()
  // then returns its cached promise without releasing anything, so every socket and file handle
  // leaks and the data directory stays locked until the process exits.
  // Repro: n = new SpareNode({...}); await n.close(); await n.ready(); n.opened === true;
  // await n.close(); the spare.lock file is still there.
  it('ready() after close() does not reopen the node', async () => {
    const node = await fx.node()
    // If the bug reopens the node, release what it opened (close() would be a no-op).
    fx.defer(() => (node as unknown as { release(): Promise<void> }).release())
    await node.close()
    await node.ready().catch(() => {})
    expect(node.opened).toBe(false)
    expect(existsSync(path.join(node.dataDir, 'spare.lock'))).toBe(false)
  })

  // BUG (main/engine/node.ts, close()): a share in flight when close() began registered its
  // folder after close() had closed the folders, so that folder (its watcher, its timers) was
  // never closed. Repro: node.share(p) without awaiting it, then node.close().
  it('close() during a share leaves no folder open', async () => {
    const network = await fx.testnet()
    const dir = await fx.tmpDir()
    for (const delay of [0, 0, 2, 4, 8]) {
      const node = await fx.readyNode({ network })
      const folderPath = path.join(dir, `f${randomBytes(4).toString('hex')}`)
      await mkdirs(folderPath)
      const shared = node.share(folderPath).then(
        () => null,
        (e: unknown) => e,
      )
      await new Promise((r) => setTimeout(r, delay))
      await node.close()
      const err = await shared
      if (err) expect(err).toBeInstanceOf(Error)
      const open = (node as unknown as { folders: Map<string, unknown> }).folders
      expect(open.size).toBe(0)
    }
  })

  // BUG (main/engine/node.ts, setPaused): a pause and a resume asked back to back (tray: Pause,
  // then Resume) ran at once: the pause went on leaving topics and dropped every connection
  // after the resume had joined them again, so the node said "not paused" while its folders
  // had left their topics until the next restart.
  it('a pause and a resume back to back leave every topic joined', async () => {
    const { node, dir } = await setup()
    for (const name of ['a', 'b', 'c']) {
      await mkdirs(path.join(dir, name))
      await node.share(path.join(dir, name))
    }
    await Promise.all([node.setPaused(true), node.setPaused(false)])
    expect(node.status().paused).toBe(false)
    const swarm = (node as unknown as { swarm: Swarm }).swarm
    // The same on the swarm itself, where the second call comes at once.
    await Promise.all([swarm.setPaused(true), swarm.setPaused(false)])
    const topics = [
      ...(swarm as unknown as { topics: Map<string, { discovery: unknown }> }).topics.values(),
    ]
    expect(topics.length).toBeGreaterThan(3)
    expect(topics.filter((t) => t.discovery === null)).toHaveLength(0)
  })

  it('closes every file descriptor and socket it opened', async () => {
    await fx.testnet()
    const dir = await fx.tmpDir()
    await mkdirs(path.join(dir, 'f', 'sub'))
    await fs.writeFile(path.join(dir, 'f', 'sub', 'x.txt'), 'x')
    // A first open/close loads process-wide native backends (the file watcher keeps one inotify
    // instance for the life of the process); a leak is what grows across open/close cycles.
    const warmup = await fx.node()
    await warmup.ready()
    await warmup.share(path.join(dir, 'f'))
    await warmup.close()
    const node = await fx.node({ dataDir: warmup.dataDir })
    const before = openFds()
    await node.ready()
    await node.join(randomInvite(), path.join(dir, 'mirror'))
    expect(openFds()).toBeGreaterThan(before)
    await node.close()
    // @parcel/watcher 2.6 keeps one pipe per subscription after unsubscribe (upstream leak: one fd
    // per folder opened, not per file). Two folders were opened here; anything more is ours.
    const allowed = before + 2
    // The log stream closes asynchronously; allow it a moment.
    await waitFor(() => openFds() <= allowed, 3000, `fds back to ${allowed} (now ${openFds()})`)
  })

  it('keeps shared and joined folders across a restart', async () => {
    const { node, service, dir } = await setup()
    await mkdirs(path.join(dir, 'own'))
    const shared = (await service.call('folders.share', {
      path: path.join(dir, 'own'),
    })) as ShareResult
    const joined = (await service.call('folders.join', {
      invite: randomInvite(),
      path: path.join(dir, 'm'),
    })) as ShareResult
    const nodeId = node.status().nodeId
    await node.close()
    const again = await fx.readyNode({ dataDir: node.dataDir })
    expect(again.status().nodeId).toBe(nodeId)
    const ids = again
      .listFolders()
      .map((f) => f.id)
      .sort()
    expect(ids).toEqual([shared.folder.id, joined.folder.id].sort())
    const invite = decodeInvite(await again.invite(shared.folder.id))
    expect(invite.key.equals(decodeInvite(shared.invite).key)).toBe(true)
  })

  it('persists the network option it was given', async () => {
    const network = await fx.testnet()
    const node = await fx.readyNode()
    const saved = JSON.parse(
      await fs.readFile(path.join(node.dataDir, 'settings.json'), 'utf8'),
    ) as { network: string }
    expect(saved.network).toBe(network)
    expect(node.status().network.bootstrap.join(',')).toBe(network)
  })

  it('refuses an invalid network option before touching the settings, and releases the lock', async () => {
    const first = await fx.readyNode()
    await first.close()
    const settings = path.join(first.dataDir, 'settings.json')
    const before = await fs.readFile(settings, 'utf8')
    const node = await fx.node({ dataDir: first.dataDir, network: 'localhost:0' })
    await expect(node.ready()).rejects.toThrow(NetworkConfigError)
    await expect(node.ready()).rejects.toThrow('port 0 is out of range 1-65535')
    expect(await fs.readFile(settings, 'utf8')).toBe(before)
    expect(existsSync(path.join(first.dataDir, 'spare.lock'))).toBe(false)
  })

  it('refuses a corrupt settings file with its name, leaves it untouched and unlocks', async () => {
    const dataDir = path.join(await fx.tmpDir(), 'data')
    await mkdirs(dataDir)
    const settings = path.join(dataDir, 'settings.json')
    await fs.writeFile(settings, '{"version": 1, "folders": [')
    const node = await fx.node({ dataDir })
    const err = await node.ready().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SettingsError)
    expect((err as Error).message).toContain(settings)
    expect(await fs.readFile(settings, 'utf8')).toBe('{"version": 1, "folders": [')
    expect(existsSync(path.join(dataDir, 'spare.lock'))).toBe(false)
    // Closing a node whose start failed is harmless.
    await node.close()
  })
})

describe('SpareNode: the data directory lock', () => {
  it('refuses a data directory locked by another live process, then starts once it is gone', async () => {
    const dataDir = path.join(await fx.tmpDir(), 'data')
    await mkdirs(dataDir)
    const other = await livePid(fx)
    const lock = path.join(dataDir, 'spare.lock')
    await fs.writeFile(lock, String(other.pid))
    const node = await fx.node({ dataDir })
    await expect(node.ready()).rejects.toThrow(
      `another Spare (pid ${other.pid}) is already using the data directory ${dataDir}`,
    )
    // The other process's lock is left alone.
    expect(await fs.readFile(lock, 'utf8')).toBe(String(other.pid))
    await other.kill()
    const next = await fx.readyNode({ dataDir })
    expect(next.opened).toBe(true)
    expect(await fs.readFile(lock, 'utf8')).toBe(String(process.pid))
  })

  it.each([
    ['the pid of a dead process', async () => String(await deadPid())],
    ['garbage', async () => 'not a pid\n'],
    ['nothing', async () => ''],
  ])('a stale lock file holding %s does not block start', async (_l, content) => {
    const dataDir = path.join(await fx.tmpDir(), 'data')
    await mkdirs(dataDir)
    await fs.writeFile(path.join(dataDir, 'spare.lock'), await content())
    const node = await fx.readyNode({ dataDir })
    expect(node.opened).toBe(true)
    expect(await fs.readFile(path.join(dataDir, 'spare.lock'), 'utf8')).toBe(String(process.pid))
  })

  // BUG (main/engine/node.ts, acquireLock): the lock was created empty (`wx`) and its pid written
  // after, so a start that read it in between took it for stale and removed it; and two starts
  // that found the same stale lock could each remove it, the second removing the fresh lock of
  // the first. Either way a second start went on past the lock (here it fails later, on the
  // store, and its cleanup then deleted the lock file of the node that runs).
  it.each([
    ['no lock file', async () => null],
    ['a stale lock file', async () => String(await deadPid())],
  ])('starts racing on one data directory with %s: one runs and keeps its lock', async (_l, c) => {
    const network = await fx.testnet()
    for (let round = 0; round < 3; round++) {
      const dataDir = path.join(await fx.tmpDir(), 'data')
      await mkdirs(dataDir)
      const lock = path.join(dataDir, 'spare.lock')
      const content = await c()
      if (content !== null) await fs.writeFile(lock, content)
      const nodes = await Promise.all([1, 2, 3, 4].map(() => fx.node({ dataDir, network })))
      const results = await Promise.allSettled(nodes.map((n) => n.ready()))
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
      for (const r of results) {
        if (r.status === 'rejected')
          expect(String(r.reason)).toMatch(/already using the data directory/)
      }
      expect(existsSync(lock) && (await fs.readFile(lock, 'utf8'))).toBe(String(process.pid))
      for (const n of nodes) await n.close()
    }
  })

  it('a second node on the same data directory in the same process cannot start', async () => {
    const first = await fx.readyNode()
    const second = await fx.node({ dataDir: first.dataDir })
    await expect(second.ready()).rejects.toThrow()
    expect(first.opened).toBe(true)
    expect(second.opened).toBe(false)
  })

  // BUG (main/engine/node.ts, acquireLock): a lock holding this process's own pid is treated as
  // stale (`pid !== process.pid`), so a second SpareNode in the same process (Electron main, a
  // test, a restart that forgot to close) deletes the first node's lock and goes on; it only
  // fails later in Corestore with "File descriptor could not be locked", not with the clear
  // "already using" message.
  it("a second node in the same process fails with a clear 'already using' message", async () => {
    const first = await fx.readyNode()
    const second = await fx.node({ dataDir: first.dataDir })
    await expect(second.ready()).rejects.toThrow(/already using the data directory/)
  })

  // BUG (same place, plus release()): the failed second node runs its cleanup steps, one of
  // which removes spare.lock — the first node's lock. Afterwards the first node runs without a
  // lock file and another process can start on the same directory. Repro: start node A, start
  // node B on A's dataDir in the same process (rejects), then spare.lock no longer exists.
  it("a failed second start leaves the first node's lock file in place", async () => {
    const first = await fx.readyNode()
    const lock = path.join(first.dataDir, 'spare.lock')
    const second = await fx.node({ dataDir: first.dataDir })
    await second.ready().catch(() => {})
    expect(first.opened).toBe(true)
    expect(existsSync(lock)).toBe(true)
  })

  it('the data directory is usable again after the first node closes', async () => {
    const first = await fx.readyNode()
    const nodeId = first.status().nodeId
    const second = await fx.node({ dataDir: first.dataDir })
    await second.ready().catch(() => {})
    await first.close()
    const third = await fx.readyNode({ dataDir: first.dataDir })
    expect(third.opened).toBe(true)
    expect(third.status().nodeId).toBe(nodeId)
  })
})
