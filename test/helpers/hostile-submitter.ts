// A hostile job submitter for tests: Spare's own compute code, except that it skips its own
// module check and sends donors whatever it is given, and can send a job whose id does not match
// its module. Donors must refuse such modules before running them, answer with the reason, count
// a lying id against the sender, and keep working.
//
// usage: node --import tsx test/helpers/hostile-submitter.ts BOOTSTRAP DATA_DIR MODE FILE
//   MODE raw:     send FILE's bytes as a module to 2 donors; print the settled job as JSON
//   MODE wrongid: send FILE as a module under an id that names other bytes; print the donors'
//                 replies as JSON once 2 answered
import { promises as fs } from 'node:fs'
import path from 'node:path'
import crypto from 'hypercore-crypto'
import { COMPUTE_TOPIC, jobId } from '../../main/engine/compute/compute.ts'
import { encodeMessage, type Message } from '../../main/engine/compute/messages.ts'
import { openComputePeer } from './child-peer.ts'

const [bootstrapArg, dataDir, mode, file] = process.argv.slice(2)
if (!bootstrapArg || !dataDir || !file || (mode !== 'raw' && mode !== 'wrongid')) {
  process.stderr.write('usage: hostile-submitter BOOTSTRAP DATA_DIR raw|wrongid FILE\n')
  process.exit(2)
}
const { identity, compute, stop } = await openComputePeer(bootstrapArg, dataDir)

interface Session {
  identity: string | null
  slots: number
  msg: { send(b: Buffer): void } | null
}
interface Internals {
  state: { submitted: Array<Record<string, unknown> & { id: string; state: string }> }
  sessions: Set<Session>
  jobFile(id: string, ext: string): string
  tend(): Promise<void>
  updateTopic(): Promise<void>
  onMessage(s: Session, m: Message): Promise<void>
  swarm: { join(topic: Buffer, mode: { server: boolean; client: boolean }): Promise<void> }
}
const inside = compute as unknown as Internals
await compute.open()
const module = await fs.readFile(file)
const input = Buffer.alloc(0)

if (mode === 'raw') {
  // What submit() does, minus the module check.
  const nonce = crypto.randomBytes(16).toString('hex')
  const id = jobId(module, input, nonce)
  await fs.mkdir(path.dirname(inside.jobFile(id, 'wasm')), { recursive: true })
  await fs.writeFile(inside.jobFile(id, 'wasm'), module)
  await fs.writeFile(inside.jobFile(id, 'input'), input)
  inside.state.submitted.push({
    id,
    nonce,
    name: 'hostile',
    state: 'waiting',
    replicas: 2,
    quorum: 2,
    wallMs: 10_000,
    moduleBytes: module.length,
    inputBytes: 0,
    submittedAt: Date.now(),
    finishedAt: null,
    donors: [],
    resultHash: null,
    outputBytes: null,
    error: null,
  })
  await inside.updateTopic()
  const job = inside.state.submitted.at(-1)!
  while (job.state !== 'done' && job.state !== 'failed') {
    await inside.tend()
    await new Promise((r) => setTimeout(r, 200))
  }
  process.stdout.write(JSON.stringify(job) + '\n')
} else {
  // A job whose id names other bytes: sent by hand to two donors; their replies collected.
  const replies: Message[] = []
  const realOnMessage = inside.onMessage.bind(compute)
  inside.onMessage = async (s, m) => {
    if (m.t === 'accept') replies.push(m)
    return realOnMessage(s, m)
  }
  // Look for donors (Compute joins the topic only while jobs wait; this has none).
  await inside.swarm.join(COMPUTE_TOPIC, { server: false, client: true })
  const sent = new Set<string>()
  const nonce = crypto.randomBytes(16).toString('hex')
  const lie = jobId(Buffer.from('something else'), input, nonce)
  while (replies.length < 2) {
    for (const s of inside.sessions) {
      if (!s.identity || !s.msg || s.slots === 0 || sent.has(s.identity)) continue
      sent.add(s.identity)
      const m: Message = {
        t: 'job',
        id: lie,
        nonce,
        module: module.toString('base64'),
        input: '',
        wallMs: 10_000,
      }
      s.msg.send(encodeMessage(m))
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  process.stdout.write(
    JSON.stringify({ identity: identity.publicKey.toString('hex'), replies }) + '\n',
  )
}

await stop()
process.exit(0)
