// Which lines of two texts differ: a longest common subsequence over lines, enough to highlight
// the differences between the two sides of a conflict (each preview is at most 16 KiB).

export interface DiffLine {
  text: string
  /** Not part of the longest common subsequence: changed, added or removed on this side. */
  changed: boolean
}

export interface LineDiff {
  left: DiffLine[]
  right: DiffLine[]
  /** Lines marked changed on either side. */
  changedLeft: number
  changedRight: number
  /**
   * The middle (after the common start and end) was too big to compare line by line: all of it
   * is marked changed.
   */
  approximate: boolean
}

/** The table the LCS fills has at most this many cells (2 bytes each). */
export const MAX_DIFF_CELLS = 4_000_000

/** A text's lines: split on \n or \r\n; a final newline doesn't make an empty last line. */
export function splitLines(text: string): string[] {
  if (text === '') return []
  const lines = text.split(/\r?\n/)
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}

export function diffLines(leftText: string, rightText: string): LineDiff {
  const a = splitLines(leftText)
  const b = splitLines(rightText)
  const left: DiffLine[] = a.map((text) => ({ text, changed: false }))
  const right: DiffLine[] = b.map((text) => ({ text, changed: false }))

  // The common start and end need no table.
  let start = 0
  while (start < a.length && start < b.length && a[start] === b[start]) start++
  let endA = a.length
  let endB = b.length
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--
    endB--
  }
  const n = endA - start
  const m = endB - start
  let approximate = false

  if (n > 0 && m > 0 && (n + 1) * (m + 1) > MAX_DIFF_CELLS) {
    approximate = true
    for (let i = start; i < endA; i++) (left[i] as DiffLine).changed = true
    for (let j = start; j < endB; j++) (right[j] as DiffLine).changed = true
  } else if (n === 0 || m === 0) {
    for (let i = start; i < endA; i++) (left[i] as DiffLine).changed = true
    for (let j = start; j < endB; j++) (right[j] as DiffLine).changed = true
  } else {
    // lcs[i][j]: the LCS length of a[start+i..endA) and b[start+j..endB). Lines are at most
    // 16 Ki, so lengths fit in 16 bits.
    const width = m + 1
    const lcs = new Uint16Array((n + 1) * width)
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * width + j] =
          a[start + i] === b[start + j]
            ? (lcs[(i + 1) * width + j + 1] as number) + 1
            : Math.max(lcs[(i + 1) * width + j] as number, lcs[i * width + j + 1] as number)
      }
    }
    let i = 0
    let j = 0
    while (i < n && j < m) {
      if (a[start + i] === b[start + j]) {
        i++
        j++
      } else if ((lcs[(i + 1) * width + j] as number) >= (lcs[i * width + j + 1] as number)) {
        ;(left[start + i] as DiffLine).changed = true
        i++
      } else {
        ;(right[start + j] as DiffLine).changed = true
        j++
      }
    }
    for (; i < n; i++) (left[start + i] as DiffLine).changed = true
    for (; j < m; j++) (right[start + j] as DiffLine).changed = true
  }

  return {
    left,
    right,
    changedLeft: left.filter((l) => l.changed).length,
    changedRight: right.filter((l) => l.changed).length,
    approximate,
  }
}
