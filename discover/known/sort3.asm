; sort3 in 17 instructions (11 register-only), written by hand: sort (A, C), then
; fold B in, using that lo <= hi (the AlphaDev sort3 trick). Verified by discover verify.
mov r0, m0
mov r1, m1
mov r2, m2
mov r3, r2      ; r3 = C
cmp r0, r2
cmovl r3, r0    ; r3 = lo = min(A, C)
cmovg r2, r0    ; r2 = hi = max(A, C)
cmp r1, r2
mov r0, r2
cmovg r2, r1    ; r2 = max(B, hi) = max
cmovl r0, r1    ; r0 = x = min(B, hi)
cmp r3, r0
cmovg r0, r3    ; r0 = max(lo, x) = middle
cmovg r3, r1    ; lo > x implies x = B: r3 = min
mov m0, r3
mov m1, r0
mov m2, r2
