// Job files in the renderer, without Node: a chosen File read as bytes, bytes as base64 for
// compute.submit and back from compute.job's output, the WebAssembly magic, and text that is
// short UTF-8 shown as such. Works alike in the browser UI and Electron's renderer.

/** Every WebAssembly binary starts with these four bytes: "\0asm". */
const WASM_MAGIC = [0x00, 0x61, 0x73, 0x6d] as const

export function isWasm(bytes: Uint8Array): boolean {
  return WASM_MAGIC.every((b, i) => bytes[i] === b)
}

/** A chosen file's bytes (FileReader: also where Blob.arrayBuffer is missing). */
export function readFileBytes(file: Blob): Promise<Uint8Array> {
  if (typeof file.arrayBuffer === 'function') {
    return file.arrayBuffer().then((b) => new Uint8Array(b))
  }
  return new Promise((resolve, reject) => {
    const reader = new FileReader()
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer))
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'))
    reader.readAsArrayBuffer(file)
  })
}

export function toBase64(bytes: Uint8Array): string {
  let binary = ''
  // In chunks: String.fromCharCode(...all) overflows the stack on a 2 MiB file.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return btoa(binary)
}

export function fromBase64(text: string): Uint8Array {
  const binary = atob(text)
  const bytes = new Uint8Array(binary.length)
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i)
  return bytes
}

/** Output longer than this is offered for saving only, not shown. */
export const OUTPUT_SHOWN_MAX_BYTES = 64 * 1024

/** The bytes as text when they are valid UTF-8 of at most `max` bytes, else null. */
export function shortText(bytes: Uint8Array, max = OUTPUT_SHOWN_MAX_BYTES): string | null {
  if (bytes.length > max) return null
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return null
  }
}
