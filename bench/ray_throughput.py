"""Self-play throughput of the two backends: games per second of `discover train`.

    python bench/ray_throughput.py --task sort3 --actors 2 --minutes 2

runs one training of each backend in turn (local first, then ray; the same task, seed,
actors and budget; ``--no-shrink-budget --target-length 0 --eval-every 0`` so that every
game has the same length budget whatever the runs find, and both run their whole budget)
and prints the episodes, the loop's seconds (actor start and JIT warm-up excluded, as
``summary.json`` counts them) and their ratio. ``--address`` runs the Ray one on a running
cluster; without it, Ray starts a local one. Not collected by pytest (a minutes-long run).
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def run(backend: str, args, root: Path) -> dict:
    out = root / backend
    command = [sys.executable, "-m", "discover.cli", "train", "--task", args.task,
               "--actors", str(args.actors), "--budget-minutes", str(args.minutes),
               "--seed", str(args.seed), "--target-length", "0", "--no-shrink-budget",
               "--eval-every", "0", "--no-progress", "--backend", backend, "--out", str(out)]
    if backend == "ray" and args.address:
        command += ["--address", args.address]
    print("+", " ".join(command[1:]), file=sys.stderr, flush=True)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{backend}: exit {done.returncode}: {done.stderr.strip()[-2000:]}")
    summary = json.loads((out / "summary.json").read_text())
    with open(out / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    # After the first iteration (the only one that differs between the backends in its
    # kind: the Ray cluster's own processes are still starting then).
    first, last = rows[0], rows[-1]
    steady = (int(last["episodes"]) - int(first["episodes"])) / \
        (float(last["elapsed"]) - float(first["elapsed"])) if len(rows) > 1 else None
    return {"backend": backend, "episodes": summary["episodes"],
            "iterations": summary["iterations"], "elapsed_s": round(summary["elapsed"], 2),
            "games_per_s": round(summary["episodes"] / summary["elapsed"], 3),
            "first_iteration_s": float(first["elapsed"]),
            "after_first_games_per_s": round(steady, 3) if steady else None,
            "best_length": summary["length"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="sort3")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--address", default=None)
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = [run(backend, args, Path(tmp)) for backend in ("local", "ray")]
    ratio = rows[1]["games_per_s"] / rows[0]["games_per_s"]
    for row in rows:
        print(f"{row['backend']:>5}: {row['episodes']} games in {row['elapsed_s']} s = "
              f"{row['games_per_s']} games/s ({row['iterations']} iterations, best "
              f"{row['best_length']}); first iteration {row['first_iteration_s']} s, "
              f"after it {row['after_first_games_per_s']} games/s")
    print(f"ray / local: {ratio:.3f}")
    if rows[0]["after_first_games_per_s"] and rows[1]["after_first_games_per_s"]:
        print(f"ray / local after the first iteration: "
              f"{rows[1]['after_first_games_per_s'] / rows[0]['after_first_games_per_s']:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"task": args.task, "actors": args.actors,
                                               "minutes": args.minutes, "rows": rows,
                                               "ratio": round(ratio, 4)}, indent=1) + "\n")


if __name__ == "__main__":
    main()
