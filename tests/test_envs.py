"""The AssemblyGame environments: Gymnasium contract, rules, rewards, snapshots, canonical form."""

import pickle
import warnings

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from discover.envs import (ENV_IDS, NETWORK_LATENCY, NETWORK_LENGTH, AssemblyGame,
                           CanonicalError, GameConfig, action_table, canonicalize,
                           reference_mask)
from discover.kernels import (Program, Task, TaskError, baseline_program, initial_state,
                              latency_estimate, network_program, run, step, verify)
from discover.kernels.game import (M_LAST_OP, M_LOADED, M_STORED, M_TRUNCATED,
                                   _decode_action)
from discover.kernels.isa import CMOVS, CMP, LOAD, STORE

SORT3_17 = "discover/known/sort3.asm"
# Two of the shortest sort3 programs found by `discover search --method enum --all`: the
# first is played after canonicalize; the second re-loads m2 (outside AlphaDev's "each
# cell read once", allowed with read_once=False).
SORT3_ENUM = """mov r0, m0\nmov r1, m1\nmov r2, m2\nmov r3, r0\ncmp r0, r1\ncmovg r0, r1
cmovg r1, r3\nmov r3, r1\ncmp r1, r2\ncmovg r1, r2\ncmovl r3, r2\ncmp r0, r1\ncmovg r1, r0
cmovg r0, r2\nmov m0, r0\nmov m1, r1\nmov m2, r3\n"""
SORT3_RELOAD = """mov r0, m0\nmov r1, m1\nmov r2, m2\nmov r3, r0\ncmp r0, r1\ncmovg r0, r1
cmovg r1, r3\ncmp r1, r2\ncmovl r2, r1\nmov r3, m2\ncmovl r1, r3\ncmp r0, r2\ncmovg r2, r0
mov m1, r2\nmov m2, r1\ncmovg r0, r3\nmov m0, r0\n"""


def masked_rollout(env, rng, seed=None):
    """Play uniformly random allowed moves until the episode ends; returns the trace."""
    obs, info = env.reset(seed=seed)
    trace = []
    while True:
        allowed = np.flatnonzero(info["action_mask"])
        action = int(rng.choice(allowed))
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((action, reward, obs, info))
        if terminated or truncated:
            return trace, terminated, truncated, info


def initial_fraction(task):
    return float(np.mean(task.inputs == task.expected))


def play(env, program):
    """Play a program move by move; returns (total reward, terminated, truncated, info)."""
    env.reset()
    total, terminated, truncated, info = 0.0, False, False, None
    for row in program:
        assert not (terminated or truncated)
        action = env.action_of(row)
        assert env.action_masks()[action], f"{env.instruction_of(action)} is masked"
        _, reward, terminated, truncated, info = env.step(action)
        total += reward
    return total, terminated, truncated, info


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_registered_env(env_id):
    env = gymnasium.make(env_id)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # check_env's warnings count as failures
        check_env(env.unwrapped)
    game = env.unwrapped
    n = game.task.n
    assert game.task.name == f"sort{n}"
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    # same seed, same rollout (the game has no randomness of its own; masks drive it)
    first = masked_rollout(game, np.random.default_rng(1), seed=7)
    second = masked_rollout(game, np.random.default_rng(1), seed=7)
    assert [a for a, *_ in first[0]] == [a for a, *_ in second[0]]
    assert [r for _, r, *_ in first[0]] == [r for _, r, *_ in second[0]]
    assert np.array_equal(first[0][-1][2]["state"], second[0][-1][2]["state"])
    # pickles mid-episode and continues identically
    game.reset()
    for action in [a for a, *_ in first[0]][:3]:
        game.step(action)
    copy = pickle.loads(pickle.dumps(game))
    assert copy.program() == game.program()
    snapshot = copy.clone()  # the unpickled game's arrays still share its buffer
    assert len(copy.legal_actions()) > 0  # 3 moves in: every game has a move left
    copy.step(copy.legal_actions()[0])
    copy.restore(snapshot)
    allowed = game.legal_actions()
    assert np.array_equal(allowed, copy.legal_actions())
    a = game.step(allowed[-1])
    b = copy.step(allowed[-1])
    assert a[1:4] == b[1:4] and np.array_equal(a[0]["state"], b[0]["state"])


def test_make_forwards_config():
    env = gymnasium.make("discover/Sort3-v0", max_length=20, cost="latency", registers=5,
                         cost_weight=0.25)
    game = env.unwrapped
    assert game.max_length == 20 and game.task.registers == 5
    assert game.config.cost == "latency" and game.config.cost_weight == 0.25
    assert game.observation_space["program"].shape == (20, 3)
    assert game.action_space.n == 8 * 5 * 5 + 2 * 5 * 3
    ansi = gymnasium.make("discover/Sort3-v0", render_mode="ansi")
    ansi.reset()
    ansi.step(ansi.unwrapped.action_of("mov r0, m0"))
    assert ansi.render() == "mov r0, m0\n"
    with pytest.raises(ValueError):
        AssemblyGame(task="sort3", cost="speed")
    with pytest.raises(TaskError):
        AssemblyGame(task="sort9")


def test_default_cost_scales_are_the_network_figures():
    # 2N + 4C instructions for C = 1, 3, 5, 9, 12, 16, 19 comparators (Knuth); the
    # latencies are kernels/cost.py's model (worked by hand for N = 2..5 in test_cost.py).
    assert NETWORK_LENGTH == {2: 8, 3: 18, 4: 28, 5: 46, 6: 60, 7: 78, 8: 92}
    assert NETWORK_LATENCY == {2: 7, 3: 11, 4: 11, 5: 17, 6: 17, 7: 20, 8: 23}
    assert GameConfig(task="sort5").length_budget == 46 + 5
    assert GameConfig(task="sort5", cost="latency").scale == 17.0


def test_action_translation():
    env = AssemblyGame(task="sort4")
    assert env.actions.shape == (env.action_space.n, 3)
    for a in range(env.action_space.n):
        assert env.action_of(env.instruction_of(a)) == a
    assert env.instruction_of(env.action_of("MOV r0, m1")) == "mov r0, m1"
    for n, r in [(4, 5), (3, 2), (2, 7)]:  # the kernel decodes actions from the layout
        table = action_table(n, r)
        assert [tuple(_decode_action(a, r, n)) for a in range(len(table))] == \
            [tuple(int(v) for v in row) for row in table]
    with pytest.raises(ValueError):
        env.action_of("mov r9, m1")  # no such register in sort4 (R = 5)
    with pytest.raises(ValueError):
        env.action_of("mov m0, m1")


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_baseline_program_is_playable(n):
    task = Task(n)
    program = canonicalize(baseline_program(task), task)
    assert len(program) == len(baseline_program(task))
    env = AssemblyGame(task=task.name)
    total, terminated, truncated, info = play(env, program)
    assert terminated and not truncated and info["solved"] and not info["illegal"]
    assert info["solved_inputs"] == task.n_inputs
    assert np.array_equal(run(env.program().code, task.inputs, task.registers), task.expected)
    full = 2.0 * (1 - initial_fraction(task)) + 1.0 - 0.5 * len(program) / NETWORK_LENGTH[n]
    assert total == pytest.approx(full)
    assert env.program() == program and env.program_text() == program.text()


def test_hand_written_sort3_17_is_playable():
    task = Task(3)
    original = Program.read(SORT3_17)
    program = canonicalize(original, task)
    assert len(program) == 17
    env = AssemblyGame(task="sort3", cost="latency")
    total, terminated, truncated, info = play(env, program)
    assert terminated and info["solved"] and env.length == 17
    latency = latency_estimate(program.code, 3, 4)
    assert env.cost == latency
    assert total == pytest.approx(2.0 * (1 - initial_fraction(task)) + 1.0
                                  - 0.5 * latency / NETWORK_LATENCY[3])


def test_enumerated_shortest_sort3_programs():
    task = Task(3)
    for text, options in [(SORT3_ENUM, {}), (SORT3_RELOAD, {"read_once": False})]:
        original = Program.parse(text)
        assert verify(original, task).correct and len(original) == 17
        program = canonicalize(original, task, **options)
        assert len(program) == 17
        _, terminated, _, info = play(AssemblyGame(task="sort3", **options), program)
        assert terminated and info["solved"]
    with pytest.raises(CanonicalError, match="loaded more than once"):
        canonicalize(Program.parse(SORT3_RELOAD), task)


@pytest.mark.parametrize("n", [6, 7, 8])
def test_large_baselines_canonical_and_playable(n):
    task = Task(n)
    program = canonicalize(baseline_program(task), task)
    env = AssemblyGame(task=task.name)
    _, terminated, _, info = play(env, program)
    assert terminated and info["solved"]


@pytest.mark.parametrize("n,pruning", [(2, True), (3, True), (4, True), (3, False),
                                       (4, False)])
def test_masked_random_rollouts_are_well_formed(n, pruning):
    env = AssemblyGame(task=f"sort{n}", pruning=pruning)
    rng = np.random.default_rng(n)
    for _ in range(300):
        trace, terminated, truncated, info = masked_rollout(env, rng)
        program = env.program()
        program.check(n, env.task.registers)  # raises ProgramError if ill-formed
        assert not info["illegal"] and terminated == info["solved"]
        assert len(program) == info["length"] == len(trace)
        if truncated and not terminated:
            assert len(program) == env.max_length or not info["action_mask"].any()
        for _, _, obs, _ in trace[-2:]:
            assert env.observation_space.contains(obs)
        # rewards add up to the change in the fraction placed (+ bonus - cost if solved)
        memory = run(program.code, env.task.inputs, env.task.registers)
        placed = float(np.mean(memory == env.task.expected))
        total = 2.0 * (placed - initial_fraction(env.task))
        if terminated:
            total += 1.0 - 0.5 * len(program) / NETWORK_LENGTH[n]
        assert sum(r for _, r, _, _ in trace) == pytest.approx(total)
        if pruning:
            ops = program.code[:, 0]
            loads = program.code[ops == LOAD, 2]
            assert list(loads) == list(range(len(loads)))  # m0, m1, ... each once
            stores = program.code[ops == STORE, 1]
            assert len(set(stores.tolist())) == len(stores)
            assert not np.any((ops[1:] == CMP) & (ops[:-1] == CMP))


@pytest.mark.parametrize("n,options", [
    (2, {}), (3, {}), (4, {}), (3, {"strict_stores": False}), (3, {"dead_ends": False}),
    (3, {"pruning": False}), (3, {"registers": 5}), (4, {"strict_stores": False}),
    (3, {"read_once": False}), (4, {"read_once": False, "strict_stores": False})])
def test_masks_equal_reference(n, options):
    """The compiled, incremental masks against masks.reference_mask (plain numpy)."""
    env = AssemblyGame(task=f"sort{n}", **options)
    pruning = options.get("pruning", True)
    rng = np.random.default_rng(n)
    for _ in range(12):
        _, info = env.reset()
        while True:
            expected = reference_mask(env.program(), env.task, env.actions, pruning=pruning,
                                      strict_stores=options.get("strict_stores", True),
                                      dead_ends=options.get("dead_ends", True),
                                      read_once=options.get("read_once", True),
                                      max_length=env.max_length)
            assert np.array_equal(info["action_mask"], expected), env.program_text()
            if not expected.any():
                break
            _, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(expected))))
            if terminated or truncated:
                assert not info["action_mask"].any()
                break


def test_discrete_sample_with_mask():
    env = gymnasium.make("discover/Sort3-v0")
    env.action_space.seed(0)
    obs, info = env.reset(seed=0)
    done = False
    while not done:
        mask = env.unwrapped.action_masks()
        assert mask.dtype == np.bool_ and np.array_equal(mask, info["action_mask"])
        action = env.action_space.sample(mask=mask.astype(np.int8))
        assert mask[action]
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
    assert not info["illegal"]


def test_vector_env():
    envs = gymnasium.make_vec("discover/Sort3-v0", num_envs=3, vectorization_mode="sync")
    obs, info = envs.reset(seed=0)
    assert obs["state"].shape == (3, 8, 13) and info["action_mask"].shape == (3, 152)
    rng = np.random.default_rng(0)
    for _ in range(40):  # runs past the length budget: autoreset included
        # an ended game's mask is empty; its next action is ignored (next-step autoreset)
        actions = np.array([rng.choice(np.flatnonzero(m)) if m.any() else 0
                            for m in info["action_mask"]])
        obs, reward, terminated, truncated, info = envs.step(actions)
        assert not info["illegal"].any()
    assert len(envs.call("action_masks")) == 3
    envs.close()


def test_observation_tracks_state_and_program():
    env = AssemblyGame(task="sort3")
    rng = np.random.default_rng(0)
    trace, *_ = masked_rollout(env, rng)
    obs = trace[-1][2]
    length = int(obs["length"][0])
    assert length == env.length
    assert np.array_equal(obs["program"][:length], env.program().code)
    assert np.all(obs["program"][length:] == -1)
    memory = run(env.program().code, env.task.inputs, env.task.registers)
    r = env.task.registers
    assert np.array_equal(obs["state"][r:r + 3], memory)
    # Every observation returned is the state after its move, replayed here on the
    # interpreter: so the game's state is right, and an observation already returned is a
    # copy that later moves leave alone.
    state = initial_state(env.task.inputs, env.task.registers)
    for (op, dst, src), (_, _, obs, _) in zip(env.program().code, trace):
        step(state, op, dst, src, r)
        assert np.array_equal(obs["state"], state)


def test_observed_subset_for_large_tasks():
    env = AssemblyGame(task="sort7")
    k = len(env.observed_columns)
    assert env.observation_space["state"].shape == (env.task.slots, k) and k < 47293
    program = canonicalize(baseline_program(env.task), env.task)
    env.reset()
    obs = None
    for row in list(program)[:20]:
        obs, *_ = env.step(env.action_of(row))
    assert np.array_equal(obs["state"], env._state[:, env.observed_columns])
    small = AssemblyGame(task="sort3", observed_inputs=5)
    assert small.observation_space["state"].shape == (small.task.slots, 5)
    trace, *_ = masked_rollout(small, np.random.default_rng(0))
    full = AssemblyGame(task="sort3")
    full.reset()
    for action, *_ in trace:
        obs, *_ = full.step(action)
    assert np.array_equal(trace[-1][2]["state"], obs["state"][:, small.observed_columns])


def test_clone_restore_replays_exactly():
    env = AssemblyGame(task="sort4")
    rng = np.random.default_rng(5)
    for _ in range(30):
        env.reset()
        trace, *_ = masked_rollout(env, rng)
        actions = [a for a, *_ in trace]
        cut = int(rng.integers(len(actions)))
        env.reset()
        for a in actions[:cut]:
            env.step(a)
        snapshot = env.clone()
        # wander somewhere else, then come back
        for _ in range(3):
            allowed = env.legal_actions()
            if not len(allowed):
                break
            _, _, term, trunc, _ = env.step(int(rng.choice(allowed)))
            if term or trunc:
                break
        env.restore(snapshot)
        for k, a in enumerate(actions[cut:], start=cut):
            obs, reward, term, trunc, info = env.step(a)
            _, r0, o0, i0 = trace[k]
            assert reward == r0 and np.array_equal(obs["state"], o0["state"])
            assert np.array_equal(obs["program"], o0["program"])
            assert np.array_equal(info["action_mask"], i0["action_mask"])
    with pytest.raises(ValueError):
        env.restore(np.zeros(3, dtype=np.uint8))
    # advance() is step() without the observation: same game afterwards
    env.restore(snapshot)
    other = pickle.loads(pickle.dumps(env))
    for a in actions[cut:]:
        reward, terminated, truncated = env.advance(a)
        obs, reward2, terminated2, truncated2, _ = other.step(a)
        assert (reward, terminated, truncated) == (reward2, terminated2, truncated2)
        assert np.array_equal(env.observation()["state"], obs["state"])


def test_illegal_move_ends_episode():
    env = AssemblyGame(task="sort3", illegal_penalty=2.0)
    env.reset()
    masked = int(np.flatnonzero(~env.action_masks())[0])
    _, reward, terminated, truncated, info = env.step(masked)
    assert terminated and not truncated and info["illegal"] and reward == -2.0
    assert not info["action_mask"].any()
    with pytest.raises(RuntimeError):
        env.step(0)


def test_reset_with_prefix_and_truncation():
    env = AssemblyGame(task="sort3", max_length=4)
    obs, info = env.reset(options={"program": "mov r0, m0\nmov r1, m1\n"})
    assert env.length == 2 and int(obs["length"][0]) == 2
    env.step(env.action_of("mov r2, m2"))
    _, _, terminated, truncated, _ = env.step(env.action_of("mov r3, r2"))
    assert truncated and not terminated
    with pytest.raises(ValueError):
        env.reset(options={"program": "mov r1, m0"})  # first write must use r0


def test_pruning_rules():
    env = AssemblyGame(task="sort3", dead_ends=False)
    env.reset()
    allowed = {env.instruction_of(a) for a in env.legal_actions()}
    assert allowed == {"mov r0, m0"}
    env.reset(options={"program": "mov r0, m0\nmov r1, m1"})
    allowed = {env.instruction_of(a) for a in env.legal_actions()}
    assert "cmp r0, r1" in allowed and "cmp r1, r0" not in allowed
    assert "mov r1, r1" not in allowed and "mov r3, r0" not in allowed  # r2 is next
    assert "mov r2, r0" in allowed and "mov r2, m2" in allowed
    assert not any(i.startswith("cmov") for i in allowed)  # no cmp yet
    assert not any(i.startswith("mov m") for i in allowed)  # strict stores: nothing sorted
    env.step(env.action_of("cmp r0, r1"))
    allowed = {env.instruction_of(a) for a in env.legal_actions()}
    assert not any(i.startswith("cmp") for i in allowed)
    assert {"cmovl r0, r1", "cmovg r1, r0", "cmovge r0, r1"} <= allowed
    # cmove/cmovne: r0 != r1 exactly where flags are "less" or "greater", so cmovne is a
    # mov and cmove changes nothing
    assert "cmovne r0, r1" not in allowed and "cmove r0, r1" not in allowed
    unpruned = AssemblyGame(task="sort3", pruning=False)
    unpruned.reset()
    allowed = {unpruned.instruction_of(a) for a in unpruned.legal_actions()}
    assert allowed == {f"mov r{d}, m{i}" for d in range(4) for i in range(3)}


def test_dead_end_rule():
    """Overwriting the only copy of a value that is still needed is masked."""
    env = AssemblyGame(task="sort3")
    env.reset(options={"program": "mov r0, m0\nmov r1, m1\ncmp r0, r1"})
    allowed = {env.instruction_of(a) for a in env.legal_actions()}
    # r0 and r1 are the only copies of m0 and m1: no cmov may overwrite either
    assert not any(i.startswith("cmov") for i in allowed)
    assert "mov r0, r1" not in allowed and "mov r2, r0" in allowed
    env.reset(options={"program": "mov r0, m0\nmov r1, m1\nmov r2, r0\ncmp r0, r1"})
    allowed = {env.instruction_of(a) for a in env.legal_actions()}
    assert {"cmovg r0, r1", "cmovl r2, r1"} <= allowed  # r2 keeps m0's value
    assert "cmovg r1, r0" not in allowed  # r1 is still the only copy of m1
    # random play on sort2 gets sorted now and then (1 in 5,000 without the rule)
    env = AssemblyGame(task="sort2")
    rng = np.random.default_rng(0)
    solved = sum(masked_rollout(env, rng)[3]["solved"] for _ in range(300))
    assert solved > 0


def shortest_solution(env, limit):
    """Breadth-first search of the game for the shortest correct program (tiny tasks only).

    Positions are merged when their machine states and everything the masks depend on
    agree (unpruned masks depend on the machine state alone), so this is exhaustive.
    """
    pruning = env.config.pruning
    env.reset()
    frontier, seen = [env.clone()], set()
    for depth in range(1, limit + 1):
        following = []
        for snapshot in frontier:
            env.restore(snapshot)
            for action in env.legal_actions():
                env.restore(snapshot)
                env._play(action)  # step() without building the observation
                if env.solved:
                    return depth
                meta = env._meta
                if meta[M_TRUNCATED]:
                    continue
                key = env._state.tobytes()
                if pruning:
                    key += meta[[M_LOADED, M_STORED, M_LAST_OP]].tobytes()
                if key not in seen:
                    seen.add(key)
                    following.append(env.clone())
        frontier = following
    return None


def test_pruning_keeps_the_shortest_sort2():
    """Exhaustive: the pruned game's shortest sort2 is as short as the unpruned game's."""
    pruned = shortest_solution(AssemblyGame(task="sort2", max_length=9), 9)
    unpruned = shortest_solution(AssemblyGame(task="sort2", max_length=9, pruning=False), 9)
    assert pruned == unpruned == 8


def test_canonicalize_rewrites():
    task = Task(3)
    base = baseline_program(task)
    rows = [tuple(r) for r in base]
    # registers renamed: swap r0 and r3 everywhere
    perm = {0: 3, 3: 0, 1: 1, 2: 2}
    renamed = [(op, d if op == STORE else perm[d], s if op == LOAD else perm[s])
               for op, d, s in rows]
    assert canonicalize(Program.from_instructions(renamed), task) == base
    # loads out of order (independent): reordered
    shuffled = [rows[2], rows[0], rows[1]] + rows[3:]
    assert canonicalize(Program.from_instructions(shuffled), task) == base
    # a swapped cmp and its cmovs, a no-op mov and a dead cmp: same program back
    i = rows.index((CMP, 0, 1))
    flipped = rows[:i] + [(CMP, 1, 0), (CMOVS[0], 0, 1), (CMOVS[0], 1, 3)] + rows[i + 3:]
    noisy = flipped[:4] + [(0, 1, 1), (CMP, 0, 2)] + flipped[4:]
    out = canonicalize(Program.from_instructions(noisy), task)
    assert out == base
    # a register reused between loads cannot be reordered
    reused = Program.parse("mov r0, m1\nmov m1, r0\nmov r0, m0\nmov m0, r0\n")
    with pytest.raises(CanonicalError):
        canonicalize(reused, Task(2))
    twice = Program.parse("mov r0, m0\nmov r1, m0\n")
    with pytest.raises(CanonicalError):
        canonicalize(twice, Task(2))


@pytest.mark.parametrize("n", [3, 4])
def test_canonicalize_keeps_output_of_random_networks(n):
    """Random comparator networks with random register names and load order."""
    task = Task(n)
    rng = np.random.default_rng(n)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    shorter = 0
    for _ in range(20):
        network = [pairs[k] for k in rng.integers(len(pairs), size=6)]
        base = network_program(network, n)
        perm = rng.permutation(task.registers)
        rows = [(op, d if op == STORE else perm[d], s if op == LOAD else perm[s])
                for op, d, s in base]
        order = rng.permutation(n)
        rows = [rows[k] for k in order] + rows[n:]
        program = Program.from_instructions(rows)
        out = canonicalize(program, task, strict_stores=False)
        assert len(out) <= len(program)
        shorter += len(out) < len(program)  # redundant comparators dropped
        assert np.array_equal(run(out.code, task.inputs, task.registers),
                              run(program.code, task.inputs, task.registers))
        play(AssemblyGame(task=task.name, strict_stores=False, max_length=len(out) + 1), out)
    assert shorter > 0


def test_config_object():
    config = GameConfig(task="sort4", max_length=30)
    env = AssemblyGame(config=config)
    assert env.max_length == 30 and env.task.n == 4
    with pytest.raises(TypeError):
        AssemblyGame(config=config, cost_weight=1.0)
