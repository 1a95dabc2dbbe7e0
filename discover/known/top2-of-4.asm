; top2-of-4 in 20 instructions (12 register-only; 6 loads, no mov), found by the stochastic search:
; discover search --task top2-of-4 --time-limit 30 (seed 0, after 3.2 s); the enumeration finds 20 too.
; Baseline: 22. Not proved optimal: the enumeration proves no program of 17 or fewer exists.
mov r0, m0
mov r3, m3
mov r4, m0
mov r1, m1
cmp r4, r1
mov r2, m2
cmovg r0, r1
cmovge r1, r4
cmp r2, r3
mov r4, m3
cmovle r3, r2
cmovge r4, r2
cmp r0, r3
cmovge r1, r0
cmovl r4, r3
cmovg r0, r3
mov m0, r0
cmp r1, r4
cmovge r1, r4
mov m1, r1
