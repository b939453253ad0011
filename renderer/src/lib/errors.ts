import { ApiError, type ErrorCode } from '../../../shared/contract.ts'

/** A sentence for the user, from whatever a call rejected with. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message
  if (err instanceof Error && err.message) return err.message
  return 'Something went wrong. Please try again.'
}

/** The contract's error code, when the failure came from the node. */
export function errorCode(err: unknown): ErrorCode | null {
  return err instanceof ApiError ? err.code : null
}
