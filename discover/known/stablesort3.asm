; stablesort3 in 32 instructions, found by the enumeration's register phase:
; discover search --task stablesort3 --method enum --exact --time-limit 120 (after 0.7 s). Baseline (stable
; insertion network carrying payloads): 33. Not proved optimal (lower bound 22).
mov r0, m0
mov r1, m1
mov r2, m2
mov r3, m3
mov r4, m4
mov r5, m5
mov r6, r0
cmp r0, r1
cmovg r0, r1
cmovg r1, r6
mov r6, r3
cmovg r3, r4
cmovg r4, r6
mov r6, r1
cmp r1, r2
cmovg r1, r2
cmovg r2, r6
mov r6, r4
cmovg r4, r5
cmovle r6, r5
cmp r0, r1
cmovg r4, r3
cmovg r3, r5
cmovl r5, r0
cmovl r0, r1
cmovl r1, r5
mov m0, r1
mov m1, r0
mov m2, r2
mov m3, r3
mov m4, r4
mov m5, r6
