"""Run directories: atomic writes, a lock per run, and checked reads of run files.

A run directory belongs to one run at a time: ``RunDir.lock()`` takes an exclusive
``flock`` on ``DIR/.lock`` (the kernel drops it when the process dies, even by SIGKILL, so
a lock is never stale), and a second run into the same directory is refused at once.
Files are written whole or not at all (``write_atomic``: a temporary file, fsync, rename),
so a run killed at any moment leaves every file either old or new, never half-written.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import tempfile
from pathlib import Path

__all__ = ["RunDir", "RunDirError", "check_out_dir", "read_json", "require", "write_atomic",
           "write_json"]

MAX_JSON_BYTES = 64 << 20  # run files are small; a larger one is not ours
LOCK_FILE = ".lock"


class RunDirError(ValueError):
    """A run directory that cannot be used: in use, not a directory, holds another run."""


def write_atomic(path, data: str | bytes) -> None:
    """Write a whole file or nothing: a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        with os.fdopen(fd, mode) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_json(path, payload: dict) -> None:
    write_atomic(path, json.dumps(payload, indent=2, sort_keys=True) + "\n")


def read_json(path) -> dict:
    """Read a JSON object; ValueError naming the file if missing, corrupt or not an object.

    Only regular files of at most MAX_JSON_BYTES are read (a FIFO would block), and a
    document nested too deeply for the parser is corrupt, not a crash.
    """
    try:
        if not Path(path).is_file():
            raise ValueError(f"cannot read {path}: not a regular file")
        if Path(path).stat().st_size > MAX_JSON_BYTES:
            raise ValueError(f"{path}: larger than {MAX_JSON_BYTES >> 20} MiB, not a run file")
        with open(path, encoding="utf-8") as handle:
            payload = json.load(handle)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: corrupt JSON ({error})") from None
    except RecursionError:
        raise ValueError(f"{path}: corrupt JSON (nested too deeply)") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: expected a JSON object")
    return payload


_KINDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
          list: "a list", dict: "an object"}


def require(payload: dict, key: str, kind: type, path, *, minimum=None, optional=False):
    """``payload[key]`` checked to be of ``kind`` (and >= minimum); ValueError naming it.

    For run files read back on resume: ``"length": "abc"`` or ``"explored": -5`` is a
    corrupt file, said in one line, never a crash later. ``optional`` allows null/missing.
    """
    value = payload.get(key)
    if value is None and optional:
        return None
    ok = isinstance(value, kind) and not (kind is not bool and isinstance(value, bool))
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if ok and kind is float and not math.isfinite(value):
        ok = False
    if not ok:
        raise ValueError(f"{path}: field {key!r} must be {_KINDS.get(kind, kind.__name__)}, "
                         f"not {_short(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{path}: field {key!r} must be >= {minimum}, not {value!r}")
    return value


def _short(value) -> str:
    text = json.dumps(value) if value is not None else "missing"
    return text if len(text) <= 40 else text[:37] + "..."


def check_out_dir(path, option: str = "--out", shown=None) -> Path:
    """Check that ``path`` is, or can be made, a writable directory; return it as a Path.

    Checked before any work by trying it: directories that do not exist yet are made, a
    file is written and removed, and the directories made are removed again (``os.access``
    says yes to root even on read-only or virtual file systems). RunDirError names the
    option: an empty path, an existing file, a path under a file, a place that cannot be
    written. ``shown``: the path the message names (the file, when checking its folder).
    """
    shown = path if shown is None else shown
    if str(path) == "":
        raise RunDirError(f"{option}: the directory name is empty")
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise RunDirError(f"{option} {shown}: "
                          + ("" if str(shown) == str(path) else f"{path} ")
                          + "exists and is not a directory")
    missing = []
    existing = target
    while not existing.exists() and not existing.is_symlink():
        missing.append(existing)
        existing = existing.parent
    if not existing.is_dir():
        raise RunDirError(f"{option} {shown}: {existing} is not a directory")
    made = []
    try:
        for directory in reversed(missing):
            directory.mkdir()
            made.append(directory)
        with tempfile.TemporaryFile(dir=target, prefix=".discover-probe-"):
            pass
    except OSError as error:
        raise RunDirError(f"{option} {shown}: cannot write there "
                          f"({error.strerror or error})") from None
    finally:
        for directory in reversed(made):
            try:
                directory.rmdir()
            except OSError:
                pass
    return target


class RunDir:
    """One run's directory, locked for as long as the run holds it.

    ``with RunDir(path) as run:`` creates the directory, takes the lock (RunDirError at once
    if another process holds it) and releases it on exit. ``fresh(run_files)`` refuses a
    new run into a directory that already holds one (any of ``run_files`` present), so a
    better program found earlier is never overwritten by accident: resume it instead.
    """

    def __init__(self, path, option: str = "--out"):
        self.path = check_out_dir(path, option)
        self.option = option
        self._fd: int | None = None

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def lock(self) -> RunDir:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise RunDirError(f"{self.option} {self.path}: {error.strerror or error}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise RunDirError(f"{self.path} is in use by another run (its lock is held); "
                              "wait for it or choose another directory") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def unlock(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the file stays, harmlessly
            self._fd = None

    def fresh(self, run_files, resume_hint: str = "--resume DIR") -> None:
        """RunDirError if the directory already holds a run (any of ``run_files``)."""
        held = [name for name in run_files if (self.path / name).exists()]
        if held:
            raise RunDirError(f"{self.path} already holds a run ({held[0]}): continue it with "
                              f"{resume_hint.replace('DIR', str(self.path))} or choose another "
                              f"{self.option}")

    def __enter__(self) -> RunDir:
        return self.lock()

    def __exit__(self, *exc) -> bool:
        self.unlock()
        return False
