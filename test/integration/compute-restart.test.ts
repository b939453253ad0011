// A peer that crashes and starts again: its old connection is dead but only times out ~17 s
// later, and the new one (a fresh transport key, the same identity) comes meanwhile. The newest
// wins: compute must send to the new connection, and drop the old one, at once. Real parts: a
// local testnet, a real donor in this process, a real peer in a child process killed with SIGKILL
// (its sockets never closed).
import { describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { ROOT, tempDir, waitFor } from '../helpers/daemon.ts'
import { useLocalTestnet } from '../helpers/testnet-hook.ts'
import { computeNode } from '../helpers/compute-node.ts'

const t = useLocalTestnet()

interface Session {
  identity: string | null
  msg: { send(b: Buffer): void } | null
  conn: { remotePublicKey: Buffer }
}
interface Internals {
  sessions: Set<Session>
  sessionOf(identity: string): Session | null
  swarm: { peers: Map<string, unknown> }
}

/** Starts test/helpers/compute-client.ts on `dir`; resolves with the child and its identity. */
async function client(dir: string): Promise<{ child: ChildProcess; identity: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'test/helpers/compute-client.ts'), t.network, dir],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env },
  )
  t.cleanup.add(
    () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGKILL')
      }),
  )
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
  const identity = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const line = out.split('\n').find((l) => l.startsWith('{'))
      if (line) resolve((JSON.parse(line) as { identity: string }).identity)
    })
    child.once('exit', (code) => reject(new Error(`compute client exited ${code}: ${err}`)))
  })
  return { child, identity }
}

describe('a compute peer that crashes and comes back', () => {
  it('is sent to on its new connection, and its old one is dropped', async () => {
    const { compute } = await computeNode(t.cleanup, t.network, {
      cpuPercent: 100,
      cpuCores: 2,
      suspendAboveOtherPercent: null,
      allowOnBattery: true,
    })
    const d = compute as unknown as Internals
    const dir = await tempDir(t.cleanup, 'spare-client-')
    const first = await client(dir)
    const ofPeer = (): Session[] =>
      [...d.sessions].filter((s) => s.identity === first.identity && s.msg)
    await waitFor(() => ofPeer().length === 1, { timeoutMs: 30_000, what: 'the peer' })
    const old = ofPeer()[0]!

    first.child.kill('SIGKILL')
    await new Promise((r) => first.child.once('exit', r))
    const second = await client(dir)
    expect(second.identity).toBe(first.identity)
    // The new connection, proven by its hello.
    let fresh: Session | null = null
    await waitFor(
      () => {
        fresh = [...d.sessions].find((s) => s.identity === first.identity && s !== old) ?? null
        return fresh !== null
      },
      { timeoutMs: 30_000, what: 'the peer again' },
    )
    // Long before the old connection could time out (about 17 s): at once.
    expect(d.sessionOf(first.identity)).toBe(fresh)
    expect(ofPeer()).toEqual([fresh])
    await waitFor(() => d.swarm.peers.size === 1, { timeoutMs: 2000, what: 'one peer' })
  }, 90_000)
})
