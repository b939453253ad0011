import { existsSync } from 'node:fs'
import { defineConfig } from 'vitest/config'
import react from '@vitejs/plugin-react'

// The end-to-end tests need Debian's Chromium (apt-get install chromium). Without it they are left
// out with a warning, unless SPARE_REQUIRE_BROWSER=1 (CI) makes a missing browser a failure.
const chromium = process.env.SPARE_CHROMIUM ?? '/usr/bin/chromium'
const e2e = existsSync(chromium) || process.env.SPARE_REQUIRE_BROWSER === '1'
if (!e2e) {
  console.warn(
    `\n!! ${chromium} not found: the e2e browser tests are left out (apt-get install chromium)\n`,
  )
}

// One runner for everything. Projects split by environment: the engine, daemon and CLI under
// Node; React components under jsdom; end-to-end tests drive real daemons and Debian's Chromium.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 60_000,
          // Real daemons are separate processes; two cores, so keep the files sequential.
          fileParallelism: false,
        },
      },
      {
        plugins: [react()],
        test: {
          name: 'renderer',
          include: ['renderer/**/*.test.{ts,tsx}'],
          environment: 'jsdom',
          setupFiles: ['renderer/test-setup.ts'],
        },
      },
      ...(e2e
        ? [
            {
              test: {
                name: 'e2e',
                include: ['test/e2e/**/*.test.ts'],
                environment: 'node',
                testTimeout: 180_000,
                hookTimeout: 90_000,
                fileParallelism: false,
              },
            },
          ]
        : []),
    ],
  },
})
