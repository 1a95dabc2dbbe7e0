"""``discover train``: train the discovery agent (or the PPO baseline) on a sorting task.

The options mirror ``TrainConfig``, ``NetworkConfig``, ``MCTSConfig`` and ``PPOConfig``
field for field (``--simulations`` is ``MCTSConfig.simulations``). Torch is imported inside
``run_train`` only, so other commands start fast.

Exit codes: 0 done (whether or not a correct program was found: the summary says),
2 bad options or a checkpoint that cannot be resumed, 130 stopped by Ctrl-C (the run
directory keeps everything found, and ``--resume DIR`` continues it).
"""

from __future__ import annotations

import dataclasses
import sys

from discover.cli import UsageError

from .config import MCTSConfig, NetworkConfig, PPOConfig, TrainConfig

# Fields set by dedicated options (or not options at all).
_SPECIAL = {"task", "registers", "out", "resume", "progress", "network", "mcts", "ppo"}


def _boolean(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(text)


_boolean.__name__ = "bool"


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _field_docs(cls) -> dict[str, str]:
    """The docstring under each dataclass field (read from the source)."""
    import ast
    import inspect
    import textwrap

    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    docs, body = {}, tree.body[0].body
    for node, nxt in zip(body, body[1:]):
        if isinstance(node, ast.AnnAssign) and isinstance(nxt, ast.Expr) \
                and isinstance(getattr(nxt, "value", None), ast.Constant):
            docs[node.target.id] = str(nxt.value.value).replace("%", "%%")
    return docs


def _add_fields(parser, cls, prefix: str = "") -> None:
    docs = _field_docs(cls)
    group = parser.add_argument_group(cls.__name__)
    for f in dataclasses.fields(cls):
        if f.name in _SPECIAL:
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        kind = {"int": int, "float": float, "str": str, "int | None": int,
                "float | None": float, "str | None": str, "bool": _boolean}.get(str(f.type), str)
        group.add_argument(_option(prefix + f.name), dest=f"{cls.__name__}.{f.name}", type=kind,
                           default=None, metavar=kind.__name__.upper(),
                           help=f"{docs.get(f.name, '')} (default {default})")


def register(sub) -> None:
    p = sub.add_parser("train", help="train the AlphaZero-style agent (or PPO) on a sorting task",
                       description="Self-play with tree search and a small network; every correct "
                       "program found is verified and the best saved to DIR/best.asm at once.")
    p.add_argument("--task", default=None, help="task name (sort2..sort8), default sort3")
    p.add_argument("--registers", type=int, default=None, help="register count R (default N + 1)")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="run directory (default runs/train-TASK-seedS)")
    p.add_argument("--resume", metavar="DIR", default=None,
                   help="continue the run in DIR (its settings; budgets are totals for the run)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_fields(p, TrainConfig)
    _add_fields(p, NetworkConfig)
    _add_fields(p, MCTSConfig)
    _add_fields(p, PPOConfig, prefix="ppo_")
    p.set_defaults(run=run_train)


def config_from_args(args) -> TrainConfig:
    """Build the TrainConfig (and its parts) from parsed options."""
    values = vars(args)

    def pick(cls, **extra):
        kwargs = {f.name: values[f"{cls.__name__}.{f.name}"] for f in dataclasses.fields(cls)
                  if values.get(f"{cls.__name__}.{f.name}") is not None}
        try:
            return cls(**kwargs, **extra)
        except (TypeError, ValueError) as error:
            raise UsageError(str(error)) from None

    out = args.resume if args.resume is not None else args.out
    if args.resume is not None:
        if args.out is not None and args.out != args.resume:
            raise UsageError("--resume DIR already names the run directory; drop --out")
        from .config import RESUMABLE_FIELDS

        fixed = [key.split(".", 1)[1] for key, value in values.items()
                 if "." in key and value is not None
                 and not (key.startswith("TrainConfig.") and key.split(".", 1)[1] in RESUMABLE_FIELDS)]
        if args.task is not None or args.registers is not None:
            fixed.insert(0, "task")
        if fixed:
            raise UsageError(f"--resume keeps the run's settings; {_option(fixed[0])} cannot change "
                             "(only budgets, --device, --threads and --checkpoint-every can)")
    return pick(TrainConfig, task=args.task or "sort3", registers=args.registers, out=out,
                resume=args.resume is not None, progress=not args.no_progress and sys.stderr.isatty(),
                network=pick(NetworkConfig), mcts=pick(MCTSConfig), ppo=pick(PPOConfig))


def run_train(args) -> int:
    from discover.kernels import Task, TaskError

    config = config_from_args(args)
    try:
        Task.from_name(config.task, config.registers)
    except TaskError as error:
        raise UsageError(str(error)) from None
    from .train import CheckpointError, resumed_config, train

    try:
        if config.resume:
            config = resumed_config(config)
        result = train(config)
    except CheckpointError as error:
        raise UsageError(str(error)) from None
    except ValueError as error:  # bad option values (device, agent, sizes)
        raise UsageError(str(error)) from None
    _print_summary(result)
    return 130 if result.stopped == "interrupted" else 0


def _print_summary(result) -> None:
    from discover.kernels import Task, verify

    c = result.config
    print(f"discover train: {c.task}, {c.agent}, seed {c.seed}: {result.stopped} after "
          f"{result.iterations} iterations, {result.episodes} episodes, {result.elapsed:.1f} s")
    if result.program is None:
        print("no correct program found")
    else:
        task = Task.from_name(c.task, c.registers)
        print(f"best program ({len(result.program)} instructions, found at "
              f"{result.time_to_best:.1f} s):")
        print(result.program.text(), end="")
        print(verify(result.program, task).summary(), end="")
    from pathlib import Path

    files = [name for name in ("best.asm", "best.json", "hall_of_fame.json", "metrics.csv",
                               "curve.png", "checkpoint.pt") if (Path(result.run_dir) / name).exists()]
    print(f"run directory: {result.run_dir} ({', '.join(files)})")
