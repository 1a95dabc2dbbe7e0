; min2max3 in 13 instructions (8 register-only), proved optimal by the enumeration:
; discover search --task min2max3 --method enum --exact (under a second). Baseline (tournament): 15.
mov r0, m0
mov r1, m1
mov r2, m2
mov r3, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r3
cmp r0, r2
cmovg r0, r2
cmp r1, r2
cmovg r2, r1
mov m0, r0
mov m1, r2
