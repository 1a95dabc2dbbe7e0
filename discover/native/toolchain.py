"""The C compiler, and whether native code can be built and run here at all.

The other modules call ``toolchain.compiler()`` and ``toolchain.native_unavailable()``
through this module at call time, so a test patching them here is seen everywhere.
"""

from __future__ import annotations

import os
import platform
import shutil
from functools import cache


class NativeError(RuntimeError):
    """The native routine cannot be built or run here (no compiler, not x86-64, ...)."""


@cache
def compiler() -> str | None:
    """The C compiler: $CC if set, else the first of cc, gcc, clang on PATH (None if none)."""
    candidates = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    return None


def native_unavailable() -> str | None:
    """Why native timing cannot run here, in one line; None when it can."""
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return f"native timing needs x86-64 (this machine is {platform.machine() or 'unknown'})"
    if compiler() is None:
        return "native timing needs a C compiler (none of $CC, cc, gcc, clang found)"
    return None
