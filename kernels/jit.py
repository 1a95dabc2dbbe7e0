"""Every njit option of the package, and an on-disk cache of compiled code that cannot go stale.

Numba's own ``cache=True`` keys an entry on its function's source file only, yet our
kernels inline functions (``inline="always"``) and freeze module-level constants
(opcode tables, latencies) from other files of this package into the caller's compiled
code: an edit of ``interp.py`` would leave ``game.py``'s cached entries running the old
interpreter. Here every function defined under ``kernels/`` is cached under

    <base>/kernels-<hash>/<numba's per-folder subpath>/

where ``<hash>`` is a digest of every ``*.py`` file of this package (subpackages
included), computed once per process. Any edit of any kernel file gives a new folder,
so nothing compiled from older sources is ever read again (the old folders are a few
MB each and may be deleted at will). ``<base>`` is ``$NUMBA_CACHE_DIR`` when set,
else ``$DISCOVER_CACHE_DIR/numba``, else ``$XDG_CACHE_HOME/discover/numba``
(``~/.cache/discover/numba``): the same convention as ``discover/export.py``'s
``cache_dir()``, read here from the environment since kernels import nothing of ours.
When none is writable it falls back to ``<tmp>/discover-<uid>/numba``, and when that
fails too, caching is off (``JIT["cache"]`` is False) rather than left to Numba's
source-file-keyed locators.

The locator is added in front of Numba's list but answers only for files under this
folder, so other packages' cached functions are located exactly as before. Setting
``NUMBA_CACHE_LOCATOR_CLASSES`` replaces Numba's list and so bypasses it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile

import numba
from numba.core import caching

__all__ = ["JIT", "JIT_PARALLEL", "cache_root", "first_writable_root", "source_hash"]

_PACKAGE_DIR = os.path.dirname(os.path.realpath(__file__))
_HASH_CHARS = 16  # hex digits of the sources' digest in the folder name (64 bits)


@functools.cache
def source_hash() -> str:
    """Digest of every ``*.py`` under this package (path and content), once per process."""
    digest = hashlib.sha256()
    files = []
    for folder, dirs, names in os.walk(_PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        files.extend(os.path.join(folder, name) for name in names if name.endswith(".py"))
    for path in sorted(files):
        rel = os.path.relpath(path, _PACKAGE_DIR).replace(os.sep, "/")
        with open(path, "rb") as f:
            content = f.read()
        digest.update(rel.encode() + b"\0" + str(len(content)).encode() + b"\0" + content)
    return digest.hexdigest()[:_HASH_CHARS]


def _writable(path: str) -> bool:
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return False
    return True


def _bases() -> list[str]:
    """Candidate base folders, in order of preference."""
    if numba.config.CACHE_DIR:  # NUMBA_CACHE_DIR, as Numba read it
        first = numba.config.CACHE_DIR
    elif os.environ.get("DISCOVER_CACHE_DIR"):
        first = os.path.join(os.environ["DISCOVER_CACHE_DIR"], "numba")
    else:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        first = os.path.join(xdg, "discover", "numba")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return [first, os.path.join(tempfile.gettempdir(), f"discover-{uid}", "numba")]


def first_writable_root(bases: list[str]) -> str | None:
    """``<base>/kernels-<hash>`` for the first base where that folder can be written."""
    for base in bases:
        root = os.path.join(os.path.abspath(base), f"kernels-{source_hash()}")
        if _writable(root):
            return root
    return None


@functools.cache
def cache_root() -> str | None:
    """The folder of this process's compiled kernels (None: no writable base, caching
    off). Decided once per process."""
    return first_writable_root(_bases())


class _KernelCacheLocator(caching._CacheLocator):
    """Locates the cache of functions defined in this package under ``cache_root()``."""

    def __init__(self, py_func, py_file):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        # numba's per-folder subpath (folder name and a hash of its path): copies of the
        # package at different paths do not share entries, as with Numba's locators
        self._cache_path = os.path.join(cache_root(), self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        return source_hash()  # the folder already says it; the index checks it again

    def get_disambiguator(self):
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):
        path = os.path.realpath(py_file)
        if not path.startswith(_PACKAGE_DIR + os.sep) or cache_root() is None:
            return None  # not ours: Numba's next locator decides
        self = cls(py_func, path)
        try:
            self.ensure_cache_path()
        except OSError:
            return None
        return self


# Numba 0.59 names the class _CacheImpl, later versions CacheImpl.
_IMPL = getattr(caching, "CacheImpl", None) or caching._CacheImpl
if _KernelCacheLocator not in _IMPL._locator_classes:
    _IMPL._locator_classes.insert(0, _KernelCacheLocator)

# Every njit option of the package lives here. cache: compiled code is stored under
# cache_root() (above) and reused by later processes until any kernel source changes.
JIT = dict(nogil=True, cache=cache_root() is not None, boundscheck=False, error_model="numpy")
JIT_PARALLEL = dict(JIT, parallel=True)
