// Bad input from everywhere: hostile peers, bad invites, strangers at the API, a mangled settings
// file, a full disk. Real daemons on a local testnet, driven through the CLI.
import { describe, expect, it } from 'vitest'
import { spawn, execFileSync } from 'node:child_process'
import { promises as fs } from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import WebSocket from 'ws'
import type { FolderSummary } from '../../shared/contract.ts'
import {
  ROOT,
  runCli,
  snapshotTree,
  startDaemon,
  tempDir,
  waitFor,
  waitForSameTree,
  writeRandomFile,
} from '../helpers/daemon.ts'
import { useLocalTestnet } from '../helpers/testnet-hook.ts'

const t = useLocalTestnet()

async function listAll(root: string): Promise<string[]> {
  const out: string[] = []
  async function walk(dir: string): Promise<void> {
    for (const d of await fs.readdir(dir, { withFileTypes: true })) {
      const abs = path.join(dir, d.name)
      out.push(path.relative(root, abs))
      if (d.isDirectory()) await walk(abs)
    }
  }
  await walk(root)
  return out.sort()
}

describe('hostile peers', () => {
  it('refuses entries whose paths escape the folder and writes nothing outside it', async () => {
    const base = await tempDir(t.cleanup, 'spare-hostile-')
    const outside = path.join(base, 'outside')
    const dst = path.join(base, 'inside', 'mirror')
    await fs.mkdir(outside)
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(ROOT, 'test/helpers/hostile-owner.ts'),
        t.network,
        path.join(base, 'store'),
        outside,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    t.cleanup.add(
      () =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve()
          child.once('exit', () => resolve())
          child.kill('SIGTERM')
        }),
    )
    let out = ''
    let err = ''
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const invite = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString()
        const line = out.split('\n').find((l) => l.startsWith('{'))
        if (line) resolve((JSON.parse(line) as { invite: string }).invite)
      })
      child.once('exit', (code) => reject(new Error(`hostile owner exited ${code}: ${err}`)))
    })

    const reader = await startDaemon(t.cleanup, t.network)
    expect((await reader.cli(['join', invite, dst])).code).toBe(0)
    await waitFor(
      async () =>
        (await fs.readFile(path.join(dst, 'ok.txt'), 'utf8').catch(() => '')) === 'fine\n',
      {
        what: 'the legitimate file',
      },
    )
    await waitFor(async () => (await reader.folders())[0]!.refused.length >= 11, {
      what: 'refusals',
    })
    const [folder] = await reader.folders()
    const refused = folder!.refused.map((r) => r.path)
    for (const p of [
      '/../escape-1.txt',
      '/sub/../../escape-2.txt',
      '/..\\..\\escape-3.txt',
      '/nul\0byte.txt',
      '//escape-4.txt',
      '/ctrl\x1bchar.txt',
      '/.spare-tmp-sneaky',
      '/bad-metadata.txt',
      '/packed-negative.txt',
    ]) {
      expect(refused, JSON.stringify(folder!.refused)).toContain(p)
    }
    expect(folder!.refused).toContainEqual({
      path: '/packed-outside.txt',
      reason: 'a packed file lies outside its blocks',
    })
    await expect(fs.access(path.join(dst, 'packed-outside.txt'))).rejects.toThrow()
    // The symlink is created as a link (never followed); the file "inside" it is refused.
    expect(folder!.refused).toContainEqual({
      path: '/evil-link/pwned.txt',
      reason: 'a parent folder is a symlink',
    })
    expect(await fs.readlink(path.join(dst, 'evil-link'))).toBe(outside)
    // A key without the leading slash is outside the drive's tree: never listed, never written.
    await expect(fs.access(path.join(base, 'inside', 'escape-6.txt'))).rejects.toThrow()
    // Nothing landed outside the folder.
    expect(await fs.readdir(outside)).toEqual([])
    expect(
      (await listAll(base)).filter(
        (p) => !p.startsWith('store') && !p.startsWith(path.join('inside', 'mirror')),
      ),
    ).toEqual(['inside', 'outside'])
    expect((await listAll(dst)).filter((p) => !p.startsWith('C:'))).toEqual(['evil-link', 'ok.txt'])
    // The node is still healthy and its log names the refusals.
    expect((await reader.cli(['status'])).code).toBe(0)
    const log = await fs.readFile(path.join(reader.dataDir, 'logs', 'spare.log'), 'utf8')
    expect(log).toContain('refused an entry from the network')
  })
})

describe('bad invites', () => {
  it('refuses malformed, truncated and tampered invites with exit code 2', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    const owner = await startDaemon(t.cleanup, t.network)
    const reader = await startDaemon(t.cleanup, t.network)
    const { invite } = await owner.json<{ invite: string }>(['share', src, '--publish'])
    const dst = path.join(await tempDir(t.cleanup), 'mirror')
    const flip = (s: string, i: number): string =>
      s.slice(0, i) + (s[i] === 'y' ? 'b' : 'y') + s.slice(i + 1)
    const cases: Array<[string, RegExp]> = [
      ['hello', /not a Spare invite/],
      ['spare1', /truncated|cannot be decoded/],
      [invite.slice(0, invite.length - 10), /truncated|damaged|bad length/],
      [invite.slice(0, 40), /truncated/],
      [flip(invite, 20), /damaged/],
      [flip(invite, 60), /damaged/],
      [invite + 'yy', /damaged|bad length/],
      [invite.replace('spare1', 'spare1!'), /characters/],
      ['', /invite is required|missing/i],
    ]
    for (const [bad, message] of cases) {
      const res = await reader.cli(['join', bad, dst])
      expect(res.code, `${bad}: ${res.stderr}`).toBe(2)
      expect(res.stderr).toMatch(message)
    }
    expect(await reader.folders()).toEqual([])
    // The destination was not even created.
    await expect(fs.access(dst)).rejects.toThrow()
    // Bad usage is exit 2 too.
    expect((await reader.cli(['join'])).code).toBe(2)
    expect((await reader.cli(['frobnicate'])).code).toBe(2)
    expect((await reader.cli(['share', path.join(src, 'does-not-exist')])).code).toBe(2)
  })
})

describe('the local API', () => {
  it('refuses a wrong token, a foreign Origin and a foreign Host', async () => {
    const d = await startDaemon(t.cleanup, t.network)
    const info = JSON.parse(await fs.readFile(path.join(d.dataDir, 'api.json'), 'utf8')) as {
      port: number
    }
    const token = (await fs.readFile(path.join(d.dataDir, 'api-token'), 'utf8')).trim()
    expect((await fs.stat(path.join(d.dataDir, 'api-token'))).mode & 0o777).toBe(0o600)
    const call = (headers: Record<string, string>): Promise<number> =>
      new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port: info.port,
            path: '/api/call',
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
          },
          (res) => {
            res.resume()
            resolve(res.statusCode ?? 0)
          },
        )
        req.on('error', reject)
        req.end(JSON.stringify({ method: 'node.status', params: {} }))
      })
    expect(await call({ authorization: `Bearer ${token}` })).toBe(200)
    expect(await call({})).toBe(401)
    expect(await call({ authorization: `Bearer ${'0'.repeat(64)}` })).toBe(401)
    expect(await call({ authorization: `Bearer ${token}`, origin: 'https://evil.example' })).toBe(
      401,
    )
    expect(
      await call({ authorization: `Bearer ${token}`, host: `evil.example:${info.port}` }),
    ).toBe(401)
    const wsStatus = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${info.port}/api/ws`, {
        headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example' },
      })
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
      ws.on('open', () => {
        ws.close()
        resolve(101)
      })
      ws.on('error', () => {})
    })
    expect(wsStatus).toBe(401)
  })

  it('prints exactly one JSON document for --json read commands', async () => {
    const d = await startDaemon(t.cleanup, t.network)
    const src = await tempDir(t.cleanup, 'spare-src-')
    await d.json(['share', src])
    for (const cmd of [['status'], ['folders'], ['peers']]) {
      const res = await d.cli([...cmd, '--json'])
      expect(res.code).toBe(0)
      expect(() => JSON.parse(res.stdout) as unknown).not.toThrow()
    }
    const status = await d.json<{ nodeId: string; network: { mode: string } }>(['status'])
    expect(status.nodeId).toMatch(/^[0-9a-f]{64}$/)
    expect(status.network.mode).toBe('custom')
  })

  it('says plainly when no daemon is running (exit 1)', async () => {
    const dir = await tempDir(t.cleanup)
    const res = await runCli(['status', '--data-dir', dir])
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/no Spare daemon is running/)
  })
})

describe('damaged files on disk', () => {
  it.each([
    ['publish', 'index.json'],
    ['sync', 'sync-index.json'],
  ])(
    "rebuilds a reader's damaged sync index without touching the folder, and keeps syncing (%s)",
    async (mode, indexName) => {
      const src = await tempDir(t.cleanup, 'spare-src-')
      await fs.writeFile(path.join(src, 'a.txt'), 'a\n')
      const owner = await startDaemon(t.cleanup, t.network)
      const reader = await startDaemon(t.cleanup, t.network)
      const { invite, folder } = await owner.json<{ invite: string; folder: FolderSummary }>(
        mode === 'publish' ? ['share', src, '--publish'] : ['share', src],
      )
      const dst = path.join(await tempDir(t.cleanup), 'mirror')
      await reader.cli(['join', invite, dst])
      await waitForSameTree(src, dst)
      await reader.stop()
      const index = path.join(reader.dataDir, 'folders', folder.id, indexName)
      await fs.writeFile(index, '{"format": 1, "records": [garbage')
      await reader.start()
      await fs.writeFile(path.join(src, 'b.txt'), 'b\n')
      await waitForSameTree(src, dst)
      const [f] = await reader.folders()
      expect(f!.localChanges).toEqual([])
      // Nothing was sent back as a change: the owner's folder has exactly its own two files.
      expect(Object.keys(await snapshotTree(src)).sort()).toEqual(['a.txt', 'b.txt'])
      // The damaged file was kept aside for inspection, and the log says what happened.
      const kept = (await fs.readdir(path.dirname(index))).filter((n) =>
        n.startsWith(`${indexName}.corrupt-`),
      )
      expect(kept).toHaveLength(1)
      const log = await fs.readFile(path.join(reader.dataDir, 'logs', 'spare.log'), 'utf8')
      expect(log).toContain('sync index unreadable; rebuilding')
    },
  )

  it('says clearly when the daemon file is damaged', async () => {
    const dir = await tempDir(t.cleanup)
    await fs.writeFile(path.join(dir, 'api.json'), '{"port": "nope"}')
    await fs.writeFile(path.join(dir, 'api-token'), 'x'.repeat(64))
    const res = await runCli(['status', '--data-dir', dir])
    expect(res.code).toBe(1)
    expect(res.stderr).toMatch(/api\.json is damaged/)
  })
})

describe('settings on disk', () => {
  it('refuses to start on a hand-mangled settings file, names it, and leaves it untouched', async () => {
    const dir = await tempDir(t.cleanup)
    const file = path.join(dir, 'settings.json')
    const mangled = '{ "version": 1, "folders": [ {"id": "oops" ]\n'
    await fs.writeFile(file, mangled)
    const res = await runCli(['daemon', '--data-dir', dir, '--network', t.network])
    expect(res.code).toBe(1)
    expect(res.stderr).toContain(file)
    expect(res.stderr).toMatch(/not valid JSON/)
    expect(await fs.readFile(file, 'utf8')).toBe(mangled)
    // A bad --network value is bad usage.
    const bad = await runCli([
      'daemon',
      '--data-dir',
      await tempDir(t.cleanup),
      '--network',
      'nowhere',
    ])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/HOST:PORT/)
  })
})

function canMountTmpfs(): boolean {
  if (process.getuid?.() !== 0) return false
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

describe('a full disk', () => {
  // Needs root to mount a small tmpfs (CI runs as root). Elsewhere the test is skipped, loudly.
  it.runIf(canMountTmpfs())(
    'pauses with a clear error, corrupts nothing, and resumes when room returns',
    async () => {
      const src = await tempDir(t.cleanup, 'spare-src-')
      await writeRandomFile(path.join(src, 'big-1.bin'), 3 * 1024 * 1024, 1)
      await writeRandomFile(path.join(src, 'big-2.bin'), 3 * 1024 * 1024, 2)
      await fs.writeFile(path.join(src, 'small.txt'), 'small\n')
      const mnt = await tempDir(t.cleanup, 'spare-tmpfs-')
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt])
      t.cleanup.add(() => {
        execFileSync('umount', ['-l', mnt])
      })
      const owner = await startDaemon(t.cleanup, t.network)
      const reader = await startDaemon(t.cleanup, t.network)
      const { invite } = await owner.json<{ invite: string }>(['share', src, '--publish'])
      const dst = path.join(mnt, 'mirror')
      expect((await reader.cli(['join', invite, dst])).code).toBe(0)
      await waitFor(async () => (await reader.folders())[0]!.state === 'error', {
        what: 'the disk-full error',
      })
      const [f] = await reader.folders()
      expect(f!.error).toMatch(/disk full/)
      // No half-written file under a real name; whatever is there is complete.
      for (const name of await fs.readdir(dst)) {
        if (name.startsWith('.spare-tmp-')) continue
        const want = await fs.readFile(path.join(src, name))
        expect((await fs.readFile(path.join(dst, name))).equals(want), name).toBe(true)
      }
      const log = await fs.readFile(path.join(reader.dataDir, 'logs', 'spare.log'), 'utf8')
      expect(log).toMatch(/disk full/)
      execFileSync('mount', ['-o', 'remount,size=32m', mnt])
      await waitForSameTree(src, dst)
      await waitFor(async () => (await reader.folders())[0]!.state === 'idle')
    },
  )
})

describe('big files', () => {
  it('streams a file larger than a daemon may hold in memory', async () => {
    const src = await tempDir(t.cleanup, 'spare-src-')
    const size = 1200 * 1024 * 1024 + 77
    // Sparse: no disk or CPU spent making it; Spare still reads and ships every byte.
    const h = await fs.open(path.join(src, 'huge.img'), 'w')
    await h.truncate(size)
    await h.write(Buffer.from('head'), 0, 4, 0)
    await h.write(Buffer.from('tail'), 0, 4, size - 4)
    await h.close()
    const owner = await startDaemon(t.cleanup, t.network)
    const reader = await startDaemon(t.cleanup, t.network)
    const { invite } = await owner.json<{ invite: string; folder: FolderSummary }>([
      'share',
      src,
      '--publish',
    ])
    const dst = path.join(await tempDir(t.cleanup), 'mirror')
    await reader.cli(['join', invite, dst])
    const peak = { owner: 0, reader: 0 }
    const rss = async (pid: number): Promise<number> => {
      const status = await fs.readFile(`/proc/${pid}/status`, 'utf8')
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024
    }
    await waitFor(
      async () => {
        peak.owner = Math.max(peak.owner, await rss(owner.proc!.pid!))
        peak.reader = Math.max(peak.reader, await rss(reader.proc!.pid!))
        const st = await fs.stat(path.join(dst, 'huge.img')).catch(() => null)
        return st?.size === size
      },
      { timeoutMs: 240_000, intervalMs: 250, what: 'the big file' },
    )
    const fd = await fs.open(path.join(dst, 'huge.img'), 'r')
    const buf = Buffer.alloc(4)
    await fd.read(buf, 0, 4, 0)
    expect(buf.toString()).toBe('head')
    await fd.read(buf, 0, 4, size - 4)
    expect(buf.toString()).toBe('tail')
    await fd.close()
    // Never buffered whole: each daemon stays far below the file's size.
    expect(peak.owner).toBeLessThan(400 * 1024 * 1024)
    expect(peak.reader).toBeLessThan(400 * 1024 * 1024)
  }, 300_000)
})
