#!/usr/bin/env node
// npm test: type checks, lint, then every Vitest project (unit, integration, renderer, e2e).
// Prints one closing line "Tests: N passed, N failed, N skipped" and exits with Vitest's code.
import { spawnSync } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', shell: false }).status ?? 1

for (const script of ['typecheck', 'lint']) {
  const code = run('npm', ['run', '--silent', script])
  if (code !== 0) {
    console.error(`npm test: \`npm run ${script}\` failed`)
    process.exit(code)
  }
}

const results = path.join(os.tmpdir(), `spare-vitest-${process.pid}.json`)
const code = run(process.execPath, [
  'node_modules/vitest/vitest.mjs',
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${results}`,
  ...process.argv.slice(2),
])
try {
  const r = JSON.parse(readFileSync(results, 'utf8'))
  const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0)
  console.log(`Tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`)
} catch {
  console.log('Tests: 0 passed, 1 failed (no results were written)')
} finally {
  rmSync(results, { force: true })
}
process.exit(code)
