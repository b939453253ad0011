#!/usr/bin/env node
// Bundles the compute job runner (main/engine/compute/runner.ts, Node built-ins only) into one
// small file, dist/runner/compute-runner.mjs, that main/engine/compute/sandbox.ts starts for each
// job. A packaged app has no TypeScript sources, so it always uses this bundle.
//
// Usage: node scripts/build-runner.mjs [--quiet] [--outfile FILE]
// Also importable: buildRunner({ outfile }) (the sandbox tests bundle to a temp dir).
import { build } from 'esbuild'
import { builtinModules } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const defaultOutfile = path.join(root, 'dist', 'runner', 'compute-runner.mjs')

/** The runner may import Node built-ins only: anything else fails the build. */
const builtinsOnly = {
  name: 'builtins-only',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      const name = args.path.replace(/^node:/, '')
      if (builtinModules.includes(name)) return { path: args.path, external: true }
      return {
        errors: [{ text: `the compute runner may import Node built-ins only: ${args.path}` }],
      }
    })
  },
}

export async function buildRunner({ outfile = defaultOutfile, quiet = false } = {}) {
  await build({
    entryPoints: [path.join(root, 'main/engine/compute/runner.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    plugins: [builtinsOnly],
    logLevel: quiet ? 'error' : 'info',
  })
  return outfile
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const i = process.argv.indexOf('--outfile')
  const outfile = i > 0 && process.argv[i + 1] ? path.resolve(process.argv[i + 1]) : defaultOutfile
  try {
    await buildRunner({ outfile, quiet: process.argv.includes('--quiet') })
  } catch {
    process.exitCode = 1 // esbuild has printed the errors
  }
}
