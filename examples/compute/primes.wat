;; primes.wat: lists the primes in a range with a segmented sieve of Eratosthenes.
;;
;; Input (8 bytes, little-endian):
;;   0  lo  u32   first number of the range
;;   4  hi  u32   end of the range (not included)
;;
;; Output (little-endian): count u32, then each prime p with lo <= p < hi, ascending, as u32.
;; An empty range (hi <= lo) gives count 0. Any u32 range works, up to hi = 2^32 - 1.
;;
;; run() returns 0, or:
;;   1  the input is not 8 bytes
;;   2  hi - lo is over 16,000,000 (no range that size holds more primes than fit the 4 MiB
;;      output cap: [0, 16e6) has 1,031,130)
;;   3  memory.grow refused the sieve
;;
;; How: every composite n < 2^32 has a prime factor below 65536, so a small sieve finds the primes
;; below 65536 first; then, for each of those p, the multiples of p in [lo, hi) from max(p*p, the
;; first multiple >= lo) on are crossed out in a segment of hi - lo bytes. The counting is in i64
;; where p*p and the multiples could pass 2^32.
(module
  (import "spare" "memory" (memory 1))
  (import "spare" "input_size" (func $input_size (result i32)))
  (import "spare" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
  (import "spare" "write_output" (func $write_output (param i32 i32)))

  ;; Memory layout (a fresh memory is all zeros):
  ;;   0x00000  the input (8 bytes)
  ;;   0x00100  SMALL: 65536 flags, SMALL[n] = 1 when n < 65536 is not prime
  ;;   0x10100  OUT: 64 KiB of output staging (16384 u32)
  ;;   0x20100  SEG: hi - lo flags, SEG[k] = 1 when lo + k is not prime
  (global $SMALL i32 (i32.const 0x00100))
  (global $OUT i32 (i32.const 0x10100))
  (global $OUT_SIZE i32 (i32.const 0x10000))
  (global $SEG i32 (i32.const 0x20100))
  (global $MAX_RANGE i32 (i32.const 16000000))

  ;; The small sieve: marks every composite below 65536 in SMALL.
  (func $small_sieve
    (local $p i32) (local $m i32)
    (i32.store8 (global.get $SMALL) (i32.const 1)) ;; 0
    (i32.store8 (i32.add (global.get $SMALL) (i32.const 1)) (i32.const 1)) ;; 1
    (local.set $p (i32.const 2))
    (block $done
      (loop $next_p
        (br_if $done (i32.ge_u (i32.mul (local.get $p) (local.get $p)) (i32.const 65536)))
        (if (i32.eqz (i32.load8_u (i32.add (global.get $SMALL) (local.get $p))))
          (then
            (local.set $m (i32.mul (local.get $p) (local.get $p)))
            (block $marked
              (loop $mark
                (br_if $marked (i32.ge_u (local.get $m) (i32.const 65536)))
                (i32.store8 (i32.add (global.get $SMALL) (local.get $m)) (i32.const 1))
                (local.set $m (i32.add (local.get $m) (local.get $p)))
                (br $mark)))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $next_p))))

  ;; Crosses out the composites of [lo, hi) in SEG.
  (func $segment_sieve (param $lo i64) (param $hi i64)
    (local $p i64) (local $m i64) (local $first i64)
    ;; 0 and 1 are not prime.
    (if (i64.eqz (local.get $lo))
      (then (i32.store8 (global.get $SEG) (i32.const 1))))
    (if (i32.and (i64.le_u (local.get $lo) (i64.const 1)) (i64.gt_u (local.get $hi) (i64.const 1)))
      (then
        (i32.store8
          (i32.add (global.get $SEG) (i32.wrap_i64 (i64.sub (i64.const 1) (local.get $lo))))
          (i32.const 1))))
    (local.set $p (i64.const 2))
    (block $done
      (loop $next_p
        ;; Only primes with p*p < hi have multiples to cross out.
        (br_if $done (i64.ge_u (local.get $p) (i64.const 65536)))
        (br_if $done (i64.ge_u (i64.mul (local.get $p) (local.get $p)) (local.get $hi)))
        (if (i32.eqz (i32.load8_u (i32.add (global.get $SMALL) (i32.wrap_i64 (local.get $p)))))
          (then
            ;; first = max(p*p, ceil(lo / p) * p)
            (local.set $first
              (i64.mul
                (i64.div_u (i64.add (local.get $lo) (i64.sub (local.get $p) (i64.const 1)))
                           (local.get $p))
                (local.get $p)))
            (local.set $m (i64.mul (local.get $p) (local.get $p)))
            (if (i64.gt_u (local.get $first) (local.get $m))
              (then (local.set $m (local.get $first))))
            (block $marked
              (loop $mark
                (br_if $marked (i64.ge_u (local.get $m) (local.get $hi)))
                (i32.store8
                  (i32.add (global.get $SEG) (i32.wrap_i64 (i64.sub (local.get $m) (local.get $lo))))
                  (i32.const 1))
                (local.set $m (i64.add (local.get $m) (local.get $p)))
                (br $mark)))))
        (local.set $p (i64.add (local.get $p) (i64.const 1)))
        (br $next_p))))

  (func (export "run") (result i32)
    (local $lo i32) (local $hi i32) (local $len i32) (local $need i32)
    (local $k i32) (local $count i32) (local $fill i32)

    (if (i32.ne (call $input_size) (i32.const 8)) (then (return (i32.const 1))))
    (drop (call $read_input (i32.const 0) (i32.const 0) (i32.const 8)))
    (local.set $lo (i32.load (i32.const 0)))
    (local.set $hi (i32.load (i32.const 4)))

    ;; An empty range (hi <= lo) goes the same way with len 0: count 0, no primes.
    (if (i32.gt_u (local.get $hi) (local.get $lo))
      (then (local.set $len (i32.sub (local.get $hi) (local.get $lo)))))
    (if (i32.gt_u (local.get $len) (global.get $MAX_RANGE)) (then (return (i32.const 2))))

    ;; Room for SEG.
    (local.set $need
      (i32.sub
        (i32.shr_u (i32.add (i32.add (global.get $SEG) (local.get $len)) (i32.const 65535))
                   (i32.const 16))
        (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then
        (if (i32.eq (memory.grow (local.get $need)) (i32.const -1))
          (then (return (i32.const 3))))))

    (call $small_sieve)
    (call $segment_sieve (i64.extend_i32_u (local.get $lo)) (i64.extend_i32_u (local.get $hi)))

    ;; The count goes first, so count before listing.
    (local.set $k (i32.const 0))
    (block $counted
      (loop $count_next
        (br_if $counted (i32.ge_u (local.get $k) (local.get $len)))
        (if (i32.eqz (i32.load8_u (i32.add (global.get $SEG) (local.get $k))))
          (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $count_next)))
    (i32.store (global.get $OUT) (local.get $count))
    (call $write_output (global.get $OUT) (i32.const 4))

    ;; The primes, staged in OUT and written 64 KiB at a time.
    (local.set $k (i32.const 0))
    (block $listed
      (loop $list_next
        (br_if $listed (i32.ge_u (local.get $k) (local.get $len)))
        (if (i32.eqz (i32.load8_u (i32.add (global.get $SEG) (local.get $k))))
          (then
            (i32.store (i32.add (global.get $OUT) (local.get $fill))
                       (i32.add (local.get $lo) (local.get $k)))
            (local.set $fill (i32.add (local.get $fill) (i32.const 4)))
            (if (i32.eq (local.get $fill) (global.get $OUT_SIZE))
              (then
                (call $write_output (global.get $OUT) (local.get $fill))
                (local.set $fill (i32.const 0))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $list_next)))
    (if (local.get $fill)
      (then (call $write_output (global.get $OUT) (local.get $fill))))
    (i32.const 0))
)
