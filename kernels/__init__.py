"""The compiled core: program contract (ISA v1 and v2), tasks, interpreters, verifier,
cost model and the sorting-network baselines.

Imports nothing else of the project (the bottom layer).
"""

from .cost import (ISSUE_WIDTH, LATENCY, MODEL_SIZE, latency_estimate, latency_model,
                   modelled_latency, pack_model)
from .flow import run_flow, score_flow, score_flow_batch, trace_flow
from .interp import (UNSET, initial_state, placed_counts, run, run_batch, step,
                     step_batch)
from .isa import (CMOVE, CMOVG, CMOVGE, CMOVL, CMOVLE, CMOVNE, CMOVS, CMP, COND_MASK,
                  FLAG_EQ, FLAG_GT, FLAG_LT, FLAG_UNSET, LOAD, MAX_REGISTERS, MOV,
                  N_OPCODES, OPCODES, STORE, OpSpec, Program, ProgramError,
                  format_instruction, parse_instruction)
from .isa import (CMPN, CONTROL, JE, JG, JGE, JL, JLE, JMP, JNE, JUMPS, N_ALL_OPCODES)
from .networks import (MERGE_NETWORKS, OPTIMAL_NETWORKS, baseline_program, network_program,
                       varsort_program)
from .reference import run_reference
from .tasks import (ALL_TASK_NAMES, KERNEL_TASK_NAMES, PAD, TASK_NAMES, VARSORT_NAMES, Kernel, Task,
                    TaskError, weak_orderings)
from .verify import FlowCost, Verification, check_program, flow_cost, verify

__all__ = [
    "CMOVE", "CMOVG", "CMOVGE", "CMOVL", "CMOVLE", "CMOVNE", "CMOVS", "CMP",
    "COND_MASK", "FLAG_EQ", "FLAG_GT", "FLAG_LT", "FLAG_UNSET", "ISSUE_WIDTH",
    "LATENCY", "LOAD", "MAX_REGISTERS", "MERGE_NETWORKS", "MOV", "N_OPCODES", "OPCODES",
    "OPTIMAL_NETWORKS",
    "OpSpec", "Program", "ProgramError", "STORE", "TASK_NAMES", "Task", "TaskError", "UNSET",
    "Verification", "baseline_program", "format_instruction", "initial_state",
    "MODEL_SIZE", "latency_estimate", "latency_model", "modelled_latency", "network_program",
    "pack_model",
    "parse_instruction", "placed_counts", "run", "run_batch", "run_reference", "step",
    "step_batch", "verify", "weak_orderings",
    "ALL_TASK_NAMES", "KERNEL_TASK_NAMES", "Kernel", "CMPN", "CONTROL", "FlowCost", "JE", "JG", "JGE", "JL", "JLE", "JMP",
    "JNE", "JUMPS", "N_ALL_OPCODES", "PAD", "VARSORT_NAMES", "check_program", "flow_cost",
    "run_flow", "score_flow", "score_flow_batch", "trace_flow", "varsort_program",
]
