#!/usr/bin/env node
// Bundles the Electron main process and its preload with esbuild (npm run build:main):
//
//   main/app/main.ts    -> dist/main/app/main.cjs     platform node, CommonJS. Every package.json
//                                                     "dependency" stays in node_modules (native and
//                                                     Holepunch modules must), except the ESM-only
//                                                     ones, which a CommonJS require can't load
//                                                     cleanly: those are bundled.
//   main/app/preload.ts -> dist/main/app/preload.cjs  sandboxed preload: all bundled but electron.
//   build/tray/*.png    -> dist/tray/                 the tray icons, inside the packaged files.
//
// Usage: node scripts/build-main.mjs [--watch] [--quiet]
// Also importable: buildMain({ outDir }) (test/unit/app-main-harness.test.ts bundles to a temp dir).
import { build, context } from 'esbuild'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const requireFromRoot = createRequire(path.join(root, 'package.json'))

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'))
}

/** The nearest package.json "type" above a file. */
function moduleTypeOf(file) {
  for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'package.json')
    if (fs.existsSync(candidate)) return readJson(candidate).type ?? 'commonjs'
  }
  return 'commonjs'
}

/**
 * True when require() of a package would load an ES module, or nothing. esbuild's CommonJS output
 * would then see a namespace object where the code expects a default export (env-paths, say).
 */
export function isEsmOnly(name) {
  let resolved
  try {
    resolved = requireFromRoot.resolve(name)
  } catch {
    return true
  }
  if (resolved.endsWith('.cjs')) return false
  if (resolved.endsWith('.mjs')) return true
  return moduleTypeOf(resolved) === 'module'
}

/** The packages left to node_modules at run time: electron and the requirable dependencies. */
export function mainExternals() {
  const dependencies = Object.keys(readJson(path.join(root, 'package.json')).dependencies ?? {})
  return ['electron', ...dependencies.filter((name) => !isEsmOnly(name))]
}

/**
 * In a CommonJS bundle `import.meta.url` is empty. Source files that find things relative to
 * themselves (package.json, renderer/dist) get the URL their source file would have relative to
 * the bundle instead (dist/main/app/../../../main/engine/version.ts), so that
 * `new URL('../../package.json', import.meta.url)` finds the package root from source and inside
 * app.asar alike.
 */
function importMetaPlugin(outDir) {
  return {
    name: 'spare-import-meta',
    setup(b) {
      b.onLoad({ filter: /\.(ts|tsx|js|mjs)$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined
        const source = await fs.promises.readFile(args.path, 'utf8')
        if (!source.includes('import.meta')) return undefined
        const rel = path.relative(outDir, args.path).split(path.sep).join('/')
        const file = `require("node:path").join(__dirname, ${JSON.stringify(rel)})`
        const contents = source
          .replaceAll('import.meta.url', `require("node:url").pathToFileURL(${file}).href`)
          .replaceAll('import.meta.filename', file)
          .replaceAll('import.meta.dirname', `require("node:path").dirname(${file})`)
        const ext = path.extname(args.path).slice(1)
        return { contents, loader: ext === 'mjs' ? 'js' : ext }
      })
    },
  }
}

export function buildOptions({
  outDir = path.join(root, 'dist', 'main', 'app'),
  quiet = false,
} = {}) {
  const common = {
    bundle: true,
    format: 'cjs',
    sourcemap: 'linked',
    logLevel: quiet ? 'error' : 'warning',
    absWorkingDir: root,
    legalComments: 'none',
    outdir: outDir,
    outExtension: { '.js': '.cjs' },
  }
  return {
    main: {
      ...common,
      entryPoints: { main: path.join(root, 'main/app/main.ts') },
      platform: 'node',
      target: 'node20',
      external: mainExternals(),
      plugins: [importMetaPlugin(outDir)],
    },
    preload: {
      ...common,
      entryPoints: { preload: path.join(root, 'main/app/preload.ts') },
      // A sandboxed preload has no Node: only require('electron') and a few polyfills exist.
      platform: 'browser',
      target: 'chrome120',
      external: ['electron'],
    },
  }
}

export function copyTrayIcons(to = path.join(root, 'dist', 'tray')) {
  const from = path.join(root, 'build', 'tray')
  if (!fs.existsSync(from)) {
    console.warn('build-main: build/tray is missing; the tray will have no icon')
    return
  }
  fs.mkdirSync(to, { recursive: true })
  for (const name of fs.readdirSync(from)) {
    if (name.endsWith('.png')) fs.copyFileSync(path.join(from, name), path.join(to, name))
  }
}

/** Builds both bundles; rejects (after esbuild printed why) if either fails. */
export async function buildMain(opts = {}) {
  const options = buildOptions(opts)
  await Promise.all([build(options.main), build(options.preload)])
}

async function cli() {
  const quiet = process.argv.includes('--quiet')
  const options = buildOptions({ quiet })
  copyTrayIcons()
  if (process.argv.includes('--watch')) {
    const contexts = await Promise.all([context(options.main), context(options.preload)])
    await Promise.all(contexts.map((c) => c.watch()))
    console.log('build-main: watching main/app, main/engine and shared')
    return
  }
  const started = Date.now()
  try {
    await Promise.all([build(options.main), build(options.preload)])
  } catch {
    process.exitCode = 1 // esbuild has printed the errors
    return
  }
  if (!quiet) {
    console.log(`build-main: dist/main/app/{main,preload}.cjs in ${Date.now() - started} ms`)
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await cli()
}
