; sort3, 20 instructions: the fastest measured on the reference machine (latency mode).
; Found by `discover search --task sort3 --cost measured --time-limit 20 --max-length 20`, re-ranked by
; `discover bench --rank DIR` and re-timed in small batches; ratios: `python bench/ratios.py --task sort3`.
mov r3, m0
mov r0, m1
cmp r0, r3
mov r1, m0
mov r1, r3
mov r2, m2
cmovg r1, r0
cmovg r0, r3
cmp r1, r2
mov r3, m2
cmovge r2, r1
cmovge r1, r3
cmp r0, r3
cmovle r3, r0
mov m0, r3
cmovg r1, r0
cmove r0, r2
mov m1, r1
mov m2, r2
cmovne r0, r2
