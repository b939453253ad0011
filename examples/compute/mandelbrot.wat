;; mandelbrot.wat: renders one tile of the Mandelbrot set as escape-time counts.
;;
;; Input (44 bytes, little-endian):
;;   0  width    u32   pixels per row
;;   4  height   u32   rows
;;   8  x0       f64   real part of the top-left pixel
;;   16 y0       f64   imaginary part of the top-left pixel
;;   24 dx       f64   step between columns
;;   32 dy       f64   step between rows
;;   40 maxIter  u32   iterations at most
;;
;; Output: width * height bytes, row by row. Pixel (i, j) is c = (x0 + i*dx) + (y0 + j*dy)i and its
;; byte is n = the number of iterations z <- z^2 + c (from z = 0) done before |z|^2 > 4, at most
;; maxIter, clamped to 255. The arithmetic is plain IEEE f64 in a fixed order (see $pixel), so any
;; donor gets the same bytes.
;;
;; run() returns 0, or:
;;   1  the input is not 44 bytes
;;   2  width or width * height is over 4 MiB (the output cap)
;;   3  memory.grow refused the row buffer
(module
  (import "spare" "memory" (memory 1))
  (import "spare" "input_size" (func $input_size (result i32)))
  (import "spare" "read_input" (func $read_input (param i32 i32 i32) (result i32)))
  (import "spare" "write_output" (func $write_output (param i32 i32)))

  ;; Memory layout: the 44-byte header at 0, one row of output at ROW.
  (global $ROW i32 (i32.const 64))

  ;; The escape count of one point c = cx + cy*i, clamped to 255.
  (func $pixel (param $cx f64) (param $cy f64) (param $max i32) (result i32)
    (local $zx f64) (local $zy f64) (local $x2 f64) (local $y2 f64) (local $n i32)
    (block $escaped
      (loop $iterate
        (br_if $escaped (i32.ge_u (local.get $n) (local.get $max)))
        (local.set $x2 (f64.mul (local.get $zx) (local.get $zx)))
        (local.set $y2 (f64.mul (local.get $zy) (local.get $zy)))
        (br_if $escaped (f64.gt (f64.add (local.get $x2) (local.get $y2)) (f64.const 4)))
        ;; zy = (2 * zx) * zy + cy ; zx = (x2 - y2) + cx
        (local.set $zy
          (f64.add (f64.mul (f64.mul (f64.const 2) (local.get $zx)) (local.get $zy)) (local.get $cy)))
        (local.set $zx (f64.add (f64.sub (local.get $x2) (local.get $y2)) (local.get $cx)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $iterate)))
    (select (i32.const 255) (local.get $n) (i32.gt_u (local.get $n) (i32.const 255))))

  (func (export "run") (result i32)
    (local $width i32) (local $height i32) (local $max i32)
    (local $x0 f64) (local $y0 f64) (local $dx f64) (local $dy f64)
    (local $i i32) (local $j i32) (local $cy f64) (local $need i32)

    ;; Read and check the header.
    (if (i32.ne (call $input_size) (i32.const 44)) (then (return (i32.const 1))))
    (drop (call $read_input (i32.const 0) (i32.const 0) (i32.const 44)))
    (local.set $width (i32.load (i32.const 0)))
    (local.set $height (i32.load (i32.const 4)))
    (local.set $x0 (f64.load (i32.const 8)))
    (local.set $y0 (f64.load (i32.const 16)))
    (local.set $dx (f64.load (i32.const 24)))
    (local.set $dy (f64.load (i32.const 32)))
    (local.set $max (i32.load (i32.const 40)))
    (if (i32.gt_u (local.get $width) (i32.const 4194304)) (then (return (i32.const 2))))
    (if (i64.gt_u
          (i64.mul (i64.extend_i32_u (local.get $width)) (i64.extend_i32_u (local.get $height)))
          (i64.const 4194304))
      (then (return (i32.const 2))))

    ;; Make room for one row after the header.
    (local.set $need
      (i32.sub
        (i32.shr_u (i32.add (i32.add (global.get $ROW) (local.get $width)) (i32.const 65535))
                   (i32.const 16))
        (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then
        (if (i32.eq (memory.grow (local.get $need)) (i32.const -1))
          (then (return (i32.const 3))))))

    ;; Row by row: fill the row buffer, then append it to the output.
    (local.set $j (i32.const 0))
    (block $rows_done
      (loop $rows
        (br_if $rows_done (i32.ge_u (local.get $j) (local.get $height)))
        (local.set $cy
          (f64.add (local.get $y0) (f64.mul (f64.convert_i32_u (local.get $j)) (local.get $dy))))
        (local.set $i (i32.const 0))
        (block $cols_done
          (loop $cols
            (br_if $cols_done (i32.ge_u (local.get $i) (local.get $width)))
            (i32.store8
              (i32.add (global.get $ROW) (local.get $i))
              (call $pixel
                (f64.add (local.get $x0) (f64.mul (f64.convert_i32_u (local.get $i)) (local.get $dx)))
                (local.get $cy)
                (local.get $max)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $cols)))
        (call $write_output (global.get $ROW) (local.get $width))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rows)))
    (i32.const 0))
)
