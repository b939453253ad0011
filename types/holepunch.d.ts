// Type declarations for the parts of the Holepunch modules Spare uses. The modules ship no types;
// these are written against hypercore 11, hyperswarm 4, hyperdht 6, corestore 7, hyperdrive 13.

declare module 'b4a' {
  const b4a: {
    from(input: string | Uint8Array | number[], encoding?: string): Buffer
    alloc(size: number, fill?: number): Buffer
    toString(buf: Uint8Array, encoding?: string): string
    equals(a: Uint8Array, b: Uint8Array): boolean
    isBuffer(x: unknown): x is Buffer
    concat(list: Uint8Array[]): Buffer
  }
  export default b4a
}

declare module 'z32' {
  const z32: { encode(buf: Uint8Array): string; decode(s: string): Buffer }
  export default z32
}

declare module 'hypercore-crypto' {
  const crypto: {
    keyPair(seed?: Buffer): { publicKey: Buffer; secretKey: Buffer }
    discoveryKey(publicKey: Buffer): Buffer
    randomBytes(n: number): Buffer
    hash(data: Buffer | Buffer[]): Buffer
    sign(message: Buffer, secretKey: Buffer): Buffer
    verify(message: Buffer, signature: Buffer, publicKey: Buffer): boolean
  }
  export default crypto
}

declare module 'hyperdht' {
  import type { EventEmitter } from 'node:events'
  interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }
  interface HyperDHTOptions {
    keyPair?: KeyPair
    bootstrap?: Array<{ host: string; port: number } | string>
    host?: string
    port?: number
    firewalled?: boolean
    ephemeral?: boolean
  }
  class HyperDHT extends EventEmitter {
    constructor(opts?: HyperDHTOptions)
    static bootstrapper(port: number, host: string, opts?: HyperDHTOptions): HyperDHT
    static keyPair(seed?: Buffer): KeyPair
    ready(): Promise<void>
    fullyBootstrapped(): Promise<void>
    destroy(opts?: { force?: boolean }): Promise<void>
    address(): { host: string; port: number }
    /** Looks a topic up: each reply names the peers announced there. */
    lookup(topic: Buffer): AsyncIterable<{ peers: Array<{ publicKey: Buffer }> }>
    readonly destroyed: boolean
    readonly firewalled: boolean
    readonly ephemeral: boolean
  }
  export default HyperDHT
}

declare module 'hyperdht/testnet.js' {
  import type HyperDHT from 'hyperdht'
  interface Testnet {
    nodes: HyperDHT[]
    bootstrap: Array<{ host: string; port: number }>
    createNode(opts?: object): HyperDHT
    destroy(): Promise<void>
  }
  function createTestnet(size?: number, opts?: { host?: string; port?: number }): Promise<Testnet>
  export default createTestnet
}

declare module 'hyperswarm' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'
  import type HyperDHT from 'hyperdht'
  export interface SwarmConnection extends Duplex {
    remotePublicKey: Buffer
    publicKey: Buffer
    isInitiator: boolean
    rawStream?: { remoteHost?: string; remotePort?: number }
  }
  export interface PeerInfo {
    publicKey: Buffer
    topics: Buffer[]
    client: boolean
  }
  export interface Discovery {
    flushed(): Promise<void>
    refresh(opts?: { server?: boolean; client?: boolean }): Promise<void>
    destroy(): Promise<void>
  }
  class Hyperswarm extends EventEmitter {
    constructor(opts?: {
      keyPair?: { publicKey: Buffer; secretKey: Buffer }
      dht?: HyperDHT
      maxPeers?: number
    })
    readonly keyPair: { publicKey: Buffer; secretKey: Buffer }
    readonly connections: Set<SwarmConnection>
    readonly peers: Map<string, PeerInfo>
    readonly dht: HyperDHT
    join(topic: Buffer, opts?: { server?: boolean; client?: boolean }): Discovery
    leave(topic: Buffer): Promise<void>
    flush(): Promise<void>
    listen(): Promise<void>
    destroy(opts?: { force?: boolean }): Promise<void>
    on(event: 'connection', listener: (conn: SwarmConnection, info: PeerInfo) => void): this
    on(event: 'update', listener: () => void): this
  }
  export default Hyperswarm
}

declare module 'hypercore' {
  import type { EventEmitter } from 'node:events'
  export interface HypercorePeer {
    remotePublicKey: Buffer
  }
  export interface HypercoreExtension<T> {
    send(message: T, peer: HypercorePeer): void
    broadcast(message: T): void
    destroy(): void
  }
  export interface Download {
    done(): Promise<void>
    destroy(): void
  }
  class Hypercore extends EventEmitter {
    readonly key: Buffer
    readonly discoveryKey: Buffer
    readonly length: number
    readonly byteLength: number
    readonly contiguousLength: number
    readonly writable: boolean
    readonly peers: HypercorePeer[]
    readonly closed: boolean
    ready(): Promise<void>
    close(): Promise<void>
    update(opts?: { wait?: boolean }): Promise<boolean>
    has(start: number, end?: number): Promise<boolean>
    /** How many of blocks [start, end) are held (the bitfield's count). */
    count(start: number, end: number): Promise<number>
    get(index: number, opts?: { wait?: boolean; timeout?: number }): Promise<Buffer | null>
    download(range?: { start?: number; end?: number; linear?: boolean }): Download
    clear(start: number, end?: number): Promise<unknown>
    append(blocks: Buffer | Buffer[]): Promise<{ length: number; byteLength: number }>
    purge(): Promise<void>
    registerExtension<T>(
      name: string,
      handlers: {
        encoding?: unknown
        onmessage?: (message: T, peer: HypercorePeer) => void
      },
    ): HypercoreExtension<T>
    info(opts?: {
      storage?: boolean
    }): Promise<{ byteLength: number; contiguousLength: number; storage?: unknown }>
    on(event: 'append', listener: () => void): this
    on(event: 'peer-add' | 'peer-remove', listener: (peer: HypercorePeer) => void): this
    on(
      event: 'upload' | 'download',
      listener: (index: number, byteLength: number, peer: HypercorePeer) => void,
    ): this
  }
  export default Hypercore
}

declare module 'corestore' {
  import type { Duplex } from 'node:stream'
  import type CoreStorage from 'hypercore-storage'
  import type Hypercore from 'hypercore'
  class Corestore {
    constructor(storage: string | CoreStorage, opts?: object)
    ready(): Promise<void>
    close(): Promise<void>
    namespace(name: string): Corestore
    session(): Corestore
    get(opts: { name?: string; key?: Buffer; encryptionKey?: Buffer | null }): Hypercore
    replicate(stream: Duplex): Duplex
    /** A protocol stream to pipe over a transport; its noise stream's userData is the mux. */
    replicate(isInitiator: boolean): Duplex & { noiseStream: { userData: unknown } }
    createKeyPair(name: string): Promise<{ publicKey: Buffer; secretKey: Buffer }>
  }
  export default Corestore
}

declare module 'hyperdrive' {
  import type { Readable, Writable } from 'node:stream'
  import type Corestore from 'corestore'
  import type Hypercore from 'hypercore'
  export interface BlobId {
    blockOffset: number
    blockLength: number
    byteOffset: number
    byteLength: number
  }
  export interface DriveEntryValue {
    executable: boolean
    linkname: string | null
    blob: BlobId | null
    metadata: unknown
  }
  export interface DriveEntry {
    seq: number
    key: string
    value: DriveEntryValue
  }
  export interface DiffItem {
    left: DriveEntry | null
    right: DriveEntry | null
  }
  export interface HyperblobsBatch {
    put(buf: Uint8Array): Promise<BlobId>
    flush(): Promise<void>
  }
  /** A blob being written; `id` names it once the stream has finished. */
  export interface HyperblobsWriteStream extends NodeJS.WritableStream {
    readonly id: BlobId
    /** streamx: releases the blobs core's write lock; the blocks already appended stay. */
    destroy(err?: Error): void
  }
  export interface Hyperblobs {
    core: Hypercore
    batch(): HyperblobsBatch
    createWriteStream(): HyperblobsWriteStream
  }
  export interface DriveDownload {
    done(): Promise<void>
    destroy(): void
  }
  class Hyperdrive {
    constructor(store: Corestore, key?: Buffer | null, opts?: { encryptionKey?: Buffer | null })
    constructor(store: Corestore, opts?: { encryptionKey?: Buffer | null })
    readonly key: Buffer
    readonly discoveryKey: Buffer
    readonly contentKey: Buffer | null
    readonly version: number
    readonly writable: boolean
    readonly core: Hypercore
    readonly db: {
      put(key: string, value: DriveEntryValue): Promise<void>
      del(key: string): Promise<void>
      /** The entry stored in block `seq` of the tree (and, as a side effect, that node cached). */
      getBySeq(seq: number): Promise<{ key: string; value: unknown } | null>
      core: Hypercore
      version: number
    }
    blobs: Hyperblobs | null
    ready(): Promise<void>
    close(): Promise<void>
    update(opts?: { wait?: boolean }): Promise<boolean>
    findingPeers(): () => void
    getBlobs(): Promise<Hyperblobs>
    entry(name: string, opts?: { wait?: boolean; timeout?: number }): Promise<DriveEntry | null>
    put(
      name: string,
      buf: Uint8Array,
      opts?: { executable?: boolean; metadata?: unknown },
    ): Promise<void>
    putEntry(name: string, value: Partial<DriveEntryValue>): Promise<void>
    del(name: string): Promise<void>
    symlink(name: string, dst: string, opts?: { metadata?: unknown }): Promise<void>
    list(folder?: string, opts?: { recursive?: boolean }): AsyncIterable<DriveEntry>
    diff(length: number, folder?: string): AsyncIterable<DiffItem>
    download(folder?: string): DriveDownload
    checkout(version: number): Hyperdrive
    batch(): Hyperdrive
    flush(): Promise<void>
    purge(): Promise<void>
    createReadStream(name: string, opts?: { wait?: boolean; timeout?: number }): Readable
    createWriteStream(name: string, opts?: { executable?: boolean; metadata?: unknown }): Writable
    static normalizePath(name: string): string
  }
  export default Hyperdrive
}

declare module 'hyperblobs' {
  import type { Readable } from 'node:stream'
  import type Hypercore from 'hypercore'
  import type { BlobId } from 'hyperdrive'
  class Hyperblobs {
    constructor(core: Hypercore, opts?: { blockSize?: number })
    readonly core: Hypercore
    createReadStream(id: BlobId, opts?: { wait?: boolean; timeout?: number }): Readable
  }
  export default Hyperblobs
}

declare module 'hypercore-storage' {
  /** rocksdb-native's session on the column family that holds every core. */
  interface RocksDBColumn {
    /** A manual compaction of the whole column family. Codes: rocksdb-native's `constants`. */
    compact(opts?: {
      blobGarbageCollectionPolicy?: number
      blobGarbageCollectionAgeCutoff?: number
      bottommostLevelCompaction?: number
    }): Promise<void>
    /** A RocksDB property (`rocksdb.*`), as a string. */
    getProperty(name: string): Promise<string>
  }
  class CoreStorage {
    constructor(
      dir: string,
      opts?: {
        writeBufferSize?: number
        blockCache?: boolean
        /** Share of the oldest blob files whose live blobs every compaction rewrites. */
        blobGarbageCollectionAgeCutOff?: number
      },
    )
    readonly db: RocksDBColumn
    close(): Promise<void>
  }
  export default CoreStorage
}

declare module 'sodium-native' {
  /** BLAKE2b: writes the hash of `input` into `output` (its length is the hash length). */
  export function crypto_generichash(output: Uint8Array, input: Uint8Array, key?: Uint8Array): void
}

declare module 'protomux' {
  export interface ProtomuxMessage {
    send(message: Buffer): boolean
  }
  /** A compact-encoding codec: `state` is { buffer, start, end }. */
  export interface ProtomuxEncoding<T> {
    preencode(state: { start: number; end: number }, value: T): void
    encode(state: { buffer: Buffer; start: number; end: number }, value: T): void
    decode(state: { buffer: Buffer; start: number; end: number }): T
  }
  export interface ProtomuxChannel {
    open(handshake?: unknown): void
    close(): void
    addMessage(opts: { encoding?: unknown; onmessage?: (message: Buffer) => void }): ProtomuxMessage
    readonly closed: boolean
  }
  class Protomux {
    static from(stream: unknown): Protomux
    /** Holds what is sent until uncork(), then sends it as one batch frame. */
    cork(): void
    uncork(): void
    createChannel(opts: {
      protocol: string
      id?: Buffer | null
      unique?: boolean
      /** Encodes the value given to open(); the peer's decoded value is passed to its onopen. */
      handshake?: ProtomuxEncoding<unknown>
      onopen?: (handshake: unknown) => void
      onclose?: () => void
    }): ProtomuxChannel | null
  }
  export default Protomux
}

declare module 'compact-encoding' {
  import type { ProtomuxEncoding } from 'protomux'
  const c: {
    /** Unsigned integer, 1 to 9 bytes. */
    uint: ProtomuxEncoding<number>
  }
  export default c
}
