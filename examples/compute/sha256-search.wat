;; sha256-search.wat: a proof-of-work search with a real SHA-256.
;;
;; Input (little-endian):
;;   0      prefixLen   u32
;;   4      prefix      prefixLen bytes
;;   4+L    difficulty  u32   leading zero bits wanted (0..256)
;;   8+L    start       u64   first nonce
;;   16+L   count       u64   nonces to try
;;
;; For n = start, start+1, ... (count of them, wrapping modulo 2^64) it hashes
;; SHA-256(prefix || n as 8 bytes little-endian) and stops at the first hash with at least
;; `difficulty` leading zero bits (counted from the first byte's high bit).
;;
;; Output (41 bytes): found u8 (1 or 0), nonce u64 LE, hash (32 bytes). When nothing in the range
;; qualifies, all 41 bytes are 0.
;;
;; run() returns 0, or:
;;   1  the input's length is not 24 + prefixLen
;;   2  difficulty is over 256
;;   3  memory.grow refused the message buffer
;;
;; SHA-256 as in FIPS 180-4. The message is padded once; each nonce only rewrites its 8 bytes. The
;; blocks that lie wholly inside the prefix are hashed once (the "midstate"); each nonce then
;; hashes only the one or two blocks that hold the nonce and the padding.
(module
  (import "spare" "memory" (memory 1))
  (import "spare" "input_size" (func $input_size (result i32)))
  (import "spare" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
  (import "spare" "write_output" (func $write_output (param i32 i32)))

  ;; Memory layout:
  ;;   0x000  K: the 64 round constants
  ;;   0x100  H: the hash state, 8 words
  ;;   0x120  MID: the state after the prefix-only blocks
  ;;   0x200  W: the message schedule, 64 words
  ;;   0x300  RESULT: the 41 output bytes
  ;;   0x340  TAIL: difficulty, start, count (20 bytes read from the input)
  ;;   0x400  MSG: prefix || nonce || padding, whole 64-byte blocks
  (global $H i32 (i32.const 0x100))
  (global $MID i32 (i32.const 0x120))
  (global $W i32 (i32.const 0x200))
  (global $RESULT i32 (i32.const 0x300))
  (global $TAIL i32 (i32.const 0x340))
  (global $MSG i32 (i32.const 0x400))

  ;; The round constants: the first 32 bits of the fractional parts of the cube roots of the
  ;; first 64 primes.
  (func $init_k
    (i32.store (i32.const 0x000) (i32.const 0x428a2f98))
    (i32.store (i32.const 0x004) (i32.const 0x71374491))
    (i32.store (i32.const 0x008) (i32.const 0xb5c0fbcf))
    (i32.store (i32.const 0x00c) (i32.const 0xe9b5dba5))
    (i32.store (i32.const 0x010) (i32.const 0x3956c25b))
    (i32.store (i32.const 0x014) (i32.const 0x59f111f1))
    (i32.store (i32.const 0x018) (i32.const 0x923f82a4))
    (i32.store (i32.const 0x01c) (i32.const 0xab1c5ed5))
    (i32.store (i32.const 0x020) (i32.const 0xd807aa98))
    (i32.store (i32.const 0x024) (i32.const 0x12835b01))
    (i32.store (i32.const 0x028) (i32.const 0x243185be))
    (i32.store (i32.const 0x02c) (i32.const 0x550c7dc3))
    (i32.store (i32.const 0x030) (i32.const 0x72be5d74))
    (i32.store (i32.const 0x034) (i32.const 0x80deb1fe))
    (i32.store (i32.const 0x038) (i32.const 0x9bdc06a7))
    (i32.store (i32.const 0x03c) (i32.const 0xc19bf174))
    (i32.store (i32.const 0x040) (i32.const 0xe49b69c1))
    (i32.store (i32.const 0x044) (i32.const 0xefbe4786))
    (i32.store (i32.const 0x048) (i32.const 0x0fc19dc6))
    (i32.store (i32.const 0x04c) (i32.const 0x240ca1cc))
    (i32.store (i32.const 0x050) (i32.const 0x2de92c6f))
    (i32.store (i32.const 0x054) (i32.const 0x4a7484aa))
    (i32.store (i32.const 0x058) (i32.const 0x5cb0a9dc))
    (i32.store (i32.const 0x05c) (i32.const 0x76f988da))
    (i32.store (i32.const 0x060) (i32.const 0x983e5152))
    (i32.store (i32.const 0x064) (i32.const 0xa831c66d))
    (i32.store (i32.const 0x068) (i32.const 0xb00327c8))
    (i32.store (i32.const 0x06c) (i32.const 0xbf597fc7))
    (i32.store (i32.const 0x070) (i32.const 0xc6e00bf3))
    (i32.store (i32.const 0x074) (i32.const 0xd5a79147))
    (i32.store (i32.const 0x078) (i32.const 0x06ca6351))
    (i32.store (i32.const 0x07c) (i32.const 0x14292967))
    (i32.store (i32.const 0x080) (i32.const 0x27b70a85))
    (i32.store (i32.const 0x084) (i32.const 0x2e1b2138))
    (i32.store (i32.const 0x088) (i32.const 0x4d2c6dfc))
    (i32.store (i32.const 0x08c) (i32.const 0x53380d13))
    (i32.store (i32.const 0x090) (i32.const 0x650a7354))
    (i32.store (i32.const 0x094) (i32.const 0x766a0abb))
    (i32.store (i32.const 0x098) (i32.const 0x81c2c92e))
    (i32.store (i32.const 0x09c) (i32.const 0x92722c85))
    (i32.store (i32.const 0x0a0) (i32.const 0xa2bfe8a1))
    (i32.store (i32.const 0x0a4) (i32.const 0xa81a664b))
    (i32.store (i32.const 0x0a8) (i32.const 0xc24b8b70))
    (i32.store (i32.const 0x0ac) (i32.const 0xc76c51a3))
    (i32.store (i32.const 0x0b0) (i32.const 0xd192e819))
    (i32.store (i32.const 0x0b4) (i32.const 0xd6990624))
    (i32.store (i32.const 0x0b8) (i32.const 0xf40e3585))
    (i32.store (i32.const 0x0bc) (i32.const 0x106aa070))
    (i32.store (i32.const 0x0c0) (i32.const 0x19a4c116))
    (i32.store (i32.const 0x0c4) (i32.const 0x1e376c08))
    (i32.store (i32.const 0x0c8) (i32.const 0x2748774c))
    (i32.store (i32.const 0x0cc) (i32.const 0x34b0bcb5))
    (i32.store (i32.const 0x0d0) (i32.const 0x391c0cb3))
    (i32.store (i32.const 0x0d4) (i32.const 0x4ed8aa4a))
    (i32.store (i32.const 0x0d8) (i32.const 0x5b9cca4f))
    (i32.store (i32.const 0x0dc) (i32.const 0x682e6ff3))
    (i32.store (i32.const 0x0e0) (i32.const 0x748f82ee))
    (i32.store (i32.const 0x0e4) (i32.const 0x78a5636f))
    (i32.store (i32.const 0x0e8) (i32.const 0x84c87814))
    (i32.store (i32.const 0x0ec) (i32.const 0x8cc70208))
    (i32.store (i32.const 0x0f0) (i32.const 0x90befffa))
    (i32.store (i32.const 0x0f4) (i32.const 0xa4506ceb))
    (i32.store (i32.const 0x0f8) (i32.const 0xbef9a3f7))
    (i32.store (i32.const 0x0fc) (i32.const 0xc67178f2)))

  ;; The initial state: the first 32 bits of the fractional parts of the square roots of the
  ;; first 8 primes.
  (func $init_h
    (i32.store (i32.add (global.get $H) (i32.const 0)) (i32.const 0x6a09e667))
    (i32.store (i32.add (global.get $H) (i32.const 4)) (i32.const 0xbb67ae85))
    (i32.store (i32.add (global.get $H) (i32.const 8)) (i32.const 0x3c6ef372))
    (i32.store (i32.add (global.get $H) (i32.const 12)) (i32.const 0xa54ff53a))
    (i32.store (i32.add (global.get $H) (i32.const 16)) (i32.const 0x510e527f))
    (i32.store (i32.add (global.get $H) (i32.const 20)) (i32.const 0x9b05688c))
    (i32.store (i32.add (global.get $H) (i32.const 24)) (i32.const 0x1f83d9ab))
    (i32.store (i32.add (global.get $H) (i32.const 28)) (i32.const 0x5be0cd19)))

  ;; A word read big-endian.
  (func $bswap (param $x i32) (result i32)
    (i32.or
      (i32.or (i32.shl (local.get $x) (i32.const 24))
              (i32.and (i32.shl (local.get $x) (i32.const 8)) (i32.const 0x00ff0000)))
      (i32.or (i32.and (i32.shr_u (local.get $x) (i32.const 8)) (i32.const 0x0000ff00))
              (i32.shr_u (local.get $x) (i32.const 24)))))

  ;; W[t], the message schedule word t.
  (func $w (param $t i32) (result i32)
    (i32.load (i32.add (global.get $W) (i32.shl (local.get $t) (i32.const 2)))))

  ;; One compression of the 64-byte block at $block into H.
  (func $compress (param $block i32)
    (local $t i32) (local $x i32) (local $y i32)
    (local $a i32) (local $b i32) (local $c i32) (local $d i32)
    (local $e i32) (local $f i32) (local $g i32) (local $h i32)
    (local $t1 i32) (local $t2 i32)

    ;; W[0..16): the block's words, big-endian.
    (local.set $t (i32.const 0))
    (loop $load
      (i32.store (i32.add (global.get $W) (i32.shl (local.get $t) (i32.const 2)))
        (call $bswap (i32.load (i32.add (local.get $block) (i32.shl (local.get $t) (i32.const 2))))))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br_if $load (i32.lt_u (local.get $t) (i32.const 16))))

    ;; W[16..64): W[t] = s1(W[t-2]) + W[t-7] + s0(W[t-15]) + W[t-16]
    (loop $expand
      (local.set $x (call $w (i32.sub (local.get $t) (i32.const 15))))
      (local.set $y (call $w (i32.sub (local.get $t) (i32.const 2))))
      (i32.store (i32.add (global.get $W) (i32.shl (local.get $t) (i32.const 2)))
        (i32.add
          (i32.add
            ;; s1(y) = rotr(y, 17) ^ rotr(y, 19) ^ (y >> 10)
            (i32.xor (i32.xor (i32.rotr (local.get $y) (i32.const 17))
                              (i32.rotr (local.get $y) (i32.const 19)))
                     (i32.shr_u (local.get $y) (i32.const 10)))
            (call $w (i32.sub (local.get $t) (i32.const 7))))
          (i32.add
            ;; s0(x) = rotr(x, 7) ^ rotr(x, 18) ^ (x >> 3)
            (i32.xor (i32.xor (i32.rotr (local.get $x) (i32.const 7))
                              (i32.rotr (local.get $x) (i32.const 18)))
                     (i32.shr_u (local.get $x) (i32.const 3)))
            (call $w (i32.sub (local.get $t) (i32.const 16))))))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br_if $expand (i32.lt_u (local.get $t) (i32.const 64))))

    (local.set $a (i32.load offset=0 (global.get $H)))
    (local.set $b (i32.load offset=4 (global.get $H)))
    (local.set $c (i32.load offset=8 (global.get $H)))
    (local.set $d (i32.load offset=12 (global.get $H)))
    (local.set $e (i32.load offset=16 (global.get $H)))
    (local.set $f (i32.load offset=20 (global.get $H)))
    (local.set $g (i32.load offset=24 (global.get $H)))
    (local.set $h (i32.load offset=28 (global.get $H)))

    ;; 64 rounds.
    (local.set $t (i32.const 0))
    (loop $round
      ;; t1 = h + S1(e) + Ch(e, f, g) + K[t] + W[t]
      (local.set $t1
        (i32.add
          (i32.add
            (i32.add
              (local.get $h)
              ;; S1(e) = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)
              (i32.xor (i32.xor (i32.rotr (local.get $e) (i32.const 6))
                                (i32.rotr (local.get $e) (i32.const 11)))
                       (i32.rotr (local.get $e) (i32.const 25))))
            ;; Ch(e, f, g) = (e & f) ^ (~e & g)
            (i32.xor (i32.and (local.get $e) (local.get $f))
                     (i32.and (i32.xor (local.get $e) (i32.const -1)) (local.get $g))))
          (i32.add
            (i32.load (i32.shl (local.get $t) (i32.const 2)))
            (call $w (local.get $t)))))
      ;; t2 = S0(a) + Maj(a, b, c)
      (local.set $t2
        (i32.add
          ;; S0(a) = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)
          (i32.xor (i32.xor (i32.rotr (local.get $a) (i32.const 2))
                            (i32.rotr (local.get $a) (i32.const 13)))
                   (i32.rotr (local.get $a) (i32.const 22)))
          ;; Maj(a, b, c) = (a & b) ^ (a & c) ^ (b & c)
          (i32.xor (i32.xor (i32.and (local.get $a) (local.get $b))
                            (i32.and (local.get $a) (local.get $c)))
                   (i32.and (local.get $b) (local.get $c)))))
      (local.set $h (local.get $g))
      (local.set $g (local.get $f))
      (local.set $f (local.get $e))
      (local.set $e (i32.add (local.get $d) (local.get $t1)))
      (local.set $d (local.get $c))
      (local.set $c (local.get $b))
      (local.set $b (local.get $a))
      (local.set $a (i32.add (local.get $t1) (local.get $t2)))
      (local.set $t (i32.add (local.get $t) (i32.const 1)))
      (br_if $round (i32.lt_u (local.get $t) (i32.const 64))))

    (i32.store offset=0 (global.get $H) (i32.add (i32.load offset=0 (global.get $H)) (local.get $a)))
    (i32.store offset=4 (global.get $H) (i32.add (i32.load offset=4 (global.get $H)) (local.get $b)))
    (i32.store offset=8 (global.get $H) (i32.add (i32.load offset=8 (global.get $H)) (local.get $c)))
    (i32.store offset=12 (global.get $H) (i32.add (i32.load offset=12 (global.get $H)) (local.get $d)))
    (i32.store offset=16 (global.get $H) (i32.add (i32.load offset=16 (global.get $H)) (local.get $e)))
    (i32.store offset=20 (global.get $H) (i32.add (i32.load offset=20 (global.get $H)) (local.get $f)))
    (i32.store offset=24 (global.get $H) (i32.add (i32.load offset=24 (global.get $H)) (local.get $g)))
    (i32.store offset=28 (global.get $H) (i32.add (i32.load offset=28 (global.get $H)) (local.get $h))))

  ;; The leading zero bits of the hash in H (big-endian words, so clz per word).
  (func $leading_zeros (result i32)
    (local $i i32) (local $word i32) (local $zeros i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (i32.const 8)))
        (local.set $word (i32.load (i32.add (global.get $H) (i32.shl (local.get $i) (i32.const 2)))))
        (if (local.get $word)
          (then (return (i32.add (local.get $zeros) (i32.clz (local.get $word))))))
        (local.set $zeros (i32.add (local.get $zeros) (i32.const 32)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $zeros))

  (func (export "run") (result i32)
    (local $size i32) (local $len i32) (local $difficulty i32)
    (local $start i64) (local $count i64) (local $i i64) (local $nonce i64)
    (local $msg_len i32) (local $blocks i32) (local $fixed i32) (local $b i32)
    (local $end i32) (local $need i32) (local $k i32)

    ;; The input: prefixLen, then the prefix straight into MSG, then the 20-byte tail.
    (local.set $size (call $input_size))
    (if (i32.lt_u (local.get $size) (i32.const 24)) (then (return (i32.const 1))))
    (drop (call $read_input (global.get $TAIL) (i32.const 0) (i32.const 4)))
    (local.set $len (i32.load (global.get $TAIL)))
    (if (i32.ne (i32.sub (local.get $size) (i32.const 24)) (local.get $len))
      (then (return (i32.const 1))))

    ;; The padded message: prefix, nonce (8), 0x80, zeros, bit length (8): whole blocks.
    (local.set $msg_len (i32.add (local.get $len) (i32.const 8)))
    (local.set $blocks
      (i32.shr_u (i32.add (local.get $msg_len) (i32.const 72)) (i32.const 6)))
    (local.set $end (i32.add (global.get $MSG) (i32.shl (local.get $blocks) (i32.const 6))))
    (local.set $need
      (i32.sub (i32.shr_u (i32.add (local.get $end) (i32.const 65535)) (i32.const 16))
               (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then
        (if (i32.eq (memory.grow (local.get $need)) (i32.const -1))
          (then (return (i32.const 3))))))

    (drop (call $read_input (global.get $MSG) (i32.const 4) (local.get $len)))
    (drop (call $read_input (global.get $TAIL) (i32.add (i32.const 4) (local.get $len)) (i32.const 20)))
    (local.set $difficulty (i32.load (global.get $TAIL)))
    (local.set $start (i64.load offset=4 (global.get $TAIL)))
    (local.set $count (i64.load offset=12 (global.get $TAIL)))
    (if (i32.gt_u (local.get $difficulty) (i32.const 256)) (then (return (i32.const 2))))

    ;; Padding (fresh memory is zero, so only the 0x80 and the length are written).
    (i32.store8 (i32.add (global.get $MSG) (local.get $msg_len)) (i32.const 0x80))
    ;; The length in bits, big-endian, in the last 8 bytes.
    (local.set $k (i32.const 0))
    (loop $length_bytes
      (i32.store8
        (i32.sub (i32.sub (local.get $end) (i32.const 1)) (local.get $k))
        (i32.wrap_i64
          (i64.shr_u (i64.mul (i64.extend_i32_u (local.get $msg_len)) (i64.const 8))
                     (i64.extend_i32_u (i32.shl (local.get $k) (i32.const 3))))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $length_bytes (i32.lt_u (local.get $k) (i32.const 8))))

    ;; The midstate: the blocks that hold only prefix bytes.
    (call $init_k)
    (call $init_h)
    (local.set $fixed (i32.shr_u (local.get $len) (i32.const 6)))
    (local.set $b (i32.const 0))
    (block $mid_done
      (loop $mid
        (br_if $mid_done (i32.ge_u (local.get $b) (local.get $fixed)))
        (call $compress (i32.add (global.get $MSG) (i32.shl (local.get $b) (i32.const 6))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $mid)))
    (memory.copy (global.get $MID) (global.get $H) (i32.const 32))

    ;; The search.
    (local.set $i (i64.const 0))
    (block $not_found
      (loop $try
        (br_if $not_found (i64.ge_u (local.get $i) (local.get $count)))
        (local.set $nonce (i64.add (local.get $start) (local.get $i)))
        (i64.store (i32.add (global.get $MSG) (local.get $len)) (local.get $nonce))
        (memory.copy (global.get $H) (global.get $MID) (i32.const 32))
        (local.set $b (local.get $fixed))
        (loop $tail_blocks
          (call $compress (i32.add (global.get $MSG) (i32.shl (local.get $b) (i32.const 6))))
          (local.set $b (i32.add (local.get $b) (i32.const 1)))
          (br_if $tail_blocks (i32.lt_u (local.get $b) (local.get $blocks))))
        (if (i32.ge_u (call $leading_zeros) (local.get $difficulty))
          (then
            (i32.store8 (global.get $RESULT) (i32.const 1))
            (i64.store offset=1 (global.get $RESULT) (local.get $nonce))
            (local.set $k (i32.const 0))
            (loop $hash_words
              (i32.store offset=9
                (i32.add (global.get $RESULT) (i32.shl (local.get $k) (i32.const 2)))
                (call $bswap
                  (i32.load (i32.add (global.get $H) (i32.shl (local.get $k) (i32.const 2))))))
              (local.set $k (i32.add (local.get $k) (i32.const 1)))
              (br_if $hash_words (i32.lt_u (local.get $k) (i32.const 8))))
            (call $write_output (global.get $RESULT) (i32.const 41))
            (return (i32.const 0))))
        (local.set $i (i64.add (local.get $i) (i64.const 1)))
        (br $try)))
    ;; Nothing qualified: 41 zero bytes.
    (call $write_output (global.get $RESULT) (i32.const 41))
    (i32.const 0))
)
