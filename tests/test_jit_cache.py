"""The compiled-code cache of kernels/jit.py: keyed on every kernel source, so an edit of
an inlined callee in another file recompiles its callers, and an unchanged rerun loads
from the cache."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numba

from discover.kernels import jit

KERNELS = Path(jit.__file__).parent
PACKAGE = "scratch_kernels"

CALLEE = '''\
import numba

from .jit import JIT

OFFSET = {offset}  # frozen into the caller's compiled code


@numba.njit(inline="always", **JIT)
def bump(x):
    return x + OFFSET
'''

CALLER = '''\
import numba

from .jit import JIT
from ._probe_callee import bump


@numba.njit(**JIT)
def probe(x):
    return bump(x) * 2
'''

# Run in a fresh process: the caller's value, its cache hits and misses, where it is
# cached, and where a cached function outside the package is (Numba's own locator).
SCRIPT = textwrap.dedent('''\
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import numba
    from scratch_kernels._probe_caller import probe
    import outside
    value = probe(3)
    outside.twice(2)
    print(json.dumps({"value": int(value),
                      "hits": sum(probe.stats.cache_hits.values()),
                      "misses": sum(probe.stats.cache_misses.values()),
                      "path": probe.stats.cache_path,
                      "outside": outside.twice.stats.cache_path}))
    ''')

OUTSIDE = '''\
import numba


@numba.njit(cache=True)
def twice(x):
    return 2 * x
'''


def _scratch(tmp_path: Path) -> Path:
    pkg = tmp_path / "src" / PACKAGE
    shutil.copytree(KERNELS, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "_probe_callee.py").write_text(CALLEE.format(offset=1))
    (pkg / "_probe_caller.py").write_text(CALLER)
    (tmp_path / "src" / "outside.py").write_text(OUTSIDE)
    (tmp_path / "run.py").write_text(SCRIPT)
    return pkg


def _run(tmp_path: Path) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"),
               PYTHONDONTWRITEBYTECODE="1")  # the .pyc of an edit within one second is stale
    env.pop("NUMBA_CACHE_LOCATOR_CLASSES", None)
    out = subprocess.run([sys.executable, str(tmp_path / "run.py"), str(tmp_path / "src")],
                         env=env, capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_an_edit_of_an_inlined_callee_in_another_file_recompiles_the_caller(tmp_path):
    pkg = _scratch(tmp_path)
    cache = tmp_path / "numba"

    first = _run(tmp_path)
    assert first["value"] == (3 + 1) * 2
    assert first["misses"] == 1 and first["hits"] == 0
    assert Path(first["path"]).parent.parent == cache  # <base>/kernels-<hash>/<subpath>
    assert Path(first["path"]).parent.name.startswith("kernels-")
    assert list(Path(first["path"]).glob("_probe_caller.probe-*.nbi"))  # index written
    # a function outside the package keeps Numba's own place in NUMBA_CACHE_DIR
    assert Path(first["outside"]).parent == cache

    second = _run(tmp_path)  # nothing changed: loaded from the cache
    assert second == dict(first, hits=1, misses=0)

    (pkg / "_probe_callee.py").write_text(CALLEE.format(offset=10))
    third = _run(tmp_path)  # only the callee's file changed, yet the caller recompiled
    assert third["value"] == (3 + 10) * 2
    assert third["misses"] == 1 and third["hits"] == 0
    assert third["path"] != first["path"]
    assert third["outside"] == first["outside"]


def test_source_hash_covers_every_kernel_file(tmp_path, monkeypatch):
    pkg = tmp_path / PACKAGE
    shutil.copytree(KERNELS, pkg, ignore=shutil.ignore_patterns("__pycache__"))
    hashes = []
    for edit in (None, "cost.py", "sub/extra.py"):  # an edit; a new file in a subpackage
        if edit:
            path = pkg / edit
            path.parent.mkdir(exist_ok=True)
            path.write_text((path.read_text() if path.exists() else "") + "\n# edited\n")
        monkeypatch.setattr(jit, "_PACKAGE_DIR", str(pkg))
        jit.source_hash.cache_clear()
        try:
            hashes.append(jit.source_hash())
        finally:
            monkeypatch.undo()
            jit.source_hash.cache_clear()
    assert hashes[0] == jit.source_hash()  # the copy hashes like the original
    assert len(set(hashes)) == 3


def test_cache_base_and_fallbacks(tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", "")
    monkeypatch.setenv("DISCOVER_CACHE_DIR", str(tmp_path / "d"))
    assert jit._bases()[0] == str(tmp_path / "d" / "numba")
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "n"))
    assert jit._bases()[0] == str(tmp_path / "n")  # NUMBA_CACHE_DIR first

    blocked = tmp_path / "file"  # a file where a folder should be: not writable
    blocked.write_text("")
    root = jit.first_writable_root([str(blocked), str(tmp_path / "tmp")])
    assert root == str(tmp_path / "tmp" / f"kernels-{jit.source_hash()}")
    assert Path(root).is_dir()
    assert jit.first_writable_root([str(blocked)]) is None  # then caching is off
    assert jit.JIT["cache"] is (jit.cache_root() is not None)
