// A dishonest CPU donor for tests: Spare's own compute code, except that it runs nothing and
// answers every job at once. Two ways of cheating:
// - lying: with a made-up output (and a hash that matches it, so only a quorum can tell).
//   Submitters must outvote it and give it no credit.
// - greedy: with the right output (OUTPUT_FILE: it computed it before), claiming it started an
//   hour before and used that hour of CPU. The claim fits its own made-up period, so only the
//   submitter's clock can tell. Submitters must not credit it for time it did not spend.
// Prints one line of JSON on stdout: {"identity": HEX, "ledger": HEX}.
//
// usage: node --import tsx test/helpers/fake-donor.ts BOOTSTRAP DATA_DIR lying|greedy [OUTPUT_FILE]
import { promises as fs } from 'node:fs'
import type { RunResult } from '../../main/engine/compute/sandbox.ts'
import { openComputePeer } from './child-peer.ts'

const [bootstrapArg, dataDir, mode, outputFile] = process.argv.slice(2)
if (!bootstrapArg || !dataDir || !(mode === 'lying' || (mode === 'greedy' && outputFile))) {
  process.stderr.write('usage: fake-donor BOOTSTRAP DATA_DIR lying|greedy [OUTPUT_FILE]\n')
  process.exit(2)
}
const {
  identity,
  ledger,
  compute,
  stop: close,
} = await openComputePeer(bootstrapArg, dataDir, {
  cpuPercent: 100,
  cpuCores: 2,
  suspendAboveOtherPercent: null,
})

interface LiveRun {
  record: { state: string; startedAt: number | null }
}
interface Internals {
  finishRun: (run: LiveRun, res: RunResult) => void
  startRun: (run: LiveRun) => void
}
const inside = compute as unknown as Internals
const realFinish = inside.finishRun.bind(compute)
const HOUR = 3600_000
// Answering at once, it is always among the answers a quorum is counted from.
const answer: { output: Buffer; claimedMs: number } =
  mode === 'greedy'
    ? { output: await fs.readFile(outputFile!), claimedMs: HOUR }
    : { output: Buffer.from('a made-up answer'), claimedMs: 5 }
inside.startRun = (run: LiveRun) => {
  run.record.state = 'running'
  run.record.startedAt = Date.now() - (mode === 'greedy' ? HOUR : 0)
  setTimeout(() => {
    realFinish(run, {
      ok: true,
      output: answer.output,
      cpuMs: answer.claimedMs,
      wallMs: answer.claimedMs,
      peakRssBytes: 0,
    })
  }, 20)
}

await compute.open()
process.stdout.write(
  `${JSON.stringify({ identity: identity.publicKey.toString('hex'), ledger: ledger.core.key.toString('hex') })}\n`,
)

const stop = async (): Promise<void> => {
  await close()
  process.exit(0)
}
process.on('SIGTERM', () => void stop())
process.on('SIGINT', () => void stop())
