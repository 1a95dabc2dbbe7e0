; varsort3 in 21 instructions: sort (A, B) into lo <= hi, then for n = 3 fold C in
; (the sort3 trick); m0 and m1 are stored on the shared tail.
cmp n, 2
jl end
mov r0, m0
mov r2, m1
mov r3, r2      ; r3 = B
cmp r0, r2
cmovl r3, r0    ; r3 = lo = min(A, B)
cmovg r2, r0    ; r2 = hi = max(A, B)
cmp n, 2
je two
mov r1, m2      ; C
cmp r1, r2
mov r0, r2
cmovg r0, r1    ; r0 = max(C, hi) = max
cmovl r2, r1    ; r2 = x = min(C, hi)
cmp r3, r2
cmovg r2, r3    ; r2 = max(lo, x) = middle
cmovg r3, r1    ; lo > x implies x = C: r3 = min
mov m2, r0
two:
mov m0, r3
mov m1, r2
end:
