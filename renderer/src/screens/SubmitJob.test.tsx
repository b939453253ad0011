// Submitting a compute job from the Donate screen against the fake node (whose compute.submit
// checks params with the contract and adds a waiting job as the engine does), and a submitted
// job's detail from compute.job: donors, the output as text, saving it and copying its hash.
import { act, screen, waitFor, within } from '@testing-library/react'
import { userEvent } from '@testing-library/user-event'
import { afterEach, describe, expect, it } from 'vitest'
import { ApiError, type JobSummary } from '../../../shared/contract.ts'
import { FakeNode, deferred, job, renderWithSpare } from '../test-utils/fake-node.tsx'
import { DonateScreen } from './DonateScreen.tsx'
import { readFileBytes } from './donate/job-files.ts'

/** The smallest valid WebAssembly module: the magic and version 1. */
const WASM = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00])
const MiB = 1024 * 1024

function setup(node = new FakeNode()) {
  const user = userEvent.setup()
  const view = renderWithSpare(<DonateScreen refreshMs={0} />, { node })
  return { user, ...view }
}

const dialog = () => screen.getByRole('dialog', { name: 'Submit a job' })
const field = (name: string | RegExp) => within(dialog()).getByLabelText(name)
const submitButton = () => within(dialog()).getByRole('button', { name: 'Submit' })
const decode = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))

async function open(user: ReturnType<typeof userEvent.setup>) {
  await user.click(await screen.findByRole('button', { name: 'Submit a job' }))
  return dialog()
}

describe('DonateScreen: submitting a job', () => {
  it('submits the module and input, and the job appears in the list', async () => {
    const { user, node } = setup()
    await open(user)
    await user.upload(field('Module'), new File([WASM], 'primes.wasm'))
    // The name follows the module's file name.
    expect(field('Name')).toHaveValue('primes.wasm')
    await user.upload(field('Input (optional)'), new File(['100\n'], 'n.txt'))
    await user.clear(field('Donors (replicas)'))
    await user.type(field('Donors (replicas)'), '3')
    expect(field('Donors (replicas)')).toHaveAccessibleDescription(
      '3 donors run it at once; a majority (2 of 3) must get the same output for it to count.',
    )
    await user.clear(field('Time per donor'))
    await user.type(field('Time per donor'), '1 h 30 min')
    await user.click(submitButton())

    await waitFor(() => expect(node.callsOf('compute.submit')).toHaveLength(1))
    const [params] = node.callsOf('compute.submit') as Array<{
      module: string
      input: string
      replicas: number
      name: string
      wallMs: number
    }>
    expect(decode(params!.module)).toEqual(WASM)
    expect(new TextDecoder().decode(decode(params!.input))).toBe('100\n')
    expect(params).toMatchObject({ replicas: 3, name: 'primes.wasm', wallMs: 90 * 60_000 })

    // The dialog gives way to the new job's detail; the list has it.
    expect(await screen.findByRole('dialog', { name: 'primes.wasm' })).toHaveTextContent(
      'Waiting for donors',
    )
    expect(screen.queryByRole('dialog', { name: 'Submit a job' })).not.toBeInTheDocument()
    const list = screen.getByRole('table', { name: 'Jobs this node submitted' })
    expect(within(list).getByRole('button', { name: 'primes.wasm' })).toBeInTheDocument()
    expect(within(list).getByText('2 of 3 must agree')).toBeInTheDocument()
  })

  it('sends empty input when none is chosen, and a typed name over the file name', async () => {
    const { user, node } = setup()
    await open(user)
    await user.type(field('Name'), 'my run')
    await user.upload(field('Module'), new File([WASM], 'primes.wasm'))
    expect(field('Name')).toHaveValue('my run')
    await user.click(submitButton())
    await waitFor(() => expect(node.callsOf('compute.submit')).toHaveLength(1))
    expect(node.callsOf('compute.submit')[0]).toEqual({
      module: 'AGFzbQEAAAA=',
      input: '',
      replicas: 2,
      name: 'my run',
      wallMs: 10 * 60_000,
    })
  })

  it('checks the fields before sending, and keeps what was entered', async () => {
    const { user, node } = setup()
    await open(user)
    await user.clear(field('Donors (replicas)'))
    await user.type(field('Donors (replicas)'), '12')
    await user.clear(field('Time per donor'))
    await user.type(field('Time per donor'), '2 days')
    await user.click(submitButton())
    expect(await within(dialog()).findByText('Choose the WebAssembly module (.wasm) to run.'))
    expect(field('Module')).toHaveAttribute('aria-invalid', 'true')
    expect(field('Module')).toHaveFocus()
    expect(field('Donors (replicas)')).toHaveAccessibleDescription(/Between 1 and 9 donors\.$/)
    expect(field('Time per donor')).toHaveAccessibleDescription(/A job may take at most 24 h\.$/)
    expect(field('Donors (replicas)')).toHaveValue('12')
    expect(field('Time per donor')).toHaveValue('2 days')
    expect(node.callsOf('compute.submit')).toEqual([])
  })

  it('refuses a file that is not WebAssembly', async () => {
    const { user, node } = setup()
    await open(user)
    await user.upload(field('Module'), new File(['#!/bin/sh\necho hi\n'], 'script.wasm'))
    await user.click(submitButton())
    expect(
      await within(dialog()).findByText(
        'script.wasm is not a WebAssembly module (it doesn’t start with \\0asm). Choose a compiled .wasm file.',
      ),
    ).toBeInTheDocument()
    expect(node.callsOf('compute.submit')).toEqual([])
    expect(field('Name')).toHaveValue('script.wasm')
  })

  it('refuses a module or an input over 2 MiB, saying so', async () => {
    const { user, node } = setup()
    await open(user)
    const big = new Uint8Array(2 * MiB + 1)
    big.set(WASM)
    await user.upload(field('Module'), new File([big], 'big.wasm'))
    await user.upload(field('Input (optional)'), new File([new Uint8Array(3 * MiB)], 'big.bin'))
    await user.click(submitButton())
    expect(
      await within(dialog()).findByText('big.wasm is 2.1 MB: a module may be at most 2 MiB.'),
    ).toBeInTheDocument()
    expect(
      within(dialog()).getByText('big.bin is 3.1 MB: the input may be at most 2 MiB.'),
    ).toBeInTheDocument()
    expect(node.callsOf('compute.submit')).toEqual([])

    // Exactly 2 MiB is allowed.
    const max = new Uint8Array(2 * MiB)
    max.set(WASM)
    await user.upload(field('Module'), new File([max], 'max.wasm'))
    await user.upload(field('Input (optional)'), new File(['x'], 'x.txt'))
    await user.click(submitButton())
    await waitFor(() => expect(node.callsOf('compute.submit')).toHaveLength(1))
  })

  it('shows the node’s refusal inline, keeps what was entered, and stays open while sending', async () => {
    const call = deferred<JobSummary>()
    const node = new FakeNode({ 'compute.submit': () => call.promise })
    const { user } = setup(node)
    await open(user)
    await user.upload(field('Module'), new File([WASM], 'primes.wasm'))
    await user.clear(field('Name'))
    await user.type(field('Name'), 'kept name')
    await user.click(submitButton())
    await within(dialog()).findByText('Submitting…')
    // Busy: neither Escape nor Cancel closes it.
    await user.keyboard('{Escape}')
    expect(dialog()).toBeInTheDocument()
    expect(within(dialog()).getByRole('button', { name: 'Cancel' })).toBeDisabled()
    expect(within(dialog()).getByRole('button', { name: 'Close' })).toBeDisabled()

    await act(async () => {
      call.reject(
        new ApiError('BAD_INPUT', 'the module imports env.fd_write, which is not allowed'),
      )
      await Promise.resolve()
    })
    const alert = await within(dialog()).findByRole('alert')
    expect(alert).toHaveTextContent('Couldn’t submit the job')
    expect(alert).toHaveTextContent('the module imports env.fd_write, which is not allowed')
    expect(field('Name')).toHaveValue('kept name')
    expect(field('Module')).toHaveAccessibleDescription(/^primes\.wasm: 8 B\./)
    expect(submitButton()).toBeEnabled()
    await user.keyboard('{Escape}')
    expect(screen.queryByRole('dialog')).not.toBeInTheDocument()
  })
})

describe('DonateScreen: a submitted job’s detail', () => {
  const created: Blob[] = []
  const original = { create: URL.createObjectURL, revoke: URL.revokeObjectURL }
  afterEach(() => {
    URL.createObjectURL = original.create
    URL.revokeObjectURL = original.revoke
    created.length = 0
  })

  it('shows the donors, the output as text, saves it and copies the hash', async () => {
    const node = new FakeNode()
    const done = job({ name: 'hello.wasm', outputBytes: 12 })
    node.compute.submitted = [done]
    node.outputs.set(done.id, btoa('hello world\n'))
    // jsdom has no Blob URLs: record what would be downloaded.
    URL.createObjectURL = (blob: Blob) => {
      created.push(blob)
      return 'blob:fake'
    }
    URL.revokeObjectURL = () => {}
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'hello.wasm' }))
    const detail = screen.getByRole('dialog', { name: 'hello.wasm' })
    expect(within(detail).getByText('Done')).toBeInTheDocument()
    const donors = within(detail).getByRole('table', { name: 'Donors' })
    expect(within(donors).getAllByText('Agreed')).toHaveLength(3)
    expect(await within(detail).findByTestId('job-output')).toHaveTextContent('hello world')
    expect(within(detail).getByTestId('job-result-hash')).toHaveTextContent(done.resultHash!)

    await user.click(within(detail).getByRole('button', { name: 'Copy the result hash' }))
    await expect(navigator.clipboard.readText()).resolves.toBe(done.resultHash)

    let downloaded: string | null = null
    const onClick = (e: MouseEvent) => {
      const a = e.target
      if (!(a instanceof HTMLAnchorElement)) return
      downloaded = a.getAttribute('download')
      expect(a.getAttribute('href')).toBe('blob:fake')
      e.preventDefault()
    }
    document.addEventListener('click', onClick)
    await user.click(within(detail).getByRole('button', { name: 'Save output' }))
    document.removeEventListener('click', onClick)
    expect(downloaded).toBe('hello.out')
    expect(created).toHaveLength(1)
    // (jsdom's Blob has no text(): read it as the dialog reads chosen files.)
    expect(new TextDecoder().decode(await readFileBytes(created[0]!))).toBe('hello world\n')
  })

  it('offers binary output for saving only', async () => {
    const node = new FakeNode()
    const done = job({ name: 'bin.wasm', outputBytes: 4 })
    node.compute.submitted = [done]
    node.outputs.set(done.id, btoa(String.fromCharCode(0xff, 0xfe, 0x00, 0x80)))
    const { user } = setup(node)
    await user.click(await screen.findByRole('button', { name: 'bin.wasm' }))
    const detail = screen.getByRole('dialog', { name: 'bin.wasm' })
    expect(
      await within(detail).findByText('4 B of output that isn’t short text: save it to open it.'),
    ).toBeInTheDocument()
    expect(within(detail).queryByTestId('job-output')).not.toBeInTheDocument()
    expect(within(detail).getByRole('button', { name: 'Save output' })).toBeEnabled()
  })
})
