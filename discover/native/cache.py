"""The measurement cache on disk: a search never times the same program twice.

One JSON file per measurement, ``cache_dir()/measure/<kk>/<key>.json``, where the key is
the SHA-256 of everything the figure depends on: the program's text and task, the
machine (CPU model and architecture), the compiler (path, version, flags), the harness
version, and the sampling settings (mode, C type, rounds, sorts per sample, arrays,
seed, clock, pinning). Files are written atomically; one that cannot be read or parsed,
or that holds another key, counts as absent and is rewritten by the next measurement.
"""

from __future__ import annotations

import hashlib
import json
import platform
from functools import cache
from pathlib import Path

from discover.native import toolchain as _native
from discover.export import cache_dir
from discover.native.build import CFLAGS, HARNESS_VERSION, compiler_version
from discover.runs import write_atomic

__all__ = ["FORMAT", "MeasurementCache", "cpu_model", "machine_context"]

FORMAT = 1
"""Version of the cached file's layout."""


@cache
def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else what ``platform`` says."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_context() -> dict:
    """What of this machine and toolchain a measurement depends on."""
    cc = _native.compiler() or ""
    return {"cpu": cpu_model(), "arch": platform.machine(), "compiler": cc,
            "compiler_version": compiler_version(cc) if cc else "", "cflags": list(CFLAGS),
            "harness": HARNESS_VERSION}


class MeasurementCache:
    """Measurements on disk by key; never raises on a bad or unwritable file."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder is not None else cache_dir() / "measure"

    @staticmethod
    def key(context: dict) -> str:
        """The key of a measurement context (a JSON-serialisable dict)."""
        text = json.dumps(context, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def load(self, key: str) -> dict | None:
        """The cached payload, or None if absent, unreadable, corrupt or another key's."""
        try:
            payload = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT \
                or payload.get("key") != key:
            return None
        return payload

    def store(self, key: str, payload: dict) -> bool:
        """Write atomically; False (and nothing raised) if the folder is not writable."""
        try:
            write_atomic(self.path(key), json.dumps({**payload, "format": FORMAT, "key": key},
                                                    sort_keys=True))
        except (OSError, TypeError, ValueError):
            return False
        return True
