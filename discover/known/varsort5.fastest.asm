cmp n, 5
je L65
cmp n, 4
je L36
cmp n, 3
je L17
cmp n, 2
jne L111
mov r0, m0
mov r1, m1
mov r4, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r4
mov m0, r0
mov m1, r1
jmp L111
L17:
mov r0, m0
mov r1, m1
mov r2, m2
mov r5, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r5
mov r4, r1
cmp r1, r2
cmovg r1, r2
cmovg r2, r4
mov r3, r1
cmp r0, r1
cmovg r1, r0
cmovg r0, r3
mov m0, r0
mov m1, r1
mov m2, r2
jmp L111
L36:
mov r0, m0
mov r1, m1
mov r2, m2
mov r3, m3
mov r4, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r4
mov r5, r2
cmp r2, r3
cmovg r2, r3
cmovg r3, r5
mov r4, r0
cmp r0, r2
cmovg r0, r2
cmovg r2, r4
mov r4, r1
cmp r1, r3
cmovg r1, r3
cmovg r3, r4
mov r5, r2
cmp r1, r2
cmovg r2, r1
cmovg r1, r5
mov m0, r0
mov m1, r1
mov m2, r2
mov m3, r3
jmp L111
L65:
mov r0, m0
mov r1, m1
mov r2, m2
mov r3, m3
mov r4, m4
mov r5, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r5
mov r5, r3
cmp r3, r4
cmovg r3, r4
cmovg r4, r5
mov r5, r2
cmp r2, r4
cmovg r2, r4
cmovg r4, r5
mov r5, r3
cmp r2, r3
cmovg r3, r2
cmovg r2, r5
mov r5, r4
cmp r1, r4
cmovg r4, r1
cmovg r1, r5
mov r5, r3
cmp r0, r3
cmovg r3, r0
cmovg r0, r5
mov r5, r0
cmp r0, r2
cmovg r0, r2
cmovg r2, r5
mov r5, r3
cmp r1, r3
cmovg r3, r1
cmovg r1, r5
mov r5, r2
cmp r1, r2
cmovg r2, r1
cmovg r1, r5
mov m0, r0
mov m1, r1
mov m2, r2
mov m3, r3
mov m4, r4
L111:
