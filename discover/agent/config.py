"""Configuration of the discovery agent: network, tree search and training loop.

One frozen dataclass per component (network, search, PPO, the run); the ``discover train``
options mirror their fields one to one (``--simulations`` is ``MCTSConfig.simulations``,
``--ppo-clip`` is ``PPOConfig.clip``). Derived values are
properties, never fields overwritten later.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from discover.known import known_length
from discover.validation import (MAX_PROGRAM_LENGTH, ConfigError, check_choice, check_float,
                                 check_int, check_seed, check_task, check_text)

# The default early-stopping target: the shortest known program length (discover.known)
# for the sizes where it is a published or proved figure: sort2 8 (optimal), sort3 17 and
# sort4 28 (the AlphaDev / CGO'25 figures), sort5 42 (AlphaDev's). For sort6..8 the
# shortest known is only the network program, which a run would match and stop at: those
# runs have no target.
KNOWN_OPTIMUM = {n: known_length(n) for n in (2, 3, 4, 5)}


@dataclass(frozen=True)
class NetworkConfig:
    """Sizes of the policy/value network (defaults small enough for a laptop CPU)."""

    embed_dim: int = 64
    """Width of instruction embeddings, the transformer and the state embedding."""
    layers: int = 0
    """Transformer encoder layers over the program so far (AlphaDev: 6). 0: a sum of
    position-tagged instruction embeddings instead: 2.9x faster per batch of 16 on our CPU,
    and no worse on sort3 in our runs (the state encoder sees what the program computed)."""
    heads: int = 4
    """Attention heads per layer (must divide embed_dim)."""
    state_hidden: int = 128
    """Hidden width of the shared MLP that embeds each test input's machine state."""
    hidden: int = 128
    """Width of the trunk joining program and state before the policy and value heads."""

    def __post_init__(self):
        for name in ("embed_dim", "state_hidden", "hidden"):
            check_int(self, name, 1, MAX_WIDTH)
        check_int(self, "heads", 1, MAX_WIDTH)
        check_int(self, "layers", 0, MAX_LAYERS)
        if self.layers and self.embed_dim % self.heads:
            raise ConfigError(self, "heads", f"({self.heads}) must divide embed_dim "
                              f"({self.embed_dim})", related=("embed_dim",))


@dataclass(frozen=True)
class MCTSConfig:
    """Single-player AlphaZero search (PUCT, Dirichlet root noise, min-max normalised Q)."""

    simulations: int = 48
    """Simulations (leaf evaluations) per move."""
    pb_c_base: float = 19652.0
    """PUCT exploration base (AlphaZero, AlphaDev)."""
    pb_c_init: float = 1.25
    """PUCT exploration constant (AlphaZero, AlphaDev)."""
    greed: float = 0.5
    """Q mixes the mean return (AlphaZero) and the best return seen below an action, as
    (1 - greed) mean + greed best: a one-player deterministic game may trust its best line."""
    dirichlet_alpha: float = 0.3
    """Dirichlet noise concentration at the root (AlphaDev 0.03 over a far larger action set)."""
    noise_fraction: float = 0.25
    """Share of the root prior replaced by Dirichlet noise during self-play."""
    temperature_moves: int = 8
    """Moves sampled in proportion to visit counts before switching to the most visited."""
    discount: float = 1.0
    """Return discount (1: the episode return is the program's score)."""

    def __post_init__(self):
        check_int(self, "simulations", 1, MAX_SIMULATIONS)
        check_float(self, "pb_c_base", 0, lo_open=True)
        check_float(self, "pb_c_init", 0)
        check_float(self, "greed", 0, 1)
        check_float(self, "dirichlet_alpha", 0, lo_open=True)
        check_float(self, "noise_fraction", 0, 1)
        check_int(self, "temperature_moves", 0, MAX_PROGRAM_LENGTH)
        check_float(self, "discount", 0, 1, lo_open=True)


@dataclass(frozen=True)
class PPOConfig:
    """Masked PPO, the comparison learner (same network, no search)."""

    envs: int = 32
    """Games stepped side by side; one rollout is envs x max_length steps."""
    epochs: int = 4
    """Passes over each rollout."""
    minibatch: int = 256
    """Positions per gradient step."""
    clip: float = 0.2
    """Policy ratio clipping."""
    gae_lambda: float = 0.95
    """GAE lambda (the discount is MCTSConfig.discount)."""
    entropy: float = 0.01
    """Entropy bonus weight (entropy over legal actions only)."""
    max_grad_norm: float = 0.5
    """Gradient norm clipping."""

    def __post_init__(self):
        check_int(self, "envs", 1, MAX_WIDTH)
        check_int(self, "epochs", 1, 1000)
        check_int(self, "minibatch", 1)
        check_float(self, "clip", 0, lo_open=True)
        check_float(self, "gae_lambda", 0, 1)
        check_float(self, "entropy", 0)
        check_float(self, "max_grad_norm", 0, lo_open=True)


@dataclass(frozen=True)
class TrainConfig:
    """A training run: task, budget, self-play, learner, evaluation and run directory."""

    task: str = "sort3"
    """Task name (sort2..sort8; varsort2..varsort8: the VarSort game, with branches; a
    comparison kernel: median3, min2max4, top2-of-5, merge2+2, stablesort3, ...; a name
    given to ``Task.from_function`` in this process, or a task file). A ``Task`` object
    is taken too and kept as its name (it must be known by that name: built-in, or
    defined by ``Task.from_function``)."""
    registers: int | None = None
    """Register count R (None: N + 1)."""
    max_length: int | None = None
    """Instructions per episode (None: the sorting-network program's length, 18 for sort3;
    varsortN: see ``game.default_max_length``)."""
    cost: str = "length"
    """Cost term of the reward: 'length' (instruction count), 'latency' (cost model) or
    'measured' (sortN only: games are played with the model, and a correct program's cost
    is its native latency measured on this machine, ``measured.MeasuredReward``; the best
    program is the fastest measured)."""
    observed_inputs: int | None = None
    """Test inputs the network and the shaping see, a fixed evenly spaced subset (None: all;
    the network's cost grows with it: 5.5 ms a position for sort5's 541 on our CPU).
    Rewards and verification always use every input."""
    network_inputs: int | None = None
    """Test inputs the network's state encoder reads, a fixed evenly spaced subset of the
    observed ones (None: all). Unlike ``observed_inputs`` the game, the lower bound behind
    ``prune`` and ``bound_shaping``, and the shaping still see every input: only the
    network's cost shrinks (sort5's 541 inputs are 70% of a training iteration's time)."""
    shaping: float = 1.0
    """Weight of the potential-based shaping reward (progress of sorted values into any
    register; 0: the game's reward only, which moves only when stores happen)."""
    bound_shaping: float = 1.0
    """Weight of a second potential, minus the admissible lower bound on instructions still
    needed (``prune``'s bound) over the length budget: pays each move that brings a correct
    program provably closer (0: off; sort3 seeds 0-5 reach 17 in 1-8 s with it, 10-90 s
    without; sort4 reached 28 only with it). The search's only: PPO keeps ``shaping``."""
    prune: bool = True
    """Close a search node as soon as the admissible lower bound of the enumerative search
    (``kernels/enum/bound.py``) says no correct program fits in the episode's remaining length
    budget: simulations stop spending visits below it (sort3: a uniform-prior search finds
    an 18-instruction program in 5 s with it, none in 60 s without)."""
    shrink_budget: bool = True
    """After a correct program of length L, later games get a budget of L - 1 instructions,
    so every program they solve is a new best (length cost only)."""
    agent: str = "alphazero"
    """Learner: 'alphazero' (network + tree search) or 'ppo' (masked PPO, for comparison)."""
    seed: int = 0
    """Seed of every random choice (torch, numpy, Dirichlet noise, sampling)."""
    budget_minutes: float = 10.0
    """Wall-clock budget of the training loop (JIT warm-up excluded)."""
    max_iterations: int | None = None
    """Stop after this many iterations (self-play round + learner steps); None: budget only."""
    target_length: int | None = -1
    """Stop once a correct program this short is found (-1: the known optimum; 0 or None: never)."""
    games: int = 16
    """Games played side by side per iteration; their leaves share one network batch."""
    actors: int = 1
    """Self-play processes (1: in-process; 2 uses both cores, each plays games/actors).
    With backend 'ray': Ray actors, each playing games/actors at a time, the learner none."""
    backend: str = "local"
    """Where self-play runs: 'local' (this machine's processes) or 'ray' (actors on a Ray
    cluster, agent/ray_actors.py; needs pip install -e '.[ray]'; runs do not repeat exactly)."""
    address: str | None = None
    """Ray cluster address (backend 'ray'; 'auto': the cluster of this node; None: start
    a local one for the run)."""
    buffer_size: int = 20_000
    """Replay buffer capacity in positions (oldest dropped first)."""
    batch_size: int = 128
    """Positions per learner step."""
    train_steps: int = 16
    """Learner steps per iteration."""
    learning_rate: float = 1e-3
    """Adam learning rate."""
    weight_decay: float = 1e-4
    """AdamW weight decay."""
    value_weight: float = 1.0
    """Weight of the value loss against the policy loss."""
    eval_every: int = 10
    """Iterations between evaluations (one greedy game with search, no noise; 0: never)."""
    checkpoint_every: float = 60.0
    """Seconds between checkpoints (one is always written at the end)."""
    out: str | None = None
    """Run directory (None: runs/train-TASK-seedS)."""
    resume: bool = False
    """Continue the run saved in ``out`` (its config must match except for budgets)."""
    init_from: str | None = None
    """Start the network from the one of an earlier run, this directory (any sortN size, or
    varsortN, or the same kernel; the same network sizes): token, policy and state rows
    mapped by meaning (``transfer``). Weights only, not the optimizer or replay buffer."""
    init_fill: bool = False
    """With ``init_from`` (and ``curriculum``): a row with no counterpart (an action or state
    row that uses a register or cell the smaller task has not) copies the nearest one, its
    operands clamped to the source's last register and cell (``mov r4, m3`` from sort3's
    ``mov r3, m2``), instead of keeping its fresh values (a zero policy row)."""
    curriculum: str | None = None
    """Smaller tasks to train on first, in order, comma-separated ('sort3,sort4'): each a
    run of its own in DIR/stage-TASK, stopped at its known optimum, ``stage_iterations`` or
    budget_minutes / (stages + 1), starting from the previous stage's network; then this
    task for the rest of the budget, starting from the last stage's network."""
    stage_iterations: int = 100
    """Iteration cap of each ``curriculum`` stage."""
    device: str = "auto"
    """'auto' (CUDA when present), 'cpu' or 'cuda'."""
    threads: int = 1
    """Torch intra-op threads per process (1 keeps runs deterministic and is fastest for a small net)."""
    progress: bool = True
    """Show a tqdm progress bar on stderr."""
    network: NetworkConfig = field(default_factory=NetworkConfig)
    """Network sizes."""
    mcts: MCTSConfig = field(default_factory=MCTSConfig)
    """Tree search settings."""
    ppo: PPOConfig = field(default_factory=PPOConfig)
    """PPO settings (agent='ppo' only)."""

    def __post_init__(self):
        from discover.kernels import MAX_REGISTERS, Task

        if isinstance(self.task, Task):
            self._take_task(self.task)
        check_task(self, "task")
        check_int(self, "registers", 1, MAX_REGISTERS, optional=True)
        check_int(self, "max_length", 1, MAX_PROGRAM_LENGTH, optional=True)
        check_choice(self, "cost", ("length", "latency", "measured"))
        if self.variable and self.cost != "length":
            raise ConfigError(self, "cost", "must be 'length' for a varsort task (the latency "
                              f"of a branchy program depends on its input), got {self.cost!r}",
                              related=("task",))
        if self.cost == "measured":
            self._check_measured()
        check_int(self, "observed_inputs", 1, optional=True)
        check_int(self, "network_inputs", 1, optional=True)
        check_float(self, "shaping", 0)
        check_float(self, "bound_shaping", 0)
        check_choice(self, "agent", ("alphazero", "ppo"))
        check_seed(self, "seed")
        check_float(self, "budget_minutes", 0, lo_open=True)
        check_int(self, "max_iterations", 0, optional=True)
        if self.target_length is not None and not (
                isinstance(self.target_length, int) and -1 <= self.target_length <= MAX_PROGRAM_LENGTH):
            raise ConfigError(self, "target_length", "must be -1 (the known optimum), 0 or None "
                              f"(never), or a length in 1..{MAX_PROGRAM_LENGTH}, "
                              f"got {self.target_length!r}")
        for name in ("games", "buffer_size", "batch_size"):
            check_int(self, name, 1)
        check_int(self, "actors", 1, MAX_ACTORS)
        from discover.cluster import check_backend

        check_backend(self)
        if self.backend == "ray" and self.agent != "alphazero":
            raise ConfigError(self, "backend", "'ray' needs agent 'alphazero' (PPO has no "
                              f"self-play actors), got {self.agent!r}", related=("agent",))
        for name in ("train_steps", "eval_every"):
            check_int(self, name, 0)
        check_float(self, "learning_rate", 0, lo_open=True)
        check_float(self, "weight_decay", 0)
        check_float(self, "value_weight", 0)
        check_float(self, "checkpoint_every", 0)
        check_text(self, "out", optional=True)
        check_text(self, "init_from", optional=True)
        check_int(self, "stage_iterations", 0)
        self._check_curriculum()
        check_choice(self, "device", ("auto", "cpu", "cuda"))
        check_int(self, "threads", 1, MAX_THREADS)
        if self.actors > self.games:
            raise ConfigError(self, "actors", f"({self.actors}) cannot exceed games "
                              f"({self.games})", related=("games",))
        for name, kind in (("network", NetworkConfig), ("mcts", MCTSConfig), ("ppo", PPOConfig)):
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(self, name, f"must be a {kind.__name__}, "
                                  f"got {getattr(self, name)!r}")

    def _check_measured(self) -> None:
        """cost 'measured': a fixed sort with the network program's registers, played by
        AlphaZero in this process (measurements are taken where the search runs)."""
        if not self.is_sort:
            raise ConfigError(self, "cost", "'measured' needs a sortN task (the measured "
                              "reward is a ratio to its sorting-network program), got task "
                              f"{self.task!r}",
                              related=("task",))
        if self.registers is not None and self.registers < self.n + 1:
            raise ConfigError(self, "cost", "'measured' needs registers >= N + 1 (the network "
                              f"program, the reference, uses them), got {self.registers}",
                              related=("registers",))
        if self.agent != "alphazero":
            raise ConfigError(self, "cost", "'measured' needs agent 'alphazero' (its search "
                              f"rewards measured programs), got {self.agent!r}",
                              related=("agent",))
        if self.actors != 1 or self.backend != "local":
            raise ConfigError(self, "cost", "'measured' needs actors 1 and backend 'local' "
                              "(programs are timed in the learner's process), got actors "
                              f"{self.actors}, backend {self.backend!r}",
                              related=("actors", "backend"))

    @property
    def game_cost(self) -> str:
        """The cost the game itself charges: 'measured' plays with the latency model."""
        return "latency" if self.cost == "measured" else self.cost

    def _check_curriculum(self) -> None:
        if self.curriculum is None:
            return
        check_text(self, "curriculum")
        stages = self.curriculum_tasks
        allowed = _VARSORT_NAMES if self.variable else _SORT_NAMES if self.is_sort else ()
        if not allowed:
            raise ConfigError(self, "curriculum", "applies to sortN and varsortN tasks only, "
                              f"not {self.task!r}", related=("task",))
        for name in stages:
            if name not in allowed:
                kind = "varsortN" if self.variable else "sortN"
                raise ConfigError(self, "curriculum", f"stages must be {kind} tasks like "
                                  f"--task {self.task}, got {name!r}", related=("task",))
        if len(set(stages)) != len(stages):
            raise ConfigError(self, "curriculum", f"lists a task twice: {self.curriculum!r}")

    @property
    def curriculum_tasks(self) -> tuple[str, ...]:
        """The curriculum's stages, in order (empty: none)."""
        if not self.curriculum:
            return ()
        return tuple(name.strip().lower() for name in self.curriculum.split(","))

    def _take_task(self, task) -> None:
        """Keep a Task object given as ``task`` as its name (and its register count)."""
        from discover.kernels import Task, TaskError

        try:
            known = Task.from_name(task.name)
        except TaskError:
            known = None
        if known is None or known.kernel != task.kernel:
            raise ConfigError(self, "task", f"{task.name!r} is not known by that name in this "
                              f"process: define it with Task.from_function")
        object.__setattr__(self, "task", task.name)
        if self.registers is None and task.registers != known.registers:
            object.__setattr__(self, "registers", task.registers)

    @property
    def task_spec(self):
        """The Task this run trains on."""
        from discover.kernels import Task

        return Task.from_name(self.task, self.registers)

    @property
    def n(self) -> int:
        """Items (a kernel's input cells)."""
        return self.task_spec.n

    @property
    def is_sort(self) -> bool:
        """A sortN or varsortN task (not a comparison kernel)."""
        return self.variable or self.task.strip().lower() in _SORT_NAMES

    @property
    def variable(self) -> bool:
        """A varsort task (run-time length, ISA v2 branches)."""
        return self.task.strip().lower() in _VARSORT_NAMES

    @property
    def run_dir(self) -> str:
        return self.out if self.out is not None else f"runs/train-{self.task}-seed{self.seed}"

    @property
    def target(self) -> int | None:
        """The early-stopping length (resolved from ``target_length``)."""
        if self.target_length == -1:
            if self.variable or not self.is_sort:  # no published optimum: the whole budget
                return None
            return KNOWN_OPTIMUM.get(self.n) if self.cost == "length" else None
        return self.target_length or None

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, payload: dict) -> "TrainConfig":
        """Inverse of ``to_json`` (unknown keys raise TypeError)."""
        payload = dict(payload)
        network = NetworkConfig(**payload.pop("network", {}))
        mcts = MCTSConfig(**payload.pop("mcts", {}))
        ppo = PPOConfig(**payload.pop("ppo", {}))
        return cls(**payload, network=network, mcts=mcts, ppo=ppo)


_SORT_NAMES = tuple(f"sort{n}" for n in range(2, 9))
_VARSORT_NAMES = tuple(f"varsort{n}" for n in range(2, 9))

# Fields that may differ between a run and its resumption (budgets, output, device);
# every other field must match, or the checkpoint is refused as incompatible.
RESUMABLE_FIELDS = ("budget_minutes", "max_iterations", "resume", "device", "progress",
                    "checkpoint_every", "target_length", "out", "threads", "backend",
                    "address")

# Caps of the validation (ConfigError past them): sizes that would exhaust memory or
# processes long before they could help.
MAX_WIDTH = 4096  # network widths, heads, PPO envs: a 4096 x 4096 layer is 64 MB of weights
MAX_LAYERS = 64
MAX_SIMULATIONS = 1_000_000  # per move: the tree of one move holds about this many nodes
MAX_ACTORS = 64  # self-play processes
MAX_THREADS = 1024  # torch intra-op threads per process
