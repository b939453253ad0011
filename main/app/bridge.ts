// The main-process half of the Electron transport (shared/ipc.ts), as pure functions: a service
// call's outcome mapped to a BridgeResult, errors included. No electron import (tested in
// test/unit/app-bridge.test.ts); the shape checks shared with the preload are in ipc-shape.ts.
import { ApiError, ErrorCodeSchema, type ErrorCode } from '../../shared/contract.ts'
import type { BridgeResult } from '../../shared/ipc.ts'
import type { CallRequest } from './ipc-shape.ts'

export { parseCallRequest, type CallRequest } from './ipc-shape.ts'

/** Anything thrown by the service that carries a known code (ApiError, also across bundles). */
function apiErrorOf(err: unknown): { code: ErrorCode; message: string } | null {
  if (typeof err !== 'object' || err === null) return null
  const { code, message, name } = err as { code?: unknown; message?: unknown; name?: unknown }
  if (!(err instanceof ApiError) && name !== 'ApiError') return null
  if (typeof message !== 'string') return null
  const parsed = ErrorCodeSchema.safeParse(code)
  return parsed.success ? { code: parsed.data, message } : null
}

/**
 * Maps whatever the service threw to the error half of a BridgeResult. ApiErrors keep their code
 * and message; anything else becomes INTERNAL with a fixed message, so no stack trace, path or
 * internal detail reaches the renderer (the caller logs the original).
 */
export function errorResult(err: unknown): Extract<BridgeResult, { ok: false }> {
  const api = apiErrorOf(err)
  if (api !== null) return { ok: false, error: api }
  return { ok: false, error: { code: 'INTERNAL', message: 'internal error (see the app log)' } }
}

export function badRequestResult(message: string): Extract<BridgeResult, { ok: false }> {
  return { ok: false, error: { code: 'BAD_INPUT', message } }
}

export function unauthorizedResult(): Extract<BridgeResult, { ok: false }> {
  return { ok: false, error: { code: 'UNAUTHORIZED', message: 'this frame may not call the node' } }
}

export function unavailableResult(): Extract<BridgeResult, { ok: false }> {
  return { ok: false, error: { code: 'UNAVAILABLE', message: 'the node is not running' } }
}

/** Runs one call and never rejects: the outcome is always a BridgeResult. */
export async function runCall(
  call: (method: string, params: unknown) => Promise<unknown>,
  request: CallRequest,
  onUnexpected: (err: unknown) => void = () => {},
): Promise<BridgeResult> {
  try {
    return { ok: true, result: await call(request.method, request.params) }
  } catch (err) {
    const mapped = errorResult(err)
    if (apiErrorOf(err) === null) onUnexpected(err)
    return mapped
  }
}
