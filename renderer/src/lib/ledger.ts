// Ledger receipts as the engine counts them (main/engine/ledger/receipt.ts): credit is in
// byte-hours, 1 GB kept for an hour or 1 GB served; a compute receipt records the CPU time a donor
// gave a job, and one CPU-second is worth 200 MB·h.
import type { Ledger } from '../../../shared/contract.ts'
import { formatBytes, formatCpuTime } from './format.ts'

export type Receipt = Ledger['recent'][number]
export type ReceiptBody = Receipt['body']
export type StorageBody = Extract<ReceiptBody, { kind: 'storage' | 'served' }>
export type ComputeBody = Extract<ReceiptBody, { kind: 'compute' }>

const MS_PER_HOUR = 3.6e6

/** What one CPU millisecond is worth in byte-hours (the engine's BYTE_HOURS_PER_CPU_MS). */
export const BYTE_HOURS_PER_CPU_MS = 2e5

/**
 * A receipt's credit in byte-hours: bytes × hours held for storage, the bytes for served, the CPU
 * time × 200 MB·h a second for compute.
 */
export function receiptValue(body: ReceiptBody): number {
  if (body.kind === 'compute') return body.cpuMs * BYTE_HOURS_PER_CPU_MS
  if (body.kind === 'served') return body.bytes
  return (body.bytes * (body.to - body.from)) / MS_PER_HOUR
}

/** What a receipt is for: its bytes, or a compute receipt's CPU time ("2 min 5 s CPU"). */
export function receiptAmount(body: ReceiptBody): string {
  if (body.kind === 'compute') return `${formatCpuTime(body.cpuMs)} CPU`
  return formatBytes(body.bytes)
}

/** Which side of a receipt `identity` is: the host (donor) gave, the owner (submitter) received. */
export function receiptSide(body: ReceiptBody, identity: string | null): 'host' | 'owner' | null {
  if (identity === null) return null
  if (body.host === identity) return 'host'
  if (body.owner === identity) return 'owner'
  return null
}

/** CPU time given (as donor) and received (as submitter) by `identity` over `receipts`. */
export function cpuTotals(
  receipts: readonly Receipt[],
  identity: string | null,
): { givenMs: number; receivedMs: number; count: number } {
  let givenMs = 0
  let receivedMs = 0
  let count = 0
  for (const { body } of receipts) {
    if (body.kind !== 'compute') continue
    count++
    const side = receiptSide(body, identity)
    if (side === 'host') givenMs += body.cpuMs
    else if (side === 'owner') receivedMs += body.cpuMs
  }
  return { givenMs, receivedMs, count }
}
