// The per-test setup of the tests that run nodes or daemons on a local testnet: a fresh Cleanup
// and testnet before each test, everything torn down after it. (Kept out of daemon.ts, which
// scripts outside vitest use too.)
import { afterEach, beforeEach } from 'vitest'
import { Cleanup, localTestnet } from './daemon.ts'

export interface TestnetHook {
  /** The current test's teardown steps. */
  readonly cleanup: Cleanup
  /** The current test's testnet, as `host:port,...`. */
  readonly network: string
}

/** Call once at the top of a test file; read `cleanup` and `network` inside the tests. */
export function useLocalTestnet(): TestnetHook {
  const hook = { cleanup: new Cleanup(), network: '' }
  beforeEach(async () => {
    hook.cleanup = new Cleanup()
    hook.network = await localTestnet(hook.cleanup)
  })
  afterEach(async () => {
    await hook.cleanup.run()
  })
  return hook
}
