// waitAtMost: used where a wait must end (a tree read ahead, a ledger update from peers).
// Breather: lets the event loop run during a long walk (reading a log, applying a pass).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Breather, waitAtMost } from '../../main/engine/util/wait.ts'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('waitAtMost', () => {
  it('ends when the promise settles first, and leaves no timer behind', async () => {
    let settle: () => void = () => {}
    const p = new Promise<void>((resolve) => (settle = resolve))
    const done = vi.fn()
    const waiting = waitAtMost(p, 1000).then(done)
    await vi.advanceTimersByTimeAsync(100)
    expect(done).not.toHaveBeenCalled()
    settle()
    await waiting
    expect(vi.getTimerCount()).toBe(0)
  })

  it('ends after the time when the promise never settles', async () => {
    const done = vi.fn()
    const waiting = waitAtMost(new Promise(() => {}), 1000).then(done)
    await vi.advanceTimersByTimeAsync(999)
    expect(done).not.toHaveBeenCalled()
    await vi.advanceTimersByTimeAsync(1)
    await waiting
    expect(done).toHaveBeenCalledOnce()
  })

  it('rejects with the promise, in time, and clears its timer', async () => {
    await expect(waitAtMost(Promise.reject(new Error('no peers')), 1000)).rejects.toThrow(
      'no peers',
    )
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('Breather', () => {
  it('is due once its time has passed, and a pause lets ready timers and I/O run', async () => {
    vi.useRealTimers()
    const b = new Breather(30)
    expect(b.due()).toBe(false)
    let ticked = false
    setTimeout(() => (ticked = true), 0)
    // A walk with nothing to wait for: only a pause lets the timer run.
    const start = performance.now()
    while (!b.due()) {
      /* busy, as a loop over ops already in memory */
    }
    expect(performance.now() - start).toBeGreaterThanOrEqual(29)
    await Promise.resolve() // a microtask is not a pause
    expect(ticked).toBe(false)
    await b.pause()
    expect(ticked).toBe(true)
    expect(b.due()).toBe(false) // counted again from the pause
  })
})
