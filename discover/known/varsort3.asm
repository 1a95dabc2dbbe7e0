cmp n, 2
jl L21
mov r0, m0
mov r1, m1
jle L15
mov r2, m2
mov r3, r2
cmp r0, r2
cmovg r2, r0
cmovg r0, r3
mov r3, r1
cmp r1, r2
cmovg r1, r2
cmovg r2, r3
mov m2, r2
L15:
mov r3, r1
cmp r0, r1
cmovg r1, r0
cmovg r0, r3
mov m0, r0
mov m1, r1
L21:
