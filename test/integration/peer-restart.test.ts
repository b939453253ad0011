// A member that crashes (kill -9) and starts again: its old connection is dead but only times out
// about 17 s later, and the new one comes meanwhile, from a fresh transport key. The node hello
// on the swarm tells it is the same node: the old connection is dropped, and the peer counted
// once, at once. Real daemons on a local testnet.
import { describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { FolderSummary, NodeStatus, Peer } from '../../shared/contract.ts'
import { startDaemon, tempDir, waitFor } from '../helpers/daemon.ts'
import { useLocalTestnet } from '../helpers/testnet-hook.ts'

const t = useLocalTestnet()

describe('a peer that crashes and comes back', () => {
  it('is counted once, on its new connection', async () => {
    const a = await startDaemon(t.cleanup, t.network)
    const b = await startDaemon(t.cleanup, t.network)
    const dirA = path.join(await tempDir(t.cleanup), 'a')
    await fs.mkdir(dirA)
    const { folder } = await a.json<{ folder: FolderSummary }>(['share', dirA])
    const { invite } = await a.json<{ invite: string }>(['invite', folder.id])
    await b.json(['join', invite, path.join(await tempDir(t.cleanup), 'b')])
    const peersOf = (): Promise<Peer[]> => a.json<Peer[]>(['peers'])
    await waitFor(async () => (await peersOf()).length === 1, { what: 'b connected' })
    const [old] = await peersOf()

    await b.kill9()
    await b.start()
    // The new connection (a fresh transport key). Without the hello the old one stays beside it
    // until it times out; with it, the old one is gone by the time the new one is counted.
    await waitFor(async () => (await peersOf()).some((p) => p.id !== old!.id), {
      timeoutMs: 30_000,
      what: 'b again',
    })
    await waitFor(async () => (await peersOf()).length === 1, {
      timeoutMs: 5000,
      what: 'the old connection dropped',
    })
    expect((await peersOf())[0]!.id).not.toBe(old!.id)
    expect((await a.json<NodeStatus>(['status'])).peers).toBe(1)
  }, 120_000)
})
