import { afterEach, describe, expect, it } from 'vitest'
import {
  DonateLimitsSchema,
  Governor,
  diskBudget,
  noLimits,
  planEviction,
  statfs,
  type DonateLimits,
  type FsStats,
  type HostedItem,
} from '../../../main/engine/limits/governor.ts'
import { useFixtures } from '../../helpers/unit-fixtures.ts'

const fx = useFixtures()

const GB = 1e9

function limits(o: Partial<DonateLimits> = {}): DonateLimits {
  return { ...noLimits(), ...o }
}

describe('DonateLimitsSchema', () => {
  it('defaults to donating nothing: no disk, no CPU, no throttling; one core and BOINC defaults', () => {
    expect(noLimits()).toEqual({
      diskBytes: null,
      diskPercent: null,
      leaveFreeBytes: null,
      upBytesPerSec: null,
      downBytesPerSec: null,
      cpuPercent: null,
      cpuCores: 1,
      onlyIdleMs: null,
      suspendAboveOtherPercent: 25,
      allowOnBattery: false,
      schedule: null,
      jobMemoryBytes: 256 * 1024 * 1024,
      jobWallMs: 10 * 60 * 1000,
    })
  })

  it('refuses nonsense', () => {
    for (const bad of [
      { diskBytes: -1 },
      { diskBytes: 1.5 },
      { diskPercent: 0 },
      { diskPercent: 101 },
      { leaveFreeBytes: -1 },
      { upBytesPerSec: 0 },
      { downBytesPerSec: -5 },
      { diskBytes: 2e18 },
      { cpu: 4 },
    ]) {
      expect(DonateLimitsSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false)
    }
  })
})

describe('diskBudget', () => {
  // A 1 TB disk with 300 GB free; hosted data uses 40 GB of it.
  const disk: FsStats = { total: 1000 * GB, free: 300 * GB }
  const used = 40 * GB

  it.each<[string, Partial<DonateLimits>, number, string]>([
    ['no limit set: donating is opt-in', {}, 0, 'none'],
    ['disk only', { diskBytes: 50 * GB }, 50 * GB, 'disk'],
    ['percent only', { diskPercent: 20 }, 200 * GB, 'percent'],
    ['leaveFree only', { leaveFreeBytes: 100 * GB }, 240 * GB, 'leaveFree'],
    [
      'disk binds',
      { diskBytes: 50 * GB, diskPercent: 20, leaveFreeBytes: 10 * GB },
      50 * GB,
      'disk',
    ],
    [
      'percent binds',
      { diskBytes: 500 * GB, diskPercent: 10, leaveFreeBytes: 10 * GB },
      100 * GB,
      'percent',
    ],
    [
      'leaveFree binds',
      { diskBytes: 500 * GB, diskPercent: 50, leaveFreeBytes: 280 * GB },
      60 * GB,
      'leaveFree',
    ],
    ['equal caps name disk first', { diskBytes: 200 * GB, diskPercent: 20 }, 200 * GB, 'disk'],
    ['a 0 disk limit donates nothing', { diskBytes: 0, diskPercent: 20 }, 0, 'disk'],
  ])('%s', (_name, set, budget, binding) => {
    const r = diskBudget(limits(set), used, disk)
    expect(r.budget).toBe(budget)
    expect(r.binding).toBe(binding)
  })

  it('reports the cap of every set rule and null for the others', () => {
    const r = diskBudget(limits({ diskBytes: 50 * GB, leaveFreeBytes: 100 * GB }), used, disk)
    expect(r.byRule).toEqual({ disk: 50 * GB, percent: null, leaveFree: 240 * GB })
  })

  it('leaveFree on a disk already fuller than that allows no growth', () => {
    const full: FsStats = { total: 1000 * GB, free: 5 * GB }
    const r = diskBudget(limits({ leaveFreeBytes: 10 * GB }), used, full)
    expect(r.budget).toBeLessThanOrEqual(used)
    expect(r.budget).toBe(used)
    expect(r.binding).toBe('leaveFree')
    // Exactly at the line: no growth either.
    expect(
      diskBudget(limits({ leaveFreeBytes: 10 * GB }), used, { ...full, free: 10 * GB }).budget,
    ).toBe(used)
  })

  it('a percent limit below current usage gives a budget below usage (eviction follows)', () => {
    const r = diskBudget(limits({ diskPercent: 1 }), used, disk)
    expect(r.budget).toBe(10 * GB)
    expect(
      planEviction([{ id: 'a', bytes: used, lastNeededAt: 0, priority: 0 }], used, r.budget),
    ).toEqual(['a'])
  })
})

describe('planEviction', () => {
  const item = (id: string, bytes: number, lastNeededAt: number, priority = 0): HostedItem => ({
    id,
    bytes,
    lastNeededAt,
    priority,
  })

  it('evicts nothing when usage fits', () => {
    expect(planEviction([item('a', 10, 1)], 10, 10)).toEqual([])
    expect(planEviction([], 0, 0)).toEqual([])
  })

  it('lowest priority first, whatever the recency or size', () => {
    const items = [item('keep', 10, 1, 5), item('low', 10, 999, 1), item('mid', 10, 1, 3)]
    expect(planEviction(items, 30, 20)).toEqual(['low'])
    expect(planEviction(items, 30, 10)).toEqual(['low', 'mid'])
  })

  it('then least recently needed first', () => {
    const items = [item('new', 10, 300), item('old', 10, 100), item('mid', 10, 200)]
    expect(planEviction(items, 30, 15)).toEqual(['old', 'mid'])
  })

  it('then largest first', () => {
    const items = [item('small', 5, 100), item('big', 50, 100), item('medium', 20, 100)]
    expect(planEviction(items, 75, 30)).toEqual(['big'])
    expect(planEviction(items, 75, 10)).toEqual(['big', 'medium'])
  })

  it('then by id, so the plan is deterministic', () => {
    const items = [item('b', 10, 1), item('a', 10, 1), item('c', 10, 1)]
    expect(planEviction(items, 30, 15)).toEqual(['a', 'b'])
  })

  it('stops as soon as usage fits', () => {
    const items = [item('a', 10, 1), item('b', 10, 2), item('c', 10, 3)]
    expect(planEviction(items, 30, 29)).toEqual(['a'])
    expect(planEviction(items, 30, 20)).toEqual(['a'])
    expect(planEviction(items, 30, 19)).toEqual(['a', 'b'])
  })

  it('evicts everything when even that does not fit (usage the items do not account for)', () => {
    const items = [item('a', 10, 1), item('b', 10, 2)]
    expect(planEviction(items, 100, 50)).toEqual(['a', 'b'])
    expect(planEviction(items, 20, 0)).toEqual(['a', 'b'])
  })

  it('does not reorder its input', () => {
    const items = [item('b', 10, 2), item('a', 10, 1)]
    planEviction(items, 20, 0)
    expect(items.map((i) => i.id)).toEqual(['b', 'a'])
  })
})

describe('Governor', () => {
  let governor: Governor | null = null
  afterEach(() => governor?.destroy())

  it('budgets against the injected statfs and accepts a batch only while it fits', async () => {
    const seen: string[] = []
    let stats: FsStats = { total: 1000 * GB, free: 300 * GB }
    governor = new Governor({
      dir: '/data',
      limits: limits({ diskBytes: 50 * GB, leaveFreeBytes: 10 * GB }),
      statfs: async (dir) => {
        seen.push(dir)
        return stats
      },
    })
    expect(await governor.budget(40 * GB)).toMatchObject({ budget: 50 * GB, binding: 'disk' })
    expect(seen).toEqual(['/data'])
    expect(await governor.canAccept(40 * GB, 10 * GB)).toBe(true)
    expect(await governor.canAccept(40 * GB, 10 * GB + 1)).toBe(false)

    // The user's own files grow: 12 GB free leaves room for 2 GB more.
    stats = { total: 1000 * GB, free: 12 * GB }
    expect(await governor.budget(40 * GB)).toMatchObject({ budget: 42 * GB, binding: 'leaveFree' })
    expect(await governor.canAccept(40 * GB, 2 * GB)).toBe(true)
    expect(await governor.canAccept(40 * GB, 2 * GB + 1)).toBe(false)
  })

  it('accepts nothing with no disk limit set', async () => {
    governor = new Governor({ dir: '/d', statfs: async () => ({ total: 1e12, free: 1e12 }) })
    expect(await governor.canAccept(0, 1)).toBe(false)
    expect(await governor.canAccept(0, 0)).toBe(true)
    expect((await governor.budget(0)).binding).toBe('none')
  })

  it('setLimits validates, applies and retunes the rate buckets', async () => {
    governor = new Governor({ dir: '/d', statfs: async () => ({ total: 100 * GB, free: 50 * GB }) })
    expect(governor.up.ratePerSec).toBeNull()
    governor.setLimits(limits({ diskPercent: 20, upBytesPerSec: 2e6, downBytesPerSec: 5e6 }))
    expect(governor.limits.diskPercent).toBe(20)
    expect(governor.up.ratePerSec).toBe(2e6)
    expect(governor.down.ratePerSec).toBe(5e6)
    expect((await governor.budget(0)).budget).toBe(20 * GB)
    expect(() => governor!.setLimits(limits({ diskPercent: 200 }))).toThrow()
    expect(governor.limits.diskPercent).toBe(20)
    governor.setLimits(noLimits())
    expect(governor.up.ratePerSec).toBeNull()
  })

  it('limits is a copy', () => {
    governor = new Governor({ dir: '/d', limits: limits({ diskBytes: 5 }) })
    const l = governor.limits
    l.diskBytes = 99
    expect(governor.limits.diskBytes).toBe(5)
  })

  it('status reports limits, usage, the file system and each cap', async () => {
    governor = new Governor({
      dir: '/d',
      limits: limits({ diskBytes: 50 * GB, diskPercent: 20 }),
      statfs: async () => ({ total: 100 * GB, free: 60 * GB }),
    })
    expect(await governor.status(5 * GB)).toEqual({
      limits: limits({ diskBytes: 50 * GB, diskPercent: 20 }),
      usedBytes: 5 * GB,
      fs: { total: 100 * GB, free: 60 * GB },
      disk: {
        budget: 20 * GB,
        binding: 'percent',
        byRule: { disk: 50 * GB, percent: 20 * GB, leaveFree: null },
      },
    })
  })

  it('the default statfs reads the real file system', async () => {
    const dir = await fx.tmpDir()
    const s = await statfs(dir)
    expect(s.total).toBeGreaterThan(0)
    expect(s.free).toBeGreaterThanOrEqual(0)
    expect(s.free).toBeLessThanOrEqual(s.total)
    governor = new Governor({ dir, limits: limits({ diskPercent: 100 }) })
    expect((await governor.budget(0)).budget).toBe(Math.floor(s.total))
  })
})
