// The compute demo (npm run demo:compute), small: a Mandelbrot image split into strips, each run
// by two donor daemons, put back together, and checked pixel by pixel against JavaScript.
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { promises as fs } from 'node:fs'
import path from 'node:path'
import { Cleanup, tempDir } from '../helpers/daemon.ts'
import { VIEW, runDemo } from '../../scripts/demo-compute.ts'

let cleanup: Cleanup
beforeEach(() => {
  cleanup = new Cleanup()
})
afterEach(async () => {
  await cleanup.run()
})

/** The sample's iteration, in the same f64 order (examples/compute/README.md). */
function escape(cx: number, cy: number, maxIter: number): number {
  let zx = 0
  let zy = 0
  let n = 0
  while (n < maxIter) {
    const x2 = zx * zx
    const y2 = zy * zy
    if (x2 + y2 > 4) break
    zy = 2 * zx * zy + cy
    zx = x2 - y2 + cx
    n++
  }
  return Math.min(n, 255)
}

describe('compute demo', () => {
  it('renders a Mandelbrot image in strips across donors, identical to a local render', async () => {
    const [width, height, strips, iterations] = [72, 45, 4, 80]
    const out = path.join(await tempDir(cleanup), 'm.png')
    const lines: string[] = []
    const res = await runDemo({
      donors: 2,
      strips,
      width,
      height,
      iterations,
      out,
      log: (l) => lines.push(l),
    })

    const dx = (VIEW.x1 - VIEW.x0) / width
    const dy = (VIEW.y1 - VIEW.y0) / height
    const rowsPer = Math.ceil(height / strips)
    const expected = Buffer.alloc(width * height)
    for (let row = 0; row < height; row += rowsPer) {
      const y0 = VIEW.y0 + row * dy
      for (let j = 0; j < Math.min(rowsPer, height - row); j++) {
        for (let i = 0; i < width; i++) {
          expected[(row + j) * width + i] = escape(VIEW.x0 + i * dx, y0 + j * dy, iterations)
        }
      }
    }
    expect(res.pixels.equals(expected)).toBe(true)
    expect(res.jobs).toHaveLength(strips)
    // Every strip agreed by two donors; both donors did work.
    expect(Object.values(res.perDonor).reduce((a, b) => a + b, 0)).toBe(2 * strips)
    expect(Object.keys(res.perDonor)).toHaveLength(2)
    const png = await fs.readFile(out)
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10]))
    expect(png.readUInt32BE(16)).toBe(width)
    expect(png.readUInt32BE(20)).toBe(height)
    expect(lines.join('\n')).toMatch(/Wrote .*m\.png/)
  })
})
