import { describe, expect, it } from 'vitest'
import { MAX_DIFF_CELLS, diffLines, splitLines } from './line-diff.ts'

const changed = (lines: Array<{ text: string; changed: boolean }>) =>
  lines.filter((l) => l.changed).map((l) => l.text)

describe('splitLines', () => {
  it('splits on \\n and \\r\\n, without an empty line for a final newline', () => {
    expect(splitLines('')).toEqual([])
    expect(splitLines('a')).toEqual(['a'])
    expect(splitLines('a\n')).toEqual(['a'])
    expect(splitLines('a\r\nb\n\nc')).toEqual(['a', 'b', '', 'c'])
  })
})

describe('diffLines', () => {
  it('marks nothing for equal texts', () => {
    const d = diffLines('a\nb\nc\n', 'a\nb\nc\n')
    expect(d.changedLeft + d.changedRight).toBe(0)
    expect(d.left.map((l) => l.text)).toEqual(['a', 'b', 'c'])
  })

  it('marks a changed line on both sides and added or removed lines on their side', () => {
    const d = diffLines('title\nkeep\nold line\nend\n', 'title\nkeep\nnew line\nextra\nend\n')
    expect(changed(d.left)).toEqual(['old line'])
    expect(changed(d.right)).toEqual(['new line', 'extra'])
    expect(d).toMatchObject({ changedLeft: 1, changedRight: 2, approximate: false })
  })

  it('finds the common lines in the middle, not only at the ends', () => {
    const d = diffLines('x\na\ny\nb\nz', 'a\nq\nb')
    expect(changed(d.left)).toEqual(['x', 'y', 'z'])
    expect(changed(d.right)).toEqual(['q'])
  })

  it('marks everything when one side is empty', () => {
    const d = diffLines('', 'one\ntwo\n')
    expect(d.left).toEqual([])
    expect(changed(d.right)).toEqual(['one', 'two'])
  })

  it('marks the whole middle when it is too big for the table', () => {
    const side = (tag: string) =>
      ['same start', ...Array.from({ length: 2100 }, (_, i) => `${tag} ${i}`), 'same end'].join(
        '\n',
      )
    expect(2101 * 2101).toBeGreaterThan(MAX_DIFF_CELLS)
    const d = diffLines(side('left'), side('right'))
    expect(d.approximate).toBe(true)
    expect(d.left[0]?.changed).toBe(false)
    expect(d.left.at(-1)?.changed).toBe(false)
    expect(d.changedLeft).toBe(2100)
    expect(d.changedRight).toBe(2100)
  })
})
