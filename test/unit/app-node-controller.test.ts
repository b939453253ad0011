import { describe, expect, it, vi } from 'vitest'
import { NodeController, settlesWithin, type NodeHandle } from '../../main/app/node-controller.ts'

interface Deferred {
  promise: Promise<void>
  resolve: () => void
  reject: (e: unknown) => void
}

function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (e: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** A fake node whose open and close the test finishes by hand. */
function fakeFactory() {
  const log: string[] = []
  const opens: Deferred[] = []
  const closes: Deferred[] = []
  const factory = async (): Promise<NodeHandle> => {
    const n = opens.length
    log.push(`open ${n}`)
    const opened = deferred()
    opens.push(opened)
    await opened.promise
    return {
      service: { call: async () => n, subscribe: () => () => {} },
      close: async () => {
        log.push(`close ${n}`)
        const closed = deferred()
        closes.push(closed)
        await closed.promise
      },
    }
  }
  return { factory, log, opens, closes }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r))

describe('NodeController', () => {
  it('starts once however often start() is called', async () => {
    const f = fakeFactory()
    const c = new NodeController(f.factory)
    const phases: string[] = []
    c.onPhase((p) => phases.push(p))
    const a = c.start()
    const b = c.start()
    expect(a).toBe(b)
    await tick()
    expect(c.phase).toBe('starting')
    expect(c.service).toBeNull()
    f.opens[0]?.resolve()
    await a
    await c.start()
    expect(f.log).toEqual(['open 0'])
    expect(c.phase).toBe('running')
    expect(await c.service?.call('x', {})).toBe(0)
    expect(phases).toEqual(['starting', 'running'])
  })

  it('stops once, and quitting waits for the close', async () => {
    const f = fakeFactory()
    const c = new NodeController(f.factory)
    const started = c.start()
    await tick()
    f.opens[0]?.resolve()
    await started
    let stopped = false
    const s1 = c.stop().then(() => {
      stopped = true
    })
    const s2 = c.stop()
    await tick()
    expect(c.phase).toBe('stopping')
    expect(stopped).toBe(false)
    f.closes[0]?.resolve()
    await Promise.all([s1, s2])
    expect(stopped).toBe(true)
    expect(c.phase).toBe('stopped')
    expect(f.log).toEqual(['open 0', 'close 0'])
    await c.stop() // already stopped: nothing happens
    expect(f.log).toEqual(['open 0', 'close 0'])
  })

  it('stop() during a start waits for it, then closes', async () => {
    const f = fakeFactory()
    const c = new NodeController(f.factory)
    const started = c.start()
    const stopped = c.stop()
    await tick()
    f.opens[0]?.resolve()
    await started
    await tick()
    f.closes[0]?.resolve()
    await stopped
    expect(f.log).toEqual(['open 0', 'close 0'])
    expect(c.phase).toBe('stopped')
  })

  it('start() during a stop waits for the close, then opens again', async () => {
    const f = fakeFactory()
    const c = new NodeController(f.factory)
    const first = c.start()
    await tick()
    f.opens[0]?.resolve()
    await first
    const stopped = c.stop()
    const again = c.start()
    await tick()
    expect(f.log).toEqual(['open 0', 'close 0'])
    f.closes[0]?.resolve()
    await stopped
    await tick()
    f.opens[1]?.resolve()
    await again
    expect(f.log).toEqual(['open 0', 'close 0', 'open 1'])
    expect(c.phase).toBe('running')
  })

  it('a failed start leaves phase failed with the error, and stop() is a no-op', async () => {
    const c = new NodeController(async () => {
      throw new Error('locked by another Spare')
    })
    const errors: Array<string | undefined> = []
    c.onPhase((_p, err) => errors.push(err?.message))
    await expect(c.start()).rejects.toThrow('locked')
    expect(c.phase).toBe('failed')
    expect(c.error?.message).toBe('locked by another Spare')
    expect(errors).toEqual([undefined, 'locked by another Spare'])
    await c.stop()
    expect(c.phase).toBe('failed')
  })

  it('a close that throws still ends in stopped', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {})
    const c = new NodeController(async () => ({
      service: { call: async () => null, subscribe: () => () => {} },
      close: async () => {
        throw new Error('EBUSY')
      },
    }))
    await c.start()
    await expect(c.stop()).resolves.toBeUndefined()
    expect(c.phase).toBe('stopped')
    expect(logged).toHaveBeenCalledOnce()
    logged.mockRestore()
  })
})

describe('settlesWithin', () => {
  it('tells whether a promise settled in time', async () => {
    expect(await settlesWithin(Promise.resolve(), 50)).toBe(true)
    expect(await settlesWithin(Promise.reject(new Error('x')), 50)).toBe(true)
    expect(await settlesWithin(new Promise(() => {}), 20)).toBe(false)
  })
})
