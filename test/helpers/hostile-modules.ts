// Job modules for the compute sandbox tests, as WAT: a well-behaved one and the hostile ones a
// donor must stop and report. assemble() turns them into bytes with wabt.
import initWabt from 'wabt'

type Wabt = Awaited<ReturnType<typeof initWabt>>
let wabt: Promise<Wabt> | null = null

/** Assembles WAT to a module's bytes (threads and exceptions allowed, for the hostile ones). */
export async function assemble(wat: string): Promise<Buffer> {
  wabt ??= initWabt()
  const mod = (await wabt).parseWat('job.wat', wat, { threads: true, exceptions: true })
  try {
    return Buffer.from(mod.toBinary({}).buffer)
  } finally {
    mod.destroy()
  }
}

const ABI = `
  (import "spare" "input_size" (func $input_size (result i32)))
  (import "spare" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
  (import "spare" "write_output" (func $write_output (param i32 i32)))`

/** A normal job: writes its input back, reversed byte by byte (so it does some work). */
export const REVERSE = `(module
  (import "spare" "memory" (memory 1 1024))
  ${ABI}
  (func (export "run") (result i32)
    (local $n i32) (local $i i32) (local $need i32)
    (local.set $n (call $input_size))
    ;; room for the input twice
    (local.set $need (i32.sub (i32.add (i32.shr_u (i32.shl (local.get $n) (i32.const 1))
                                                  (i32.const 16)) (i32.const 1))
                              (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $need)) (i32.const -1))
        (then (return (i32.const 9))))))
    (drop (call $read_input (i32.const 0) (i32.const 0) (local.get $n)))
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (i32.store8 (i32.add (local.get $n) (local.get $i))
        (i32.load8_u (i32.sub (i32.sub (local.get $n) (local.get $i)) (i32.const 1))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (call $write_output (local.get $n) (local.get $n))
    (i32.const 0)))`

/** Never returns. */
export const INFINITE_LOOP = `(module
  (import "spare" "memory" (memory 1))
  (func (export "run") (result i32)
    (loop $forever (br $forever))
    (i32.const 0)))`

/** Grows its memory a page at a time, touching every page, until a grow fails: then traps. */
export const MEMORY_BOMB = `(module
  (import "spare" "memory" (memory 1))
  (func (export "run") (result i32)
    (local $page i32) (local $p i32)
    (loop $more
      (local.set $page (memory.grow (i32.const 1)))
      (if (i32.eq (local.get $page) (i32.const -1)) (then unreachable))
      (local.set $p (i32.shl (local.get $page) (i32.const 16)))
      (loop $touch
        (i32.store (local.get $p) (i32.const 0xdeadbeef))
        (local.set $p (i32.add (local.get $p) (i32.const 4096)))
        (br_if $touch (i32.and (local.get $p) (i32.const 0xffff))))
      (br $more))
    (i32.const 0)))`

/** Asks for more memory at start than a 16 MiB donor gives (1000 pages = 62.5 MiB). */
export const HUGE_INITIAL_MEMORY = `(module
  (import "spare" "memory" (memory 1000))
  (func (export "run") (result i32) (i32.const 0)))`

/** WASI's fd_write: a forbidden import. */
export const WASI_IMPORT = `(module
  (import "spare" "memory" (memory 1))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (func (export "run") (result i32)
    (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))`

/** AssemblyScript's env.abort, with a WASI import too: both must be named. */
export const ENV_ABORT = `(module
  (import "spare" "memory" (memory 1))
  (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (func (export "run") (result i32) (i32.const 0)))`

/** A table and a global import. */
export const TABLE_AND_GLOBAL = `(module
  (import "spare" "memory" (memory 1))
  (import "spare" "table" (table 1 funcref))
  (import "spare" "seed" (global i32))
  (func (export "run") (result i32) (global.get 0)))`

/** spare.read_input with the wrong signature. */
export const WRONG_SIGNATURE = `(module
  (import "spare" "memory" (memory 1))
  (import "spare" "read_input" (func $read_input (param i32 i32) (result i32)))
  (func (export "run") (result i32) (i32.const 0)))`

/** A memory of its own instead of spare.memory. */
export const OWN_MEMORY = `(module
  (memory 1)
  (func (export "run") (result i32) (i32.const 0)))`

/** A shared memory import. */
export const SHARED_MEMORY = `(module
  (import "spare" "memory" (memory 1 16 shared))
  (func (export "run") (result i32) (i32.const 0)))`

/** No memory import at all. */
export const NO_MEMORY = `(module
  (func (export "run") (result i32) (i32.const 0)))`

/** No run export. */
export const NO_RUN = `(module
  (import "spare" "memory" (memory 1))
  (func (export "main") (result i32) (i32.const 0)))`

/** run with the wrong type. */
export const RUN_WRONG_TYPE = `(module
  (import "spare" "memory" (memory 1))
  (func (export "run") (param i32) (result i64) (i64.const 0)))`

/** Traps on unreachable. */
export const UNREACHABLE = `(module
  (import "spare" "memory" (memory 1))
  (func (export "run") (result i32) unreachable))`

/** Loads far out of bounds. */
export const OUT_OF_BOUNDS = `(module
  (import "spare" "memory" (memory 1))
  (func (export "run") (result i32) (i32.load (i32.const 0x7ffffff0))))`

/** Recurses until the stack runs out. */
export const STACK_OVERFLOW = `(module
  (import "spare" "memory" (memory 1))
  (func $down (param i32) (result i32)
    (i32.add (call $down (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "run") (result i32) (call $down (i32.const 0))))`

/** Asks read_input to copy to an address past its memory. */
export const READ_INPUT_OUT_OF_BOUNDS = `(module
  (import "spare" "memory" (memory 1))
  ${ABI}
  (func (export "run") (result i32)
    (drop (call $read_input (i32.const 65530) (i32.const 0) (i32.const 64)))
    (i32.const 0)))`

/** Writes 64 KiB of output forever. */
export const OUTPUT_FLOOD = `(module
  (import "spare" "memory" (memory 1))
  ${ABI}
  (func (export "run") (result i32)
    (loop $forever
      (call $write_output (i32.const 0) (i32.const 65536))
      (br $forever))
    (i32.const 0)))`

/**
 * Floods the output and catches the error write_output throws (wasm exception handling), hoping
 * to go on writing past the cap.
 */
export const OUTPUT_FLOOD_CATCHING = `(module
  (import "spare" "memory" (memory 1))
  ${ABI}
  (func (export "run") (result i32)
    (local $tries i32)
    (loop $forever
      (try
        (do (call $write_output (i32.const 0) (i32.const 65536)))
        (catch_all (local.set $tries (i32.add (local.get $tries) (i32.const 1)))))
      (br_if $forever (i32.lt_u (local.get $tries) (i32.const 1000))))
    (i32.const 0)))`

/** Returns 3 from run. */
export const RETURNS_3 = `(module
  (import "spare" "memory" (memory 1))
  (func (export "run") (result i32) (i32.const 3)))`
