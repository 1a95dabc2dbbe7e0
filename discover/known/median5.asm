; median5 in 26 instructions (18 register-only; 7 loads, a reload doing a mov's work), found by
; the stochastic search: discover search --task median5 --time-limit 60 (seed 0, after 9.8 s).
; Baseline then (the pruned sort5 network): 34; since, Devillard's median network, also 26 (20 register-only) and faster measured. Not proved optimal (the enumeration's lower bound: see the README, "Beyond sorting").
mov r5, m4
mov r1, m1
cmp r5, r1
mov r0, m4
cmovg r0, r1
mov r3, m3
cmovge r1, r5
mov r4, m2
mov r2, m0
cmp r2, r4
cmovg r4, r2
mov r5, m2
cmovg r2, r5
cmp r0, r2
cmovg r2, r0
cmp r1, r4
cmovg r1, r4
cmp r3, r2
cmovge r5, r3
cmovl r5, r2
cmovl r2, r3
cmp r1, r5
cmovg r1, r5
cmp r1, r2
cmovg r2, r1
mov m0, r2
