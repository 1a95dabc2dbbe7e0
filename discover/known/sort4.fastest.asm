; sort4, 30 instructions: the fastest measured on the reference machine (latency mode).
; Found by `discover search --task sort4 --cost measured --time-limit 120 --max-length 34`, re-ranked by
; `discover bench --rank DIR` and re-timed in small batches; ratios: `python bench/ratios.py --task sort4`.
mov r0, m2
mov r4, m0
mov r1, m3
cmp r1, r0
mov r2, r1
cmovle r1, r0
cmovl r0, r2
mov r2, m1
mov r3, r2
cmp r4, r3
cmovg r3, r4
cmovle r2, r4
mov r4, r2
cmp r0, r4
cmovge r4, r0
cmovg r0, r2
mov r2, r1
cmp r2, r3
cmovge r1, r3
cmovge r3, r2
mov r2, r4
mov m0, r1
cmp r1, r2
cmovle r2, r1
mov m0, r0
cmovge r4, r1
mov m3, r3
mov m1, r2
mov m2, r4
cmovge r0, r3
