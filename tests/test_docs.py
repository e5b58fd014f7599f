"""Every ```python block of README.md and docs/**/*.md runs as written, and prints what the
page says it prints.

Each page's blocks run in order, in one fresh interpreter per page (``python -c``), from an
empty working directory, as a reader pasting them into a new session would. A block written
as a doctest (``>>>``) is run by doctest in the same namespace. A ```text block that follows
a ```python block directly (blank lines only between) is that block's printed output: the
runner compares the two token by token, numbers to the last digit the page shows (one unit
of it, for rounding), everything else exactly. Numbers a page quotes in prose about a block
are asserted by an ``assert`` in the block itself.

The pages share the test session's JAX persistent compilation cache (conftest.py;
``JAX_COMPILATION_CACHE_DIR``, the opt-in the README describes), so a program compiled
for one page or by another test (the Chinchilla fit, its bootstrap) is not compiled
again; each page still starts cold in its own interpreter (tracing is not cached), and
the first process to need a program pays its compilation.

Run one page by hand: ``python tests/test_docs.py docs/recipes/ladder.md``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [p for p in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
         if "```python" in p.read_text()]

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$", flags=re.S | re.M)
_MARK = "\x1e<<jaxfit-docs block {}>>\x1e"
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")

# The interpreter a page runs in: its blocks come as JSON on stdin.
_DRIVER = r'''
import doctest, json, sys
blocks = json.load(sys.stdin)
g = {"__name__": "__main__"}
for i, (name, src) in enumerate(blocks):
    print(MARK.format(i), flush=True)
    if src.lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(src, g, name, name, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
        runner.run(test, clear_globs=False)
        if runner.failures:
            sys.exit(f"{name}: {runner.failures} doctest example(s) failed")
    else:
        exec(compile(src, name, "exec"), g)
    sys.stdout.flush()
'''


def blocks(page: Path) -> list[tuple[str, str, str | None]]:
    """``(name, source, expected output or None)`` for each python block of ``page``."""
    text = page.read_text()
    fences = list(_FENCE.finditer(text))
    out = []
    for k, m in enumerate(fences):
        if m.group(1) != "python":
            continue
        expected = None
        nxt = fences[k + 1] if k + 1 < len(fences) else None
        if nxt is not None and nxt.group(1) == "text" and not text[m.end():nxt.start()].strip():
            expected = nxt.group(2)
        line = text[:m.start()].count("\n") + 2
        out.append((f"{page.relative_to(ROOT)}:{line}", m.group(2), expected))
    return out


def run_page(page: Path, cwd: Path, timeout: float = 600,
             cache: Path | None = None) -> list[str]:
    """Run ``page``'s blocks in a fresh interpreter in ``cwd``; each block's stdout.

    ``cache``: a JAX persistent compilation cache directory shared between pages.
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
    if cache is not None:
        env.update(JAX_COMPILATION_CACHE_DIR=str(cache),
                   JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    code = f"MARK = {_MARK!r}\n{_DRIVER}"
    payload = json.dumps([(name, src) for name, src, _ in blocks(page)])
    p = subprocess.run([sys.executable, "-c", code], input=payload, capture_output=True,
                       text=True, cwd=cwd, env=env, timeout=timeout)
    assert p.returncode == 0, f"{page.name} failed:\n{p.stdout[-3000:]}\n{p.stderr[-6000:]}"
    parts = p.stdout.split(_MARK.format(0), 1)[1]
    outs = []
    for i in range(1, len(blocks(page)) + 1):
        head, _, parts = parts.partition(_MARK.format(i))
        outs.append(head.strip("\n"))
    return outs


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"(\s+|" + _NUMBER.pattern + ")", text) if t and t.strip()]


def same_output(printed: str, expected: str) -> str | None:
    """None when ``printed`` shows ``expected``'s tokens, numbers to the digits shown."""
    got, want = _tokens(printed), _tokens(expected)
    if len(got) != len(want):
        return f"{len(got)} tokens printed, {len(want)} expected"
    for a, b in zip(got, want):
        if _NUMBER.fullmatch(b) and _NUMBER.fullmatch(a):
            mant = b.lower().split("e")[0]
            exp = int(b.lower().split("e")[1]) if "e" in b.lower() else 0
            decimals = len(mant.split(".")[1]) if "." in mant else 0
            unit = 10.0 ** (exp - decimals)
            if abs(float(a) - float(b)) > unit * (1 + 1e-9):
                return f"printed {a}, the page says {b}"
        elif a != b:
            return f"printed {a!r}, the page says {b!r}"
    return None


@pytest.fixture(scope="module")
def compilation_cache(tmp_path_factory):
    """The test session's cache (conftest.py), else one for this module."""
    session = os.environ.get("JAX_COMPILATION_CACHE_DIR")
    return Path(session) if session else tmp_path_factory.mktemp("jax-cache")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_page_blocks_run_and_print_what_the_page_says(page, tmp_path, compilation_cache):
    outs = run_page(page, tmp_path, cache=compilation_cache)
    for (name, _, expected), printed in zip(blocks(page), outs):
        if expected is not None:
            why = same_output(printed, expected)
            assert why is None, f"{name}: {why}\n--- printed:\n{printed}\n--- page:\n{expected}"


def test_block_runner_compares_numbers_to_the_digits_shown():
    assert same_output("alpha  0.34734  x", "alpha 0.3473 x") is None
    assert same_output("alpha 0.3480", "alpha 0.3473") is not None
    assert same_output("E 1.8e+00", "E 1.8e+00") is None
    assert same_output("status converged", "status failed") is not None
    assert same_output("a b", "a b c") is not None


if __name__ == "__main__":
    import resource
    import tempfile
    import time

    cache = os.environ.get("JAX_COMPILATION_CACHE_DIR")
    for arg in sys.argv[1:]:
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            outs = run_page(ROOT / arg, Path(d), cache=Path(cache) if cache else None)
        for (name, _, expected), printed in zip(blocks(ROOT / arg), outs):
            print(f"--- {name}\n{printed}")
            if expected is not None:
                print("    check:", same_output(printed, expected) or "ok")
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"=== {arg}: {time.perf_counter() - t0:.1f} s wall, "
              f"{cpu.ru_utime + cpu.ru_stime:.1f} s CPU so far")
