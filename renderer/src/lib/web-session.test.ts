import { describe, expect, it } from 'vitest'
import { createEnvironment } from './environment.ts'
import { readSession, sessionProtocols, takeSessionFromUrl } from './web-session.ts'
import type { SocketLike } from './ws-transport.ts'
import { idleSocket } from '../test-utils/idle-socket.ts'

const SESSION = 'ab'.repeat(32)
const OTHER = 'cd'.repeat(32)

describe('web session', () => {
  it('takes the session from the login redirect’s fragment and clears the address bar', () => {
    window.history.replaceState(null, '', `/?x=1#session=${SESSION}`)
    expect(takeSessionFromUrl(window)).toBe(true)
    expect(window.location.hash).toBe('')
    expect(window.location.href).not.toContain(SESSION)
    expect(window.location.search).toBe('?x=1')
    expect(window.localStorage.getItem('spare.session')).toBe(SESSION)
    expect(readSession(window)).toBe(SESSION)
  })

  it('leaves app routes and malformed fragments alone', () => {
    window.history.replaceState(null, '', '/#/settings')
    expect(takeSessionFromUrl(window)).toBe(false)
    expect(window.location.hash).toBe('#/settings')
    window.history.replaceState(null, '', '/#session=nothex')
    expect(takeSessionFromUrl(window)).toBe(false)
    expect(window.location.hash).toBe('') // dropped all the same
    expect(window.localStorage.getItem('spare.session')).toBeNull()
    window.localStorage.setItem('spare.session', 'junk')
    expect(readSession({ localStorage: window.localStorage })).toBeNull()
  })

  it('offers the session as a WebSocket subprotocol, read afresh on every connect', () => {
    const opened: Array<{ url: string; protocols: string[] }> = []
    const sockets: SocketLike[] = []
    const createSocket = (url: string, protocols: string[]): SocketLike => {
      opened.push({ url, protocols })
      const s = idleSocket()
      sockets.push(s)
      return s
    }
    window.localStorage.setItem('spare.session', SESSION)
    const env = createEnvironment(
      {
        location: { protocol: 'http:', host: '127.0.0.1:8484' },
        localStorage: window.localStorage,
      },
      createSocket,
    )
    expect(opened).toEqual([
      { url: 'ws://127.0.0.1:8484/api/ws', protocols: sessionProtocols(SESSION) },
    ])
    expect(sessionProtocols(SESSION)).toEqual(['spare', `spare-session.${SESSION}`])
    // Another tab logs in: the next attempt uses its session.
    window.localStorage.setItem('spare.session', OTHER)
    sockets[0]!.onclose?.({ reason: '' } as CloseEvent)
    env.connection.retryNow()
    expect(opened[1]?.protocols).toEqual(['spare', `spare-session.${OTHER}`])
    void env.client.close()
  })

  it('keeps a session it could not store for as long as the page lives', () => {
    // Storage that reads but refuses writes (full, or a private window): an older session from
    // before the node restarted is still in it.
    const stored = new Map([['spare.session', OTHER]])
    const localStorage = {
      getItem: (k: string) => stored.get(k) ?? null,
      setItem: () => {
        throw new DOMException('quota exceeded', 'QuotaExceededError')
      },
    }
    window.history.replaceState(null, '', `/#session=${SESSION}`)
    expect(
      takeSessionFromUrl({ localStorage, location: window.location, history: window.history }),
    ).toBe(true)
    expect(window.location.hash).toBe('')
    // The login just handed over, not the stale one left in storage, nor none.
    expect(readSession({ localStorage })).toBe(SESSION)
  })
})
