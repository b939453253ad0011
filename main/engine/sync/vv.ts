// Version vectors: one counter per device that ever changed a path. A version that another
// version's vector dominates is history; two vectors neither of which dominates the other are a
// conflict. Devices are named by the first 12 hex characters of their writer log's key.
export type VersionVector = Readonly<Record<string, number>>

export type Order = 'equal' | 'before' | 'after' | 'concurrent'

/** How `a` relates to `b`: 'before' means b dominates a. */
export function compare(a: VersionVector, b: VersionVector): Order {
  let less = false
  let greater = false
  for (const k of Object.keys(a)) {
    const x = a[k] ?? 0
    const y = b[k] ?? 0
    if (x < y) less = true
    else if (x > y) greater = true
  }
  for (const k of Object.keys(b)) {
    if (k in a) continue
    if ((b[k] ?? 0) > 0) less = true
  }
  if (less && greater) return 'concurrent'
  if (less) return 'before'
  if (greater) return 'after'
  return 'equal'
}

/** Pointwise maximum: the smallest vector that dominates or equals every input. */
export function merge(...vvs: VersionVector[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const vv of vvs) {
    for (const [k, v] of Object.entries(vv)) {
      if (v > (out[k] ?? 0)) out[k] = v
    }
  }
  return sortKeys(out)
}

/** `vv` with `device`'s counter set to `counter` (which must be above its current value). */
export function bump(vv: VersionVector, device: string, counter: number): Record<string, number> {
  return sortKeys({ ...vv, [device]: Math.max(counter, (vv[device] ?? 0) + 1) })
}

export function equal(a: VersionVector, b: VersionVector): boolean {
  return compare(a, b) === 'equal'
}

/** A canonical string for a vector, for map keys and stable ordering. */
export function vvKey(vv: VersionVector): string {
  return Object.keys(vv)
    .filter((k) => (vv[k] ?? 0) > 0)
    .sort()
    .map((k) => `${k}:${vv[k]}`)
    .join(',')
}

function sortKeys(vv: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const k of Object.keys(vv).sort()) if ((vv[k] ?? 0) > 0) out[k] = vv[k] as number
  return out
}
