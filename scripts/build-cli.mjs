#!/usr/bin/env node
// Bundles the `spare` CLI and daemon (main/daemon/cli.ts) into dist/cli/cli.mjs with esbuild, so
// `bin/spare` starts in a fraction of the time and memory that compiling TypeScript on the fly
// (tsx) costs. Packages stay in node_modules. dist/cli sits two levels below the root, like
// main/daemon, so `new URL('../../package.json', import.meta.url)` finds the same files.
import { build } from 'esbuild'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
await build({
  entryPoints: [path.join(root, 'main/daemon/cli.ts')],
  outdir: path.join(root, 'dist/cli'),
  outExtension: { '.js': '.mjs' },
  // The daemon (and with it every Holepunch module) loads only for `spare daemon`.
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: process.argv.includes('--quiet') ? 'error' : 'info',
})
