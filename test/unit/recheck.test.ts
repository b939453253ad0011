// Recheck: each path is looked at again its own delay after its own write, not with the first
// of a burst (a path written late in a burst would otherwise be looked at almost at once).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Recheck } from '../../main/engine/folders/recheck.ts'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

function recorder(): { seen: Array<[number, string[]]>; r: Recheck; t0: number } {
  const seen: Array<[number, string[]]> = []
  const t0 = Date.now()
  const r = new Recheck(750, (keys) => seen.push([Date.now() - t0, keys]))
  return { seen, r, t0 }
}

describe('Recheck', () => {
  it('looks at each path its own delay after it was written', () => {
    const { seen, r } = recorder()
    r.add('/a')
    vi.advanceTimersByTime(740)
    r.add('/b')
    vi.advanceTimersByTime(10)
    expect(seen).toEqual([[750, ['/a']]])
    vi.advanceTimersByTime(739)
    expect(seen).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(seen).toEqual([
      [750, ['/a']],
      [1490, ['/b']],
    ])
  })

  it('takes the paths due together in one call, and a path written again waits again', () => {
    const { seen, r } = recorder()
    r.add('/a')
    r.add('/b')
    vi.advanceTimersByTime(500)
    r.add('/a') // written again
    vi.advanceTimersByTime(250)
    expect(seen).toEqual([[750, ['/b']]])
    vi.advanceTimersByTime(500)
    expect(seen).toEqual([
      [750, ['/b']],
      [1250, ['/a']],
    ])
    vi.advanceTimersByTime(5000)
    expect(seen).toHaveLength(2)
  })

  it('does nothing once closed, and takes nothing after', () => {
    const { seen, r } = recorder()
    r.add('/a')
    r.close()
    r.add('/b')
    vi.advanceTimersByTime(5000)
    expect(seen).toEqual([])
    expect(vi.getTimerCount()).toBe(0)
  })
})
