cmp n, 4
je L34
cmp n, 3
je L15
cmp n, 2
jne L62
mov r0, m0
mov r1, m1
mov r2, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r2
mov m0, r0
mov m1, r1
jmp L62
L15:
mov r0, m0
mov r1, m1
mov r2, m2
mov r3, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r3
mov r3, r1
cmp r1, r2
cmovg r1, r2
cmovg r2, r3
mov r3, r1
cmp r0, r1
cmovg r1, r0
cmovg r0, r3
mov m0, r0
mov m1, r1
mov m2, r2
jmp L62
L34:
mov r0, m0
mov r1, m1
mov r2, m2
mov r3, m3
mov r4, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r4
mov r4, r2
cmp r2, r3
cmovg r2, r3
cmovg r3, r4
mov r4, r0
cmp r0, r2
cmovg r0, r2
cmovg r2, r4
mov r4, r1
cmp r1, r3
cmovg r1, r3
cmovg r3, r4
mov r4, r1
cmp r1, r2
cmovg r1, r2
cmovg r2, r4
mov m0, r0
mov m1, r1
mov m2, r2
mov m3, r3
L62:
