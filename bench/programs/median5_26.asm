; median5 (registers: 6): 26 instructions (20 register-only)
; Devillard's opt_med5 median network (7 comparators: 0-1 3-4 0-3 1-4 1-2 2-3 1-2),
; each comparator pruned by hand to the halves the median needs; verified on all 541
; weak orderings (discover verify --task median5 bench/programs/median5_26.asm)
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
cmp r0, r3
cmovg r3, r0
cmp r1, r4
cmovg r1, r4
mov r5, r1
cmp r1, r2
cmovg r1, r2
cmovg r2, r5
cmp r2, r3
cmovg r2, r3
cmp r1, r2
cmovg r2, r1
mov m0, r2
