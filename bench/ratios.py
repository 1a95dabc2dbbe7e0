"""Paired latency ratios of a task's fastest known program, across separate runs and builds.

    python bench/ratios.py --task sort3 [--runs 3] [--rounds 201] [--mode latency]

Each run is a fresh process with a fresh cache directory (so a fresh compile) that times
the fastest measured program (``discover/known/sortN.fastest.asm``), the network program
and the shortest known program together (``measure_together``), in an order rotated by
the run's number, so that each run's library lays the three out differently. It prints
each run's paired ratios (fastest / network, fastest / shortest) with their 95% interval,
and whether every run's interval lies below 1.0 (the claim of the README's table).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

ONE_RUN = r"""
import json, sys
from discover.kernels import Task, baseline_program
from discover.known import fastest_program, known_program
from discover.native import SamplingConfig, measure_together, ratio
task = Task.from_name(sys.argv[1])
run, rounds, mode = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
programs = {"fastest": fastest_program(task), "network": baseline_program(task),
            "shortest": known_program(task) or baseline_program(task)}
names = [k for k in programs if k != "shortest" or programs[k] != programs["network"]]
names = names[run % len(names):] + names[:run % len(names)]  # a new layout per run
timed = dict(zip(names, measure_together([programs[k] for k in names], task,
                                         SamplingConfig(mode=mode, rounds=rounds, seed=run,
                                                        cache=False))))
timed.setdefault("shortest", timed["network"])
out = {"order": names, "median_ns": {k: m.median_ns for k, m in timed.items()}}
for other in ("network", "shortest"):
    r = ratio(timed["fastest"], timed[other])
    out[other] = [r.ratio, r.lo, r.hi]
print(json.dumps(out))
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=201)
    parser.add_argument("--mode", default="latency", choices=("latency", "throughput"))
    args = parser.parse_args(argv)
    below = True
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="discover-ratios-") as cache:
            env = {**os.environ, "DISCOVER_CACHE_DIR": cache}
            done = subprocess.run([sys.executable, "-c", ONE_RUN, args.task, str(run),
                                   str(args.rounds), args.mode], env=env, text=True,
                                  capture_output=True, check=False)
        if done.returncode != 0:
            print(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else
                  f"run {run} failed", file=sys.stderr)
            return 2
        result = json.loads(done.stdout)
        cells = []
        for other in ("network", "shortest"):
            r, lo, hi = result[other]
            below = below and hi < 1.0
            cells.append(f"vs {other} {r:.3f} [{lo:.3f}, {hi:.3f}]")
        ns = result["median_ns"]
        print(f"{args.task} run {run} ({args.mode}, order {','.join(result['order'])}): "
              + "; ".join(cells) + f"; fastest {ns['fastest']:.2f} ns, network "
              f"{ns['network']:.2f} ns")
    print(f"every interval below 1.0: {'yes' if below else 'no'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
