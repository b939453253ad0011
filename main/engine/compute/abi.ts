// The fixed interface between a donor and a compute job, and the checks a module passes before it
// runs. A job is a WebAssembly module plus an input (bytes). The module may import only these, all
// from the module name "spare":
//
//   spare.memory                                   a memory import (required, 32-bit, not shared):
//                                                  the donor creates it with its own maximum
//   spare.input_size   () -> i32                   the input's length in bytes
//   spare.read_input   (dst, offset, len) -> i32   copies up to len input bytes from offset to
//                                                  memory at dst; returns the bytes copied
//   spare.write_output (src, len) -> ()            appends len bytes of memory to the output
//
// and must export `run: () -> i32` (0: success; anything else fails the run with that code).
//
// WebAssembly.Module.imports() gives names and kinds but neither signatures nor memory limits, so
// this file also holds a small reader of the binary format for the type, import, function, memory
// and export sections. It runs on hostile bytes: every read is bounds-checked and any surprise
// becomes a clean 'invalid' result, never an exception.
import {
  JOB_INPUT_MAX_BYTES,
  JOB_MODULE_MAX_BYTES,
  JOB_OUTPUT_MAX_BYTES,
  type JobErrorKind,
} from '../../../shared/contract.ts'

export { JOB_INPUT_MAX_BYTES, JOB_MODULE_MAX_BYTES, JOB_OUTPUT_MAX_BYTES }

/** The size of a WebAssembly page. */
export const WASM_PAGE_BYTES = 65536
/** A 32-bit memory has at most 65536 pages (4 GiB). */
export const WASM_MAX_PAGES = 65536

/** The import module name of the interface. */
export const ABI_MODULE = 'spare'

/** The function imports a job may use, with their signatures. */
export const ABI_FUNCTIONS: Readonly<Record<string, { params: string[]; results: string[] }>> = {
  input_size: { params: [], results: ['i32'] },
  read_input: { params: ['i32', 'i32', 'i32'], results: ['i32'] },
  write_output: { params: ['i32', 'i32'], results: [] },
}

/** The export a job must have. */
export const ABI_ENTRY = 'run'

export type CheckResult =
  | {
      ok: true
      /** Pages the memory starts with (the module's declared minimum). */
      initialPages: number
      /** The maximum the donor gives the memory: the cap, or the module's own lower maximum. */
      maxPages: number
      /** The module's declared maximum; null when it declares none. */
      declaredMaxPages: number | null
    }
  | { ok: false; kind: JobErrorKind; message: string }

export interface CheckOptions {
  /** Memory the job may use (bytes); the memory's maximum is this rounded down to pages. */
  memoryCapBytes: number
}

/** The memory cap in pages: floor(bytes / 64 KiB), at most 65536. */
export function capPages(memoryCapBytes: number): number {
  if (!Number.isFinite(memoryCapBytes) || memoryCapBytes <= 0) return 0
  return Math.min(WASM_MAX_PAGES, Math.floor(memoryCapBytes / WASM_PAGE_BYTES))
}

/** Refuses an input over JOB_INPUT_MAX_BYTES; null when it is fine. */
export function checkInput(input: Uint8Array): { kind: JobErrorKind; message: string } | null {
  if (input.byteLength > JOB_INPUT_MAX_BYTES) {
    return {
      kind: 'too-large',
      message: `the input is ${formatBytes(input.byteLength)}; the limit is ${formatBytes(JOB_INPUT_MAX_BYTES)}`,
    }
  }
  return null
}

/**
 * Checks a module against the job interface before anything runs it: size, validity, imports
 * (names, kinds and signatures), the memory import and its limits against the donor's cap, no
 * memory of its own, and the `run: () -> i32` export. Never throws.
 */
export function checkModule(bytes: Uint8Array, opts: CheckOptions): CheckResult {
  try {
    return check(bytes, opts)
  } catch (err) {
    // The reader throws only ParseError; anything else is a bug, but hostile bytes still get a
    // clean result rather than an exception.
    const why = err instanceof ParseError ? err.message : `unreadable (${String(err)})`
    return { ok: false, kind: 'invalid', message: `not a valid WebAssembly module: ${why}` }
  }
}

function check(bytes: Uint8Array, opts: CheckOptions): CheckResult {
  if (!(bytes instanceof Uint8Array)) {
    return { ok: false, kind: 'invalid', message: 'the module is not a byte array' }
  }
  if (bytes.byteLength > JOB_MODULE_MAX_BYTES) {
    return {
      ok: false,
      kind: 'too-large',
      message: `the module is ${formatBytes(bytes.byteLength)}; the limit is ${formatBytes(JOB_MODULE_MAX_BYTES)}`,
    }
  }
  if (bytes.byteLength < 8 || !hasMagic(bytes)) {
    return {
      ok: false,
      kind: 'invalid',
      message: 'not a WebAssembly module (it does not start with \\0asm, version 1)',
    }
  }
  if (!WebAssembly.validate(ownBuffer(bytes))) {
    return {
      ok: false,
      kind: 'invalid',
      message: `not a valid WebAssembly module: ${whyInvalid(bytes)}`,
    }
  }
  const parsed = parseModule(bytes)
  if (!parsed.ok) {
    return {
      ok: false,
      kind: 'invalid',
      message: `not a valid WebAssembly module: ${parsed.message}`,
    }
  }
  const mod = parsed.info

  // Imports: only the four of the interface, each with its kind and signature.
  const offending: string[] = []
  let memory: Limits | null = null
  let memoryImports = 0
  for (const imp of mod.imports) {
    const where = `${quote(imp.module)}.${quote(imp.name)}`
    if (imp.module === ABI_MODULE && imp.name === 'memory' && imp.desc.kind === 'memory') {
      memoryImports++
      const lim = imp.desc.limits
      if (lim.shared) offending.push(`${where} (a shared memory; spare.memory must not be shared)`)
      else if (lim.is64) offending.push(`${where} (a 64-bit memory; spare.memory must be 32-bit)`)
      else memory = lim
      continue
    }
    if (imp.module === ABI_MODULE && imp.desc.kind === 'function') {
      const want = Object.hasOwn(ABI_FUNCTIONS, imp.name) ? ABI_FUNCTIONS[imp.name] : undefined
      const got = mod.types[imp.desc.type]
      if (want && got && sameSignature(want, got)) continue
      if (want) {
        offending.push(
          `${where} (function ${describeType(got)}; it must be function ${describeType(want)})`,
        )
        continue
      }
    }
    offending.push(`${where} (${describeImport(imp.desc, mod.types)})`)
  }
  if (offending.length > 0) {
    const shown = offending.slice(0, 10)
    const more =
      offending.length > shown.length ? `, and ${offending.length - shown.length} more` : ''
    return {
      ok: false,
      kind: 'forbidden-import',
      message:
        `the module imports ${shown.join(', ')}${more}; a job may import only spare.memory, ` +
        'spare.input_size, spare.read_input and spare.write_output',
    }
  }
  if (mod.memoryCount > 0) {
    return {
      ok: false,
      kind: 'invalid',
      message:
        'the module defines its own memory; a job must import its memory as spare.memory so that ' +
        'the donor can cap it',
    }
  }
  if (memoryImports > 1) {
    return { ok: false, kind: 'invalid', message: 'the module imports spare.memory more than once' }
  }
  if (!memory) {
    return {
      ok: false,
      kind: 'invalid',
      message: 'the module does not import spare.memory; a job must import its memory',
    }
  }

  // The entry point.
  const run = mod.exports.find((e) => e.name === ABI_ENTRY && e.kind === 0)
  if (!run) {
    return { ok: false, kind: 'invalid', message: 'the module does not export a function "run"' }
  }
  const runType = functionType(mod, run.index)
  if (!runType || !sameSignature({ params: [], results: ['i32'] }, runType)) {
    return {
      ok: false,
      kind: 'invalid',
      message: `the export "run" is function ${describeType(runType)}; it must be function () -> i32`,
    }
  }

  // Memory limits against the donor's cap.
  const cap = capPages(opts.memoryCapBytes)
  if (memory.min > cap) {
    return {
      ok: false,
      kind: 'memory',
      message:
        `the module needs ${formatBytes(memory.min * WASM_PAGE_BYTES)} of memory at start ` +
        `(${memory.min} pages); this donor allows ${formatBytes(cap * WASM_PAGE_BYTES)}`,
    }
  }
  const declaredMaxPages = memory.max
  const maxPages = declaredMaxPages === null ? cap : Math.min(cap, declaredMaxPages)
  return { ok: true, initialPages: memory.min, maxPages, declaredMaxPages }
}

// ---------------------------------------------------------------------------------------------
// The binary reader.

class ParseError extends Error {}

/**
 * Reads the type, import, function, memory and export sections of a module's bytes, skipping the
 * rest. Needs no prior validation and never throws: anything unreadable is { ok: false }.
 */
export function parseModule(
  bytes: Uint8Array,
): { ok: true; info: ModuleInfo } | { ok: false; message: string } {
  try {
    if (!(bytes instanceof Uint8Array) || bytes.byteLength < 8 || !hasMagic(bytes)) {
      return { ok: false, message: 'no \\0asm header' }
    }
    return { ok: true, info: readModule(bytes) }
  } catch (err) {
    return { ok: false, message: err instanceof ParseError ? err.message : String(err) }
  }
}

export interface FuncType {
  params: string[]
  results: string[]
}
export interface Limits {
  min: number
  max: number | null
  shared: boolean
  is64: boolean
}
export type ImportDesc =
  | { kind: 'function'; type: number }
  | { kind: 'table'; limits: Limits }
  | { kind: 'memory'; limits: Limits }
  | { kind: 'global'; valtype: string; mutable: boolean }
  | { kind: 'tag'; type: number }
export interface Import {
  module: string
  name: string
  desc: ImportDesc
}
export interface Export {
  name: string
  kind: number
  index: number
}
export interface ModuleInfo {
  types: FuncType[]
  imports: Import[]
  /** Type index of each function the module defines (the function section). */
  functions: number[]
  memoryCount: number
  exports: Export[]
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

class Reader {
  pos: number
  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start
  }
  get done(): boolean {
    return this.pos >= this.end
  }
  u8(): number {
    if (this.pos >= this.end) throw new ParseError(`unexpected end at byte ${this.pos}`)
    return this.bytes[this.pos++] as number
  }
  /** An unsigned LEB128 of at most `bits` bits, as a number (saturated above 2^53). */
  uleb(bits = 32): number {
    let result = 0
    let scale = 1
    const maxBytes = Math.ceil(bits / 7)
    for (let i = 0; ; i++) {
      if (i >= maxBytes) throw new ParseError(`an integer is too long at byte ${this.pos}`)
      const b = this.u8()
      result += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        if (bits === 32 && result > 0xffffffff) {
          throw new ParseError(`an integer is out of range at byte ${this.pos - 1}`)
        }
        return Math.min(result, Number.MAX_SAFE_INTEGER)
      }
      scale *= 128
    }
  }
  /** A signed LEB128 of at most 33 bits (a heap type). */
  sleb33(): number {
    let result = 0
    let scale = 1
    for (let i = 0; ; i++) {
      if (i >= 5) throw new ParseError(`an integer is too long at byte ${this.pos}`)
      const b = this.u8()
      result += (b & 0x7f) * scale
      scale *= 128
      if ((b & 0x80) === 0) return b & 0x40 ? result - scale : result
    }
  }
  take(n: number): Uint8Array {
    if (n < 0 || n > this.end - this.pos) {
      throw new ParseError(`a length of ${n} runs past the end at byte ${this.pos}`)
    }
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  name(): string {
    const raw = this.take(this.uleb())
    try {
      return utf8.decode(raw)
    } catch {
      throw new ParseError('a name is not valid UTF-8')
    }
  }
}

function hasMagic(b: Uint8Array): boolean {
  return (
    b[0] === 0x00 &&
    b[1] === 0x61 &&
    b[2] === 0x73 &&
    b[3] === 0x6d &&
    b[4] === 0x01 &&
    b[5] === 0x00 &&
    b[6] === 0x00 &&
    b[7] === 0x00
  )
}

const NUM_TYPES: Record<number, string> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
}

function readValType(r: Reader): string {
  const code = r.u8()
  const known = NUM_TYPES[code]
  if (known) return known
  if (code === 0x63 || code === 0x64) {
    // (ref null? heaptype): the function-references/GC encoding.
    return `(ref${code === 0x63 ? ' null' : ''} ${r.sleb33()})`
  }
  // Other one-byte abstract heap types of newer proposals (anyref, eqref, ...).
  if (code >= 0x65 && code <= 0x74) return `ref-0x${code.toString(16)}`
  throw new ParseError(`unknown value type 0x${code.toString(16)}`)
}

function readLimits(r: Reader): Limits {
  const flags = r.u8()
  if (flags & ~0x07) throw new ParseError(`unknown limits flags 0x${flags.toString(16)}`)
  const is64 = (flags & 0x04) !== 0
  const min = r.uleb(is64 ? 64 : 32)
  const max = flags & 0x01 ? r.uleb(is64 ? 64 : 32) : null
  return { min, max, shared: (flags & 0x02) !== 0, is64 }
}

function readModule(bytes: Uint8Array): ModuleInfo {
  const info: ModuleInfo = { types: [], imports: [], functions: [], memoryCount: 0, exports: [] }
  const top = new Reader(bytes, 8, bytes.byteLength)
  while (!top.done) {
    const id = top.u8()
    const size = top.uleb()
    const start = top.pos
    top.take(size)
    const r = new Reader(bytes, start, start + size)
    switch (id) {
      case 1:
        readTypes(r, info)
        break
      case 2:
        readImports(r, info)
        break
      case 3:
        for (let n = r.uleb(), i = 0; i < n; i++) info.functions.push(r.uleb())
        break
      case 5:
        info.memoryCount += r.uleb()
        break
      case 7:
        for (let n = r.uleb(), i = 0; i < n; i++) {
          const name = r.name()
          const kind = r.u8()
          info.exports.push({ name, kind, index: r.uleb() })
        }
        break
      default:
        break // custom sections and the rest: not needed
    }
  }
  return info
}

function readTypes(r: Reader, info: ModuleInfo): void {
  for (let n = r.uleb(), i = 0; i < n; i++) {
    const form = r.u8()
    if (form !== 0x60) {
      // 0x4e rec groups, 0x50/0x4f subtypes, 0x5f structs, 0x5e arrays: the GC proposal.
      throw new ParseError(
        `type ${i} is not a function type (form 0x${form.toString(16)}); jobs may not use GC types`,
      )
    }
    const params: string[] = []
    for (let k = r.uleb(), j = 0; j < k; j++) params.push(readValType(r))
    const results: string[] = []
    for (let k = r.uleb(), j = 0; j < k; j++) results.push(readValType(r))
    info.types.push({ params, results })
  }
}

function readImports(r: Reader, info: ModuleInfo): void {
  for (let n = r.uleb(), i = 0; i < n; i++) {
    const module = r.name()
    const name = r.name()
    const kind = r.u8()
    let desc: ImportDesc
    switch (kind) {
      case 0x00:
        desc = { kind: 'function', type: r.uleb() }
        break
      case 0x01: {
        readValType(r) // the element type
        desc = { kind: 'table', limits: readLimits(r) }
        break
      }
      case 0x02:
        desc = { kind: 'memory', limits: readLimits(r) }
        break
      case 0x03: {
        const valtype = readValType(r)
        desc = { kind: 'global', valtype, mutable: r.u8() !== 0 }
        break
      }
      case 0x04: {
        r.u8() // the tag attribute
        desc = { kind: 'tag', type: r.uleb() }
        break
      }
      default:
        throw new ParseError(`unknown import kind 0x${kind.toString(16)}`)
    }
    info.imports.push({ module, name, desc })
  }
}

function functionType(mod: ModuleInfo, index: number): FuncType | undefined {
  const imported = mod.imports.filter((i) => i.desc.kind === 'function')
  if (index < imported.length) {
    const desc = imported[index]?.desc
    return desc?.kind === 'function' ? mod.types[desc.type] : undefined
  }
  const typeIndex = mod.functions[index - imported.length]
  return typeIndex === undefined ? undefined : mod.types[typeIndex]
}

function sameSignature(a: FuncType, b: FuncType): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((t, i) => b.params[i] === t) &&
    a.results.every((t, i) => b.results[i] === t)
  )
}

function describeType(t: FuncType | undefined): string {
  if (!t) return '(unknown type)'
  const results = t.results.length === 0 ? '()' : t.results.join(', ')
  return `(${t.params.join(', ')}) -> ${results}`
}

function describeImport(desc: ImportDesc, types: FuncType[]): string {
  switch (desc.kind) {
    case 'function':
      return `function ${describeType(types[desc.type])}`
    case 'table':
      return 'a table'
    case 'memory':
      return 'a memory'
    case 'global':
      return `a ${desc.mutable ? 'mutable ' : ''}global ${desc.valtype}`
    case 'tag':
      return 'an exception tag'
  }
}

/** Why WebAssembly.validate refused, from the compiler's own message. */
function whyInvalid(bytes: Uint8Array): string {
  try {
    new WebAssembly.Module(ownBuffer(bytes))
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err)
    return msg.replace(/^WebAssembly\.Module\(\): /, '').slice(0, 300)
  }
  return 'refused by WebAssembly.validate'
}

/** The bytes in a plain ArrayBuffer, as the WebAssembly API's types want (a copy if shared). */
function ownBuffer(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b.buffer instanceof ArrayBuffer ? (b as Uint8Array<ArrayBuffer>) : new Uint8Array(b)
}

/** A name from the module, quoted and cut short: it comes from whoever wrote the job. */
function quote(s: string): string {
  const cut = s.length > 64 ? `${s.slice(0, 64)}…` : s
  return JSON.stringify(cut)
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${+(n / (1024 * 1024)).toFixed(2)} MiB`
  if (n >= 1024) return `${+(n / 1024).toFixed(1)} KiB`
  return `${n} bytes`
}
