import { act, screen, waitFor, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { describe, expect, it } from 'vitest'
import { ApiError } from '../../../shared/contract.ts'
import {
  FakeNode,
  deferred,
  folder,
  nodeStatus,
  peer,
  renderWithSpare,
} from '../test-utils/fake-node.tsx'
import { NetworkScreen } from './NetworkScreen.tsx'

describe('NetworkScreen', () => {
  it('shows the node’s status and its peers', async () => {
    const photos = folder({ name: 'Photos' })
    const alice = peer({
      id: 'a'.repeat(64),
      folders: [photos.id],
      bytesUp: 2_500_000,
      bytesDown: 1000,
    })
    const node = new FakeNode({
      'node.status': () =>
        nodeStatus({
          nodeId: 'f'.repeat(64),
          uptime: 3725,
          peers: 1,
          network: { mode: 'custom', bootstrap: ['10.0.0.2:49737', '10.0.0.3:49737'] },
        }),
      'peers.list': () => [alice],
      'folders.list': () => [photos],
    })
    renderWithSpare(<NetworkScreen refreshMs={0} />, { node })

    expect(await screen.findByTestId('node-id')).toHaveTextContent('f'.repeat(64))
    expect(screen.getByText('1 h 2 min')).toBeInTheDocument()
    expect(screen.getByText('Custom bootstrap')).toBeInTheDocument()
    const bootstrap = screen.getByRole('list', { name: 'Bootstrap nodes' })
    expect(
      within(bootstrap)
        .getAllByRole('listitem')
        .map((li) => li.textContent),
    ).toEqual(['10.0.0.2:49737', '10.0.0.3:49737'])

    const peers = await screen.findByRole('list', { name: 'Peers' })
    const row = within(peers).getByRole('listitem', { name: `Peer ${'a'.repeat(64)}` })
    expect(within(row).getByText('Photos')).toBeInTheDocument()
    expect(within(row).getByText('2.5 MB')).toBeInTheDocument()
    expect(within(row).getByText('1 KB')).toBeInTheDocument()
    expect(within(row).getByText('5 minutes ago')).toBeInTheDocument()
    expect(screen.getByText('1 connected')).toBeInTheDocument()
  })

  it('shows a slow node’s answer: a refresh due meanwhile waits for it instead of discarding it', async () => {
    // Each node.status answers only when the test says so: the node is slower than the timer.
    const answers: Array<ReturnType<typeof deferred<ReturnType<typeof nodeStatus>>>> = []
    const node = new FakeNode({
      'node.status': () => {
        const answer = deferred<ReturnType<typeof nodeStatus>>()
        answers.push(answer)
        return answer.promise
      },
      'peers.list': () => [],
      'folders.list': () => [],
    })
    renderWithSpare(<NetworkScreen refreshMs={20} />, { node })
    await waitFor(() => expect(answers.length).toBeGreaterThan(0))
    // Several timer ticks pass while the first call is unanswered.
    await act(() => new Promise((resolve) => setTimeout(resolve, 100)))
    // Not one call per tick piled up behind the slow one.
    expect(answers.length).toBe(1)
    await act(async () => answers[0]?.resolve(nodeStatus({ nodeId: 'c'.repeat(64) })))
    expect(await screen.findByTestId('node-id')).toHaveTextContent('c'.repeat(64))
    expect(screen.queryByText('Loading network status…')).not.toBeInTheDocument()
  })

  it('shows the peers a refresh found although node.updated came meanwhile (peers churning)', async () => {
    const lists: Array<ReturnType<typeof deferred<ReturnType<typeof peer>[]>>> = []
    const node = new FakeNode({
      'node.status': () => nodeStatus({ peers: 1 }),
      'peers.list': () => {
        const list = deferred<ReturnType<typeof peer>[]>()
        lists.push(list)
        return list.promise
      },
      'folders.list': () => [],
    })
    renderWithSpare(<NetworkScreen refreshMs={0} />, { node })
    await waitFor(() => expect(lists.length).toBe(1))
    // A peer comes or goes while the list is being fetched: the event carries the status only.
    act(() => node.emit('node.updated', nodeStatus({ peers: 2 })))
    await act(async () => lists[0]?.resolve([peer({ id: 'd'.repeat(64) })]))
    const peers = await screen.findByRole('list', { name: 'Peers' })
    expect(
      within(peers).getByRole('listitem', { name: `Peer ${'d'.repeat(64)}` }),
    ).toBeInTheDocument()
    // The status from the event is not overwritten by the older answer.
    expect(screen.getByText('Peers', { selector: 'dt' }).closest('div')).toHaveTextContent('Peers2')
  })

  it('names the default bootstrap on the public network and says when no peer is connected', async () => {
    const node = new FakeNode({
      'node.status': () => nodeStatus({ network: { mode: 'public', bootstrap: [] } }),
      'peers.list': () => [],
      'folders.list': () => [],
    })
    renderWithSpare(<NetworkScreen refreshMs={0} />, { node })
    expect(await screen.findByText(/No peers connected/)).toBeInTheDocument()
    expect(screen.getByText('Public')).toBeInTheDocument()
    expect(screen.getByText('HyperDHT’s default bootstrap nodes')).toBeInTheDocument()
  })

  it('still lists peers when folder names can’t be loaded', async () => {
    const id = '00000000000000aa'
    const node = new FakeNode({
      'node.status': () => nodeStatus(),
      'peers.list': () => [peer({ folders: [id] })],
      'folders.list': () => {
        throw new ApiError('INTERNAL', 'boom')
      },
    })
    renderWithSpare(<NetworkScreen refreshMs={0} />, { node })
    const peers = await screen.findByRole('list', { name: 'Peers' })
    expect(within(peers).getByText(id)).toBeInTheDocument()
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })

  it('refreshes on node.updated', async () => {
    let peers = [peer()]
    const node = new FakeNode({
      'node.status': () => nodeStatus({ peers: peers.length }),
      'peers.list': () => peers,
      'folders.list': () => [],
    })
    renderWithSpare(<NetworkScreen refreshMs={0} />, { node })
    const list = await screen.findByRole('list', { name: 'Peers' })
    expect(within(list).getAllByRole('listitem', { name: /^Peer / })).toHaveLength(1)

    peers = [peer(), peer()]
    act(() => node.emit('node.updated', nodeStatus({ peers: 2, uptime: 7200 })))
    // The status comes with the event; the peers are fetched again.
    expect(screen.getByText('2 h 0 min')).toBeInTheDocument()
    await waitFor(() =>
      expect(
        within(screen.getByRole('list', { name: 'Peers' })).getAllByRole('listitem', {
          name: /^Peer /,
        }),
      ).toHaveLength(2),
    )
  })

  it('polls every few seconds', async () => {
    const node = new FakeNode({
      'node.status': () => nodeStatus(),
      'peers.list': () => [],
      'folders.list': () => [],
    })
    renderWithSpare(<NetworkScreen refreshMs={30} />, { node })
    await waitFor(() => expect(node.callsOf('peers.list').length).toBeGreaterThanOrEqual(3))
    expect(node.callsOf('node.status').length).toBeGreaterThanOrEqual(3)
  })

  it('shows a failure and recovers with Try again', async () => {
    let fail = true
    const node = new FakeNode({
      'node.status': () => {
        if (fail) throw new ApiError('UNAVAILABLE', 'the node is starting')
        return nodeStatus({ nodeId: 'recovered' })
      },
      'peers.list': () => [],
      'folders.list': () => [],
    })
    renderWithSpare(<NetworkScreen refreshMs={0} />, { node })
    expect(await screen.findByRole('alert')).toHaveTextContent('the node is starting')
    fail = false
    await userEvent.setup().click(screen.getByRole('button', { name: 'Try again' }))
    expect(await screen.findByTestId('node-id')).toHaveTextContent('recovered')
    expect(screen.queryByRole('alert')).not.toBeInTheDocument()
  })
})
