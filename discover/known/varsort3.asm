cmp n, 2
jl L19
mov r0, m1
mov r1, m0
je L13
mov r3, r0
cmp r1, r0
cmovle r0, r1
cmovg r3, r1
mov r1, m2
cmp r3, r1
jl L17
mov m2, r3
L13:
mov r3, r0
cmp r0, r1
cmovge r0, r1
cmovl r3, r1
L17:
mov m0, r0
mov m1, r3
L19:
