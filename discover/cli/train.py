"""``discover train``: train the discovery agent (or the PPO baseline) on a sorting task
or a comparison kernel (``--task median3``, ``min2max4``, ``top2-of-5``, ``merge2+2``,
``stablesort3``, a task file).

The options are the fields of ``TrainConfig``, ``NetworkConfig``, ``MCTSConfig`` and
``PPOConfig`` (``--simulations`` is ``MCTSConfig.simulations``, ``--ppo-clip`` is
``PPOConfig.clip``), plus ``--resume DIR``. Torch is imported when training starts only.

Exit codes: 0 a correct program found, 1 none found within the budget, 2 bad options or a
checkpoint that cannot be resumed, 130 stopped by Ctrl-C (the run directory keeps
everything found, and ``--resume DIR`` continues it).
"""

from __future__ import annotations

import sys
from pathlib import Path

from discover.cli.common import UsageError, check_output_dir
from discover.cli.options import Options

HELP = "train the AlphaZero-style agent (or PPO) on a sorting task or a comparison kernel"
DESCRIPTION = ("Self-play with tree search and a small network; every correct program found "
               "is verified and the best saved to DIR/best.asm at once.")


def add_arguments(parser) -> None:
    from discover.agent import MCTSConfig, NetworkConfig, PPOConfig, TrainConfig

    options = Options(parser)
    # TrainConfig.resume is a flag beside ``out``; the command line names the directory.
    parser.add_argument("--resume", metavar="DIR", default=None,
                        help="continue the run in DIR (its settings; budgets are totals "
                             "for the run)")
    options.add(TrainConfig, skip=("resume",), metavars={"out": "DIR", "init_from": "DIR",
                                                          "curriculum": "TASKS"})
    options.add(NetworkConfig)
    options.add(MCTSConfig)
    options.add(PPOConfig, prefix="ppo_")


def config_from_args(args):
    """The TrainConfig (and its parts) of the parsed options; ConfigError if out of range."""
    from discover.agent import MCTSConfig, NetworkConfig, PPOConfig, TrainConfig
    from discover.agent.config import RESUMABLE_FIELDS

    options = args.options
    if args.resume is not None:
        if args.out is not None and args.out != args.resume:
            raise UsageError("--resume DIR already names the run directory; drop --out")
        fixed = [option.flag for option in options.given(args)
                 if any(cls is not TrainConfig or name not in RESUMABLE_FIELDS
                        for cls, name in option.fields)]
        if fixed:
            raise UsageError(f"--resume keeps the run's settings; {fixed[0]} cannot change "
                             "(only budgets, --device, --threads, --checkpoint-every, --backend and "
                             "--address can)")
    network = options.build(args, NetworkConfig)
    mcts = options.build(args, MCTSConfig)
    ppo = options.build(args, PPOConfig)
    extra = {"network": network, "mcts": mcts, "ppo": ppo}
    if args.resume is not None:
        extra.update(out=args.resume, resume=True)
    if args.progress is None:
        extra["progress"] = sys.stderr.isatty()
    return options.build(args, TrainConfig, **extra)


def run(args) -> int:
    config = config_from_args(args)
    from discover.agent import CheckpointError, TrainConfig, resumed_config, train

    try:
        if config.resume:  # the run's own settings, but for the options given now
            config = resumed_config(config, set(args.options.values(args, TrainConfig)))
        check_output_dir(config.run_dir, "--resume" if config.resume else "--out")
        if config.backend == "ray":  # the cluster answers before the run directory is made
            from discover.cluster import connect

            connect(config.address)
        result = train(config)
    except CheckpointError as error:
        raise UsageError(str(error)) from None
    except ValueError as error:  # a value only training can check (an unavailable device)
        raise UsageError(str(error)) from None
    _print_summary(result)
    if result.stopped == "interrupted":
        return 130
    return 0 if result.program is not None else 1


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
        ratio = result.hall_of_fame[-1].get("vs_network") if result.hall_of_fame else None
        if ratio is not None:  # --cost measured
            print(f"measured: {ratio:.3f} x the network program's latency (timed in the run; "
                  "candidates.json: the fastest re-timed together)")
    files = [name for name in ("best.asm", "best.json", "hall_of_fame.json", "metrics.csv",
                               "curve.png", "checkpoint.pt", "measured.json", "candidates.json")
             if (Path(result.run_dir) / name).exists()]
    print(f"run directory: {result.run_dir} ({', '.join(files)})")
