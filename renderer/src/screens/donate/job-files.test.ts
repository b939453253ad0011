// Job files in the renderer: base64 both ways for files up to the 2 MiB cap (chunked, so the
// call stack holds), the WebAssembly magic, and output shown as text only when short UTF-8.
import { describe, expect, it } from 'vitest'
import { JOB_MODULE_MAX_BYTES } from '../../../../shared/contract.ts'
import { fromBase64, isWasm, shortText, toBase64 } from './job-files.ts'

describe('job files', () => {
  it('round-trips bytes through base64 up to the 2 MiB cap', () => {
    const bytes = new Uint8Array(JOB_MODULE_MAX_BYTES)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 256
    const text = toBase64(bytes)
    expect(text).toHaveLength(Math.ceil(bytes.length / 3) * 4)
    const back = fromBase64(text)
    expect(back.length).toBe(bytes.length)
    // (Not toEqual: a deep compare of 2 M elements is slow.)
    expect(back.every((b, i) => b === bytes[i])).toBe(true)
    expect(toBase64(new Uint8Array([0, 0x61, 0x73, 0x6d]))).toBe('AGFzbQ==')
    expect(toBase64(new Uint8Array(0))).toBe('')
  })

  it('knows a WebAssembly module by its magic', () => {
    expect(isWasm(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]))).toBe(true)
    expect(isWasm(new TextEncoder().encode('asm\0'))).toBe(false)
    expect(isWasm(new Uint8Array([0, 0x61, 0x73]))).toBe(false)
  })

  it('shows short UTF-8 as text, and nothing else', () => {
    expect(shortText(new TextEncoder().encode('π ≈ 3.14159\n'))).toBe('π ≈ 3.14159\n')
    expect(shortText(new Uint8Array([0xff, 0xfe]))).toBeNull()
    expect(shortText(new TextEncoder().encode('abcd'), 3)).toBeNull()
  })
})
