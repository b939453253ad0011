// Protomux without batching: every message goes out in a frame of its own, when it is sent.
import type Protomux from 'protomux'

/**
 * Turns off a connection's Protomux batching, and returns the mux. Call it before anything is
 * sent on the mux (before `store.replicate(conn)`): a batch already open is still sent whole.
 *
 * Protomux batches whatever is sent between `cork()` and `uncork()` into one frame, and it corks
 * around every batch it receives until each of its messages is handled. Hypercore's replication
 * corks around a peer's request queue. In a download the two lock both sides into turns: the
 * reader's requests go out as one frame once every block of the last frame is verified and
 * stored; the seeder reads every requested block from its store before it sends any of them, in
 * one frame (4 MB and more here); the reader decrypts the frame only once it has all of it. Each
 * side waits for the other, and every block of a frame keeps the whole frame in memory until the
 * last of them is stored, long enough to outlive V8's young generation: in a first sync of 520
 * MB the reader ran 62-67 full collections. Sent as they come, blocks flow while the next are
 * read, requests go out as blocks land, and fewer buffers live long. Measured side by side
 * (docs/ARCHITECTURE.md, Performance): delivery median 16.4 → 15.5 s over 9 alternating pairs,
 * the reader's full collections 62-67 → 37-41. The cost is a frame (and its header and tag) per
 * message instead of per batch.
 */
export function unbatched(mux: Protomux): Protomux {
  // Protomux keeps a bound copy of its uncork for the batches it receives. With cork a no-op its
  // counter only goes below zero and no batch is ever begun, but replacing the copy too keeps
  // that from depending on how uncork counts.
  const m = mux as Protomux & { _uncorkBound?: () => void }
  m.cork = noop
  m.uncork = noop
  if (typeof m._uncorkBound === 'function') m._uncorkBound = noop
  return mux
}

function noop(): void {}
