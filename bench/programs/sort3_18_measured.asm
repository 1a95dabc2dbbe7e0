; sort3, 18 instructions: found by discover train --task sort3 --cost measured --budget-minutes 5 --seed 0 --max-length 20
; (the agent's reward from measured latency); its third instruction is dead. README: Measured speed as the reward.
; sort3: 18 instructions, verified correct on all 13 weak orderings (discover train, alphazero, seed 0)
mov r0, m0
mov r1, r0
mov r2, r0
mov r3, m1
cmp r1, r3
cmovl r0, r3
mov r2, m2
cmovl r3, r1
cmp r0, r2
mov r1, r0
cmovl r0, r2
mov m2, r0
cmovge r1, r2
cmp r2, r3
cmovl r1, r3
cmovl r3, r2
mov m1, r1
mov m0, r3
