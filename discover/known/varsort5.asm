cmp n, 2
jl L52
mov r0, m0
mov r1, m1
jle L46
mov r2, m2
mov r4, r2
cmp r1, r2
cmovg r2, r1
cmovg r1, r4
cmp n, 4
jl L41
mov r3, m3
jle L28
mov r5, m4
mov r4, r5
cmp r3, r5
cmovg r5, r3
cmovg r3, r4
mov r4, r0
cmp r0, r5
cmovg r0, r5
cmovg r5, r4
mov r4, r5
cmp r2, r5
cmovg r5, r2
cmovg r2, r4
mov m4, r5
L28:
mov r4, r3
cmp r0, r3
cmovg r3, r0
cmovg r0, r4
mov r5, r3
cmp r1, r3
cmovg r3, r1
cmovg r1, r5
mov r5, r2
cmp r2, r3
cmovg r2, r3
cmovg r3, r5
mov m3, r3
L41:
mov r5, r2
cmp r0, r2
cmovg r2, r0
cmovg r0, r5
mov m2, r2
L46:
mov r4, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r4
mov m1, r1
mov m0, r0
L52:
