import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../../shared/contract.ts'
import { errorResult, parseCallRequest, runCall } from '../../main/app/bridge.ts'
import {
  eventMessage,
  isBridgeResult,
  isEventMessage,
  parseLoginItemState,
} from '../../main/app/ipc-shape.ts'

describe('parseCallRequest', () => {
  it('accepts { method, params } and defaults params to {}', () => {
    expect(parseCallRequest({ method: 'node.status', params: {} })).toEqual({
      method: 'node.status',
      params: {},
    })
    expect(parseCallRequest({ method: 'folders.list' })).toEqual({
      method: 'folders.list',
      params: {},
    })
    // The service validates params against the contract; the bridge passes them through.
    expect(parseCallRequest({ method: 'x', params: [1] })).toEqual({ method: 'x', params: [1] })
  })

  it('refuses anything else', () => {
    for (const payload of [
      null,
      undefined,
      'node.status',
      ['node.status'],
      {},
      { method: 1 },
      { method: '' },
      { method: 'x'.repeat(129) },
    ]) {
      expect(parseCallRequest(payload), JSON.stringify(payload)).toBeNull()
    }
  })
})

describe('errorResult', () => {
  it('keeps the code and message of an ApiError', () => {
    expect(errorResult(new ApiError('NOT_FOUND', 'no such folder'))).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'no such folder' },
    })
    // An ApiError from another copy of the contract (another bundle) is recognized by shape.
    const foreign = Object.assign(new Error('bad'), { name: 'ApiError', code: 'BAD_INPUT' })
    expect(errorResult(foreign).error.code).toBe('BAD_INPUT')
  })

  it('turns anything else into INTERNAL without stack, path or message', () => {
    const err = new Error('ENOENT: /home/alice/secret/file')
    const result = errorResult(err)
    expect(result.error.code).toBe('INTERNAL')
    expect(JSON.stringify(result)).not.toContain('alice')
    expect(JSON.stringify(result)).not.toContain('at ')
    expect(errorResult('string').error.code).toBe('INTERNAL')
    expect(errorResult(null).error.code).toBe('INTERNAL')
    expect(errorResult({ name: 'ApiError', code: 'NOPE', message: 'x' }).error.code).toBe(
      'INTERNAL',
    )
  })
})

describe('runCall', () => {
  it('wraps results and errors, and reports only unexpected errors', async () => {
    const onUnexpected = vi.fn()
    await expect(
      runCall(async (m, p) => ({ m, p }), { method: 'a', params: { x: 1 } }, onUnexpected),
    ).resolves.toEqual({ ok: true, result: { m: 'a', p: { x: 1 } } })
    await expect(
      runCall(
        async () => {
          throw new ApiError('CONFLICT', 'already shared')
        },
        { method: 'a', params: {} },
        onUnexpected,
      ),
    ).resolves.toEqual({ ok: false, error: { code: 'CONFLICT', message: 'already shared' } })
    expect(onUnexpected).not.toHaveBeenCalled()
    const boom = new TypeError('boom')
    const res = await runCall(
      async () => {
        throw boom
      },
      { method: 'a', params: {} },
      onUnexpected,
    )
    expect(res.ok).toBe(false)
    expect(onUnexpected).toHaveBeenCalledWith(boom)
  })
})

describe('shape checks shared with the preload', () => {
  it('recognizes event messages', () => {
    expect(isEventMessage(eventMessage('folder.updated', { id: 'x' }))).toBe(true)
    expect(isEventMessage({ event: 'node.updated' })).toBe(true)
    for (const bad of [
      null,
      'x',
      [],
      {},
      { event: '' },
      { event: 3 },
      { event: 'x'.repeat(200) },
    ]) {
      expect(isEventMessage(bad)).toBe(false)
    }
  })

  it('recognizes bridge results', () => {
    expect(isBridgeResult({ ok: true, result: 1 })).toBe(true)
    expect(isBridgeResult({ ok: true, result: undefined })).toBe(true)
    expect(isBridgeResult({ ok: false, error: { code: 'INTERNAL', message: 'x' } })).toBe(true)
    for (const bad of [null, {}, { ok: 'yes' }, { ok: false }, { ok: false, error: { code: 1 } }]) {
      expect(isBridgeResult(bad)).toBe(false)
    }
  })

  it('recognizes login item states, and keeps only their two flags', () => {
    expect(parseLoginItemState({ supported: true, openAtLogin: true })).toEqual({
      supported: true,
      openAtLogin: true,
    })
    expect(parseLoginItemState({ supported: false, openAtLogin: false })).toEqual({
      supported: false,
      openAtLogin: false,
    })
    const extra = { supported: true, openAtLogin: false, toString: 'x', path: '/home/ada' }
    expect(parseLoginItemState(extra)).toStrictEqual({ supported: true, openAtLogin: false })
    for (const bad of [
      null,
      true,
      'on',
      [],
      [true, true],
      {},
      { openAtLogin: true },
      { supported: true },
      { supported: 'yes', openAtLogin: true },
      { supported: true, openAtLogin: 1 },
      // Where it can't be set, it can't be on.
      { supported: false, openAtLogin: true },
    ]) {
      expect(parseLoginItemState(bad), JSON.stringify(bad)).toBeNull()
    }
  })
})
