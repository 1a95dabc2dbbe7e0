"""The Ray backend's shared part: is Ray installed, connecting to a cluster, CPU shares.

``discover train --backend ray`` (``agent/ray_actors.py``) and ``discover search --backend
ray`` (``search/ray_chains.py``) run their actors on a Ray cluster: the one at ``--address``
(``ray start --head`` printed it; ``auto``: the cluster this machine is a node of), or, with
no address, a local cluster that Ray starts on this machine for the run and stops after it.
Ray is an optional dependency (``pip install -e '.[ray]'``); without it, asking for the
backend is a one-line error (exit 2) and everything else works as before.
"""

from __future__ import annotations

import importlib.util
import logging

from discover.validation import ConfigError, check_choice, check_text

__all__ = ["BACKENDS", "INSTALL_HINT", "check_backend", "connect", "cpu_share", "disconnect",
           "ray_available", "ray_errors"]

BACKENDS = ("local", "ray")
INSTALL_HINT = "needs Ray, which is not installed: pip install -e '.[ray]'"


def ray_available() -> bool:
    """Ray can be imported here (looked up, not imported: importing it takes a second)."""
    return importlib.util.find_spec("ray") is not None


def check_backend(config, backend: str = "backend", address: str = "address") -> None:
    """The config's backend is known, Ray is installed when it is 'ray', and an address
    is given only with it (ConfigError naming the field otherwise)."""
    check_choice(config, backend, BACKENDS)
    check_text(config, address, optional=True)
    if getattr(config, backend) == "ray" and not ray_available():
        raise ConfigError(config, backend, f"'ray' {INSTALL_HINT}")
    if getattr(config, backend) != "ray" and getattr(config, address) is not None:
        raise ConfigError(config, address, f"applies to {backend} 'ray' only",
                          related=(backend,))


_started = [False]  # whether connect() started the Ray instance (then disconnect stops it)


def connect(address: str | None):
    """The ``ray`` module, connected: to the cluster at ``address``, to the one this
    process already joined (a test's, a notebook's), or to a local one started now."""
    import ray

    if not ray.is_initialized():
        # No address: a new local cluster for this run ("local"), never a cluster that
        # RAY_ADDRESS or an earlier `ray start` left (give --address auto for that).
        # Our own actors' output is theirs to report through exceptions: the driver's
        # terminal shows the run's progress only.
        _probe(address)
        # A cluster of our own runs its workers at the priority of the local backend's
        # processes: Ray's default (niceness 15) gives a loaded machine's other work
        # the CPU first. A cluster that `ray start` made keeps its own setting
        # (RAY_worker_niceness=0 on `ray start` gives the same).
        own = {} if address else {"_system_config": {"worker_niceness": 0}}
        try:
            ray.init(address=address or "local", log_to_driver=False,
                     include_dashboard=False, logging_level=logging.WARNING,
                     configure_logging=True, **own)
        except (ConnectionError, ValueError, RuntimeError) as error:
            first = (str(error).strip().splitlines() or [type(error).__name__])[0]
            where = f"the Ray cluster at {address}" if address else "a new local Ray cluster"
            hint = " (a cluster that authenticates with a token wants RAY_AUTH_MODE=token and " \
                   "its token: RAY_AUTH_TOKEN or ~/.ray/auth_token)" if address else ""
            raise ValueError(f"cannot connect to {where}: {first}{hint}") from None
        _started[0] = True
    return ray


def _probe(address: str | None, timeout: float = 10.0) -> None:
    """ValueError at once when nothing listens at a ``host:port`` address (Ray itself
    retries for minutes before it gives up)."""
    import socket

    if not address or address in ("auto", "local") or "://" in address:
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--address {address}: not a Ray cluster address (HOST:PORT, "
                         "auto, or ray://HOST:PORT)")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise ValueError(f"cannot connect to the Ray cluster at {address}: "
                         f"{error.strerror or error}") from None


def disconnect() -> None:
    """Leave (and, when ``connect`` started it, stop) the Ray instance this process joined."""
    if _started[0]:
        import ray

        ray.shutdown()
        _started[0] = False


def cpu_share(ray, actors: int) -> float:
    """CPUs each of ``actors`` actors asks for: one, or an equal share of the cluster's
    CPUs when it has fewer (they then share cores, as local threads would; an actor that
    asked for more than the cluster holds would wait forever)."""
    total = float(ray.cluster_resources().get("CPU", 0.0))
    if total <= 0:
        raise ValueError("the Ray cluster has no CPUs for the actors")
    return min(1.0, total / actors)


def ray_errors(ray) -> tuple[type, ...]:
    """Exceptions that mean an actor (its process or its node) was lost, not that its code
    failed: the work it held is dropped and the actor replaced."""
    e = ray.exceptions
    return (e.RayActorError, e.WorkerCrashedError, e.NodeDiedError, e.OwnerDiedError,
            e.ObjectLostError)



MAX_LOSSES_IN_A_ROW = 5
"""An actor slot lost this often without finishing work in between: give up the run."""


def count_loss(losses: list[int], k: int, what: str, error) -> None:
    """Count a loss of ``what`` (slot ``k`` of ``losses``); RuntimeError once the slot has
    been lost more than MAX_LOSSES_IN_A_ROW times in a row."""
    losses[k] += 1
    if losses[k] > MAX_LOSSES_IN_A_ROW:
        raise RuntimeError(f"{what} was lost {losses[k]} times in a row "
                           f"({type(error).__name__}): giving up")


def kill_quietly(ray, actors) -> None:
    """``ray.kill`` each actor, those already gone included."""
    for actor in actors:
        try:
            ray.kill(actor)
        except Exception:  # noqa: BLE001 - already gone
            pass
