cmp n, 3
je L7
cmp n, 2
jne L25
mov r0, m0
mov r1, m1
jmp L19
L7:
mov r0, m0
mov r1, m1
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
L19:
mov r3, r1
cmp r0, r1
cmovg r1, r0
cmovg r0, r3
mov m1, r1
mov m0, r0
L25:
