import { describe, expect, it, vi } from 'vitest'
import { ApiError } from '../../../shared/contract.ts'
import type { BridgeResult, SpareBridge } from '../../../shared/ipc.ts'
import { createBridgeTransport, findBridge } from './bridge-transport.ts'
import { createEnvironment } from './environment.ts'
import type { SocketLike } from './ws-transport.ts'
import { idleSocket } from '../test-utils/idle-socket.ts'

function fakeBridge(answer: (method: string, params: unknown) => BridgeResult) {
  let listener: ((event: string, data: unknown) => void) | null = null
  const bridge: SpareBridge = {
    kind: 'electron',
    call: vi.fn(async (method: string, params: unknown) => answer(method, params)),
    onEvent: vi.fn((l: (event: string, data: unknown) => void) => {
      listener = l
      return () => {
        listener = null
      }
    }),
    pickFolder: vi.fn(async () => '/home/ada/Photos'),
    openExternal: vi.fn(async () => true),
  }
  return { bridge, emit: (event: string, data: unknown) => listener?.(event, data) }
}

describe('bridge transport', () => {
  it('returns results and turns error answers into ApiError', async () => {
    const { bridge } = fakeBridge((method) =>
      method === 'node.status'
        ? { ok: true, result: { up: true } }
        : { ok: false, error: { code: 'CONFLICT', message: 'already shared' } },
    )
    const transport = createBridgeTransport(bridge)
    await expect(transport.call('node.status', {})).resolves.toEqual({ up: true })
    const err = await transport.call('folders.share', { path: '/x' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect(err).toMatchObject({ code: 'CONFLICT', message: 'already shared' })
    expect(bridge.call).toHaveBeenLastCalledWith('folders.share', { path: '/x' })
  })

  it('reports a broken IPC channel as UNAVAILABLE', async () => {
    const { bridge } = fakeBridge(() => {
      throw new Error('ipc gone')
    })
    await expect(createBridgeTransport(bridge).call('node.status', {})).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    })
  })

  it('forwards events', () => {
    const { bridge, emit } = fakeBridge(() => ({ ok: true, result: null }))
    const got: unknown[] = []
    const off = createBridgeTransport(bridge).subscribe((event, data) => got.push([event, data]))
    emit('folder.removed', { id: 'x' })
    off()
    emit('folder.removed', { id: 'y' })
    expect(got).toEqual([['folder.removed', { id: 'x' }]])
  })

  it('findBridge accepts only a well-formed electron bridge', () => {
    expect(findBridge({})).toBeNull()
    expect(findBridge({ spare: 'nope' })).toBeNull()
    expect(findBridge({ spare: { kind: 'electron' } })).toBeNull()
    const { bridge } = fakeBridge(() => ({ ok: true, result: null }))
    expect(findBridge({ spare: bridge })).toBe(bridge)
  })
})

describe('createEnvironment', () => {
  it('uses window.spare in Electron, with the native picker', async () => {
    const { bridge } = fakeBridge(() => ({
      ok: true,
      result: { invite: 'spare:xyz' },
    }))
    const createSocket = vi.fn()
    const env = createEnvironment(
      { spare: bridge, location: { protocol: 'app:', host: 'spare' } },
      createSocket,
    )
    expect(env.shell).toBe('app')
    expect(env.connection.getState().status).toBe('open')
    expect(createSocket).not.toHaveBeenCalled()
    await expect(env.client.call('folders.invite', { id: '0123456789abcdef' })).resolves.toEqual({
      invite: 'spare:xyz',
    })
    await expect(env.pickFolder?.()).resolves.toBe('/home/ada/Photos')
  })

  it('uses the daemon WebSocket on the page’s host in a browser, without a picker', async () => {
    const opened: string[] = []
    const createSocket = (url: string): SocketLike => {
      opened.push(url)
      return idleSocket()
    }
    const env = createEnvironment(
      { location: { protocol: 'http:', host: '127.0.0.1:8484' } },
      createSocket,
    )
    expect(opened).toEqual(['ws://127.0.0.1:8484/api/ws'])
    expect(env.shell).toBe('web')
    expect(env.pickFolder).toBeNull()
    expect(env.connection.getState().status).toBe('connecting')
    await env.client.close()
    expect(env.connection.getState().status).toBe('closed')
  })
})
