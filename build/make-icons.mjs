#!/usr/bin/env node
// Renders Spare's icons from their SVG sources with librsvg's rsvg-convert
// (Debian: apt-get install librsvg2-bin). The PNGs are committed, so nobody needs this to build;
// run it after changing an SVG:  node build/make-icons.mjs
//
//   build/icon.svg          -> build/icon.png (1024) and build/icons/NxN.png (16 ... 1024)
//   build/tray/tray-*.svg   -> build/tray/tray-STATE.png (16) and tray-STATE@2x.png (32)
//                              (written here from the templates below, one per tray state)
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = path.dirname(fileURLToPath(import.meta.url))
const APP_SIZES = [16, 32, 48, 64, 128, 256, 512, 1024]

// Tray icons: a coloured disc with a white glyph, legible on light and dark panels alike.
const cloud =
  '<g fill="#fff"><circle cx="12" cy="17.5" r="4.6"/><circle cx="17.5" cy="14" r="6"/>' +
  '<circle cx="22" cy="18.5" r="4"/><rect x="7.4" y="17.5" width="18.6" height="5" rx="2.5"/></g>'
const TRAY = {
  idle: { color: '#0f766e', glyph: cloud },
  syncing: {
    color: '#2563eb',
    glyph:
      '<g fill="none" stroke="#fff" stroke-width="2.8" stroke-linecap="round">' +
      '<path d="M9 16 A7 7 0 0 1 20.6 10.7"/><path d="M23 16 A7 7 0 0 1 11.4 21.3"/></g>' +
      '<g fill="#fff"><path d="M22.9 12.7 L17.9 12.5 L22.1 7.7 Z"/>' +
      '<path d="M9.1 19.3 L14.1 19.5 L9.9 24.3 Z"/></g>',
  },
  paused: {
    color: '#6b7280',
    glyph:
      '<g fill="#fff"><rect x="11" y="9.5" width="3.6" height="13" rx="1.2"/>' +
      '<rect x="17.4" y="9.5" width="3.6" height="13" rx="1.2"/></g>',
  },
  error: {
    color: '#dc2626',
    glyph:
      '<g fill="#fff"><rect x="14.3" y="7.5" width="3.4" height="11.5" rx="1.7"/>' +
      '<circle cx="16" cy="23.3" r="2.1"/></g>',
  },
}

function traySvg({ color, glyph }) {
  return (
    '<svg xmlns="http://www.w3.org/2000/svg" width="32" height="32" viewBox="0 0 32 32">' +
    `<circle cx="16" cy="16" r="15" fill="${color}"/>${glyph}</svg>\n`
  )
}

function render(svgFile, size, outFile) {
  execFileSync('rsvg-convert', ['-w', String(size), '-h', String(size), '-o', outFile, svgFile])
}

try {
  execFileSync('rsvg-convert', ['--version'], { stdio: 'ignore' })
} catch {
  console.error('make-icons: rsvg-convert is missing (Debian: apt-get install librsvg2-bin)')
  process.exit(1)
}

const appSvg = path.join(dir, 'icon.svg')
fs.mkdirSync(path.join(dir, 'icons'), { recursive: true })
for (const size of APP_SIZES) render(appSvg, size, path.join(dir, 'icons', `${size}x${size}.png`))
render(appSvg, 1024, path.join(dir, 'icon.png'))

fs.mkdirSync(path.join(dir, 'tray'), { recursive: true })
for (const [state, spec] of Object.entries(TRAY)) {
  const svg = path.join(dir, 'tray', `tray-${state}.svg`)
  fs.writeFileSync(svg, traySvg(spec))
  render(svg, 16, path.join(dir, 'tray', `tray-${state}.png`))
  render(svg, 32, path.join(dir, 'tray', `tray-${state}@2x.png`))
}
console.log(
  `make-icons: ${APP_SIZES.length + 1} app icons and ${Object.keys(TRAY).length * 2} tray icons`,
)
