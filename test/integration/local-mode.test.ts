// The `local` network mode: daemons on one machine find each other with no other setup, and keep
// doing so after the daemon hosting the embedded bootstrap node leaves.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import type { NodeStatus } from '../../shared/contract.ts'
import { Cleanup, startDaemon, tempDir, waitForSameTree } from '../helpers/daemon.ts'

let cleanup: Cleanup
beforeEach(() => {
  cleanup = new Cleanup()
})
afterEach(async () => {
  await cleanup.run()
})

describe('the local network mode', () => {
  it('connects daemons with no bootstrap given, and survives the bootstrap host leaving', async () => {
    const src = await tempDir(cleanup, 'spare-src-')
    await fs.writeFile(path.join(src, 'hello.txt'), 'hello\n')
    // The first local daemon hosts the bootstrap node on 127.0.0.1:49737.
    const owner = await startDaemon(cleanup, 'local')
    const status = await owner.json<NodeStatus>(['status'])
    expect(status.network).toEqual({ mode: 'local', bootstrap: ['127.0.0.1:49737'] })
    const r1 = await startDaemon(cleanup, 'local')
    const { invite } = await owner.json<{ invite: string }>(['share', src, '--publish'])
    const dst1 = path.join(await tempDir(cleanup), 'm1')
    expect((await r1.cli(['join', invite, dst1])).code).toBe(0)
    await waitForSameTree(src, dst1)

    // The host leaves: another local daemon takes the port over; a newcomer still finds r1.
    expect(await owner.stop()).toBe(0)
    const r2 = await startDaemon(cleanup, 'local')
    const dst2 = path.join(await tempDir(cleanup), 'm2')
    expect((await r2.cli(['join', invite, dst2])).code).toBe(0)
    await waitForSameTree(src, dst2)

    // The owner comes back with a change; both readers get it.
    await owner.start()
    await fs.writeFile(path.join(src, 'later.txt'), 'later\n')
    await waitForSameTree(src, dst1)
    await waitForSameTree(src, dst2)
  })
})
