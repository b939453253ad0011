// Waiting for something, but not for ever.

/**
 * Waits until `promise` settles or `ms` have passed, whichever comes first; rejects when the
 * promise rejects in time. The timer is cleared either way, so nothing is left pending.
 */
export async function waitAtMost(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  } finally {
    clearTimeout(timer)
  }
}
