"""A training run on a simulated multi-node Ray cluster that loses an actor every minute.

    python bench/ray_cluster_run.py --task sort4 --nodes 3 --actors 2 --kill-every 60 \\
        --budget-minutes 25 --out runs/ray-sort4

starts a cluster of ``--nodes`` nodes on this machine (Ray's ``cluster_utils.Cluster``,
``--cpus`` logical CPUs each; the head node is one of them), runs ``discover train
--backend ray --address <the cluster>`` against it, and every ``--kill-every`` seconds
kills one of the run's self-play actors (``ray.kill``, in turn, found by name through
``ray.util.list_named_actors``). At the end it prints the run's summary, the kills, the
losses the run reported and whether the run directory is complete, and shuts the cluster
down. Not collected by pytest (a run of minutes).
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

RUN_FILES = ("best.asm", "best.json", "hall_of_fame.json", "metrics.csv", "checkpoint.pt",
             "config.json", "summary.json", "curve.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", default="sort4")
    parser.add_argument("--nodes", type=int, default=3)
    parser.add_argument("--cpus", type=int, default=1, help="logical CPUs a node")
    parser.add_argument("--actors", type=int, default=2)
    parser.add_argument("--kill-every", type=float, default=60.0)
    parser.add_argument("--budget-minutes", type=float, default=25.0)
    parser.add_argument("--out", required=True)
    parser.add_argument("train_args", nargs="*", help="more `discover train` options (after --)")
    args = parser.parse_args()

    import ray
    from ray.cluster_utils import Cluster

    # Workers at niceness 0, as `discover` does for the local clusters it starts (Ray's
    # default, 15, lets every other process on a shared machine go first).
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": args.cpus, "_system_config": {"worker_niceness": 0}})
    for _ in range(args.nodes - 1):
        cluster.add_node(num_cpus=args.cpus)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False, logging_level=logging.WARNING)
    print(f"cluster: {len(ray.nodes())} nodes, {ray.cluster_resources().get('CPU')} CPUs, "
          f"address {cluster.address}", flush=True)
    out = Path(args.out)
    command = [sys.executable, "-m", "discover.cli", "train", "--task", args.task,
               "--backend", "ray", "--address", cluster.address, "--actors", str(args.actors),
               "--budget-minutes", str(args.budget_minutes), "--no-progress", "--out", str(out),
               *args.train_args]
    print("+", " ".join(command[1:]), flush=True)
    began = time.monotonic()
    log = open(out.parent / f"{out.name}.stderr.log", "w") if out.parent.exists() else None
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log or subprocess.DEVNULL,
                            text=True)
    kills = []
    try:
        next_kill = time.monotonic() + args.kill_every
        while proc.poll() is None:
            time.sleep(1.0)
            if time.monotonic() < next_kill:
                continue
            next_kill += args.kill_every
            actors = sorted((a for a in ray.util.list_named_actors(all_namespaces=True)
                             if a["name"].startswith("discover-selfplay")),
                            key=lambda a: a["name"])
            if not actors:
                continue
            victim = actors[len(kills) % len(actors)]
            try:
                ray.kill(ray.get_actor(victim["name"], namespace=victim["namespace"]))
            except ValueError:  # gone between the listing and the kill
                continue
            kills.append((round(time.monotonic() - began, 1), victim["name"]))
            print(f"{kills[-1][0]:8.1f} s: killed {victim['name']}", flush=True)
        stdout = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        if log is not None:
            log.close()
        ray.shutdown()
        cluster.shutdown()
    print(stdout, end="")
    summary = json.loads((out / "summary.json").read_text()) \
        if (out / "summary.json").exists() else {}
    lost = 0
    if log is not None:
        lost = sum("lost" in line for line in open(log.name))
    missing = [name for name in RUN_FILES if not (out / name).exists()]
    print(json.dumps({"exit": proc.returncode, "wall_s": round(time.monotonic() - began, 1),
                      "kills": len(kills), "losses_reported": lost,
                      "length": summary.get("length"), "stopped": summary.get("stopped"),
                      "time_to_best": summary.get("time_to_best"),
                      "elapsed": summary.get("elapsed"), "episodes": summary.get("episodes"),
                      "run_directory_complete": not missing, "missing": missing}, indent=1))


if __name__ == "__main__":
    main()
