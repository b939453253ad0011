// Ledger receipts as the engine counts them (main/engine/ledger/receipt.ts): credit is in
// byte-hours, 1 GB kept for an hour or 1 GB served.
import type { Ledger } from '../../../shared/contract.ts'

export type Receipt = Ledger['recent'][number]

const MS_PER_HOUR = 3.6e6

/** A receipt's credit: bytes × hours held for storage, the bytes themselves for served. */
export function receiptValue(body: Receipt['body']): number {
  if (body.kind === 'served') return body.bytes
  return (body.bytes * (body.to - body.from)) / MS_PER_HOUR
}

/** Which side of a receipt `identity` is: the host gave, the owner received. */
export function receiptSide(
  body: Receipt['body'],
  identity: string | null,
): 'host' | 'owner' | null {
  if (identity === null) return null
  if (body.host === identity) return 'host'
  if (body.owner === identity) return 'owner'
  return null
}
