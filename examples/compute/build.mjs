#!/usr/bin/env node
// Assembles every .wat in this folder into the .wasm next to it, with the wabt package.
//
//   node examples/compute/build.mjs           write the .wasm files
//   node examples/compute/build.mjs --check   write nothing; exit 1 when a committed .wasm differs
//                                             from what its .wat assembles to
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import initWabt from 'wabt'

const here = path.dirname(fileURLToPath(import.meta.url))
const check = process.argv.includes('--check')

const wabt = await initWabt()
let stale = 0
for (const name of fs
  .readdirSync(here)
  .filter((f) => f.endsWith('.wat'))
  .sort()) {
  const watPath = path.join(here, name)
  const wasmPath = watPath.replace(/\.wat$/, '.wasm')
  const mod = wabt.parseWat(name, fs.readFileSync(watPath, 'utf8'))
  let bytes
  try {
    mod.validate()
    bytes = Buffer.from(mod.toBinary({}).buffer)
  } finally {
    mod.destroy()
  }
  if (check) {
    const committed = fs.existsSync(wasmPath) ? fs.readFileSync(wasmPath) : null
    if (!committed || !committed.equals(bytes)) {
      console.error(`${path.basename(wasmPath)} is not what ${name} assembles to: run build.mjs`)
      stale++
    }
  } else {
    fs.writeFileSync(wasmPath, bytes)
    console.log(`${path.basename(wasmPath)}: ${bytes.length} bytes`)
  }
}
if (stale) process.exitCode = 1
