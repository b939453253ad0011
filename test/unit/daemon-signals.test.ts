// `spare daemon` and its signals (main/daemon/daemon.ts), run in this process: the signals are
// emitted to its listeners, none is sent to the process.
import { describe, expect, it } from 'vitest'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { runDaemon } from '../../main/daemon/daemon.ts'
import { useFixtures } from '../helpers/unit-fixtures.ts'

const fx = useFixtures()

describe('runDaemon', () => {
  // BUG (main/daemon/daemon.ts): the SIGINT/SIGTERM handlers were installed only once the node
  // and the API were up, so a signal during startup (opening many folders can take a while) got
  // Node's default action: the process died on the spot, without closing anything. Here, with
  // no listener, the emitted signal was lost and the daemon ran on.
  it('a SIGTERM during startup stops the daemon cleanly once the node is open', async () => {
    const network = await fx.testnet()
    const dataDir = path.join(await fx.tmpDir(), 'data')
    const writes = process.stdout.write
    process.stdout.write = (() => true) as typeof process.stdout.write
    fx.defer(() => (process.stdout.write = writes))
    const before = process.listeners('SIGTERM').length
    const done = runDaemon({ dataDir, network, logLevel: 'warn' })
    let code: number | null = null
    void done.then((c) => (code = c))
    // If the signal is lost, stop the daemon the way it would have been stopped.
    fx.defer(async () => {
      if (code === null) {
        process.emit('SIGTERM', 'SIGTERM')
        await done
      }
    })
    process.emit('SIGTERM', 'SIGTERM')
    const result = await Promise.race([
      done,
      new Promise<'running'>((r) => setTimeout(() => r('running'), 10_000)),
    ])
    expect(result).toBe(0)
    expect(existsSync(path.join(dataDir, 'spare.lock'))).toBe(false)
    expect(existsSync(path.join(dataDir, 'api.json'))).toBe(false)
    expect(process.listeners('SIGTERM').length).toBe(before)
  })
})
