// A compute node in a child process that looks up the compute topic (as a submitter does), for
// tests that kill it the hard way (SIGKILL: its connections end without a word) and start it
// again on the same data dir: the same identity, a fresh transport key.
// Prints one line of JSON on stdout: {"identity": HEX}.
//
// usage: node --import tsx test/helpers/compute-client.ts BOOTSTRAP DATA_DIR
import { COMPUTE_TOPIC } from '../../main/engine/compute/compute.ts'
import { openComputePeer } from './child-peer.ts'

const [bootstrapArg, dataDir] = process.argv.slice(2)
if (!bootstrapArg || !dataDir) {
  process.stderr.write('usage: compute-client BOOTSTRAP DATA_DIR\n')
  process.exit(2)
}
const { identity, compute } = await openComputePeer(bootstrapArg, dataDir)
await compute.open()
// A submitter's lookup, without a job to submit.
const inside = compute as unknown as {
  swarm: { join(topic: Buffer, mode: { server: boolean; client: boolean }): Promise<void> }
}
await inside.swarm.join(COMPUTE_TOPIC, { server: false, client: true })
process.stdout.write(`${JSON.stringify({ identity: identity.publicKey.toString('hex') })}\n`)
