cmp n, 2
jl L33
mov r0, m0
mov r1, m1
mov r4, r1
cmp r0, r1
cmovg r1, r0
cmovg r0, r4
cmp n, 3
jl L31
mov r2, m2
jle L22
mov r3, m3
mov r4, r3
cmp r2, r3
cmovg r3, r2
cmovg r2, r4
mov r4, r1
cmp r1, r3
cmovg r1, r3
cmovg r3, r4
mov m3, r3
L22:
mov r4, r2
cmp r0, r2
cmovg r2, r0
cmovg r0, r4
mov r4, r1
cmp r1, r2
cmovg r1, r2
cmovg r2, r4
mov m2, r2
L31:
mov m0, r0
mov m1, r1
L33:
