"""Where the test suite's time goes: compile events per test, and their call sites.

A pytest plugin (load it with ``-p compile_profile``) that records, in every test
process, JAX's compile events (``/jax/core/compile/*_duration``: tracing, lowering to
StableHLO, XLA compile) and the process CPU time of each test, plus every XLA compile
with the jaxfit or test line that caused it (through a wrapper of JAX's private
``jax._src.compiler.compile_or_get_cached``: a profiling aid, not library code). Each
process writes ``compile_profile_<worker>.json`` into ``$COMPILE_PROFILE_DIR`` (default:
the current directory); run this file to summarise them::

    PYTHONPATH=benchmarks pytest -q -p compile_profile      # the suite, as usual
    python benchmarks/compile_profile.py [DIR]                # per file, per test, per site

A library call site reached from a test file also names that test line
(``objective.py:52 <- test_fit.py:122``). With ``COMPILE_PROFILE_BY_TEST=1`` set for the
pytest run, each site is also labelled with the test that compiled there (one row per
test and site); ``COMPILE_PROFILE_TOP=N`` prints N rows per table (default 25).

Session 8 found with it that compiling was 69% of the CPU time inside the test processes
(XLA 1,033 s, tracing 149 s, lowering 110 s of 1,502 s), which led to the CPU compile
option of `jaxfit.inference.cache` and two smaller fixes (benchmarks/README.md, "XLA
options"). Subprocesses (docs pages, the command line) are not recorded.
"""

from __future__ import annotations

import collections
import glob
import json
import os
import sys
import time
import traceback

_current = ["<none>"]
_tests: dict = collections.defaultdict(lambda: collections.defaultdict(float))
_sites: dict = collections.defaultdict(lambda: [0, 0.0])


def _on_event(event, duration, **_):
    if event.startswith("/jax/core/compile/"):
        kind = event.rsplit("/", 1)[1].replace("_duration", "")
        _tests[_current[0]][kind] += duration
        _tests[_current[0]]["compiles"] += kind == "backend_compile"


def _by_test() -> str:
    """`` [test id]`` after each call site with ``COMPILE_PROFILE_BY_TEST=1``, else ''."""
    return f" [{_current[0]}]" if os.environ.get("COMPILE_PROFILE_BY_TEST") == "1" else ""


def _site() -> str:
    frames = [f for f in traceback.extract_stack()[:-3]
              if ("/jaxfit/" in f.filename or "/tests/" in f.filename)
              and not f.filename.endswith("cache.py")]
    if not frames:
        return "?"
    site = f"{os.path.basename(frames[-1].filename)}:{frames[-1].lineno}"
    tests = [f for f in frames if "/tests/" in f.filename]
    if tests and tests[-1] is not frames[-1]:          # the test line that led there
        site += f" <- {os.path.basename(tests[-1].filename)}:{tests[-1].lineno}"
    return site


def pytest_configure(config):
    from jax import monitoring
    import jax._src.compiler as compiler

    monitoring.register_event_duration_secs_listener(_on_event)
    inner = compiler.compile_or_get_cached

    def recorded(backend, computation, *args, **kwargs):
        t0 = time.process_time()
        try:
            return inner(backend, computation, *args, **kwargs)
        finally:
            try:
                name = str(computation.operation.attributes["sym_name"]).strip('"')
            except Exception:  # noqa: BLE001 - a label only
                name = "?"
            entry = _sites[(name, _site() + _by_test())]
            entry[0] += 1
            entry[1] += time.process_time() - t0

    compiler.compile_or_get_cached = recorded


def pytest_runtest_protocol(item, nextitem):
    _current[0] = item.nodeid
    _tests[item.nodeid]["cpu_start"] = time.process_time()


def pytest_runtest_logfinish(nodeid, location):
    rec = _tests[nodeid]
    rec["cpu"] += time.process_time() - rec.pop("cpu_start", time.process_time())
    _current[0] = "<between tests>"


def pytest_sessionfinish(session):
    out = os.environ.get("COMPILE_PROFILE_DIR", ".")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(out, f"compile_profile_{worker}.json"), "w") as fh:
        json.dump({"tests": {k: dict(v) for k, v in _tests.items()},
                   "sites": [[n, s, c, t] for (n, s), (c, t) in _sites.items()]}, fh)


def summarise(directory: str = ".", top: int = 25) -> None:
    tests, sites = {}, collections.defaultdict(lambda: [0, 0.0])
    for path in glob.glob(os.path.join(directory, "compile_profile_*.json")):
        with open(path) as fh:
            data = json.load(fh)
        tests.update(data["tests"])
        for name, site, count, secs in data["sites"]:
            sites[(name, site)][0] += count
            sites[(name, site)][1] += secs
    keys = ("cpu", "jaxpr_trace", "jaxpr_to_mlir_module", "backend_compile", "compiles")
    total = {k: sum(t.get(k, 0) for t in tests.values()) for k in keys}
    print("totals (s):", {k: round(v, 1) for k, v in total.items()})
    files = collections.defaultdict(lambda: collections.Counter())
    for test, rec in tests.items():
        files[test.split("::")[0]].update({k: rec.get(k, 0) for k in keys})
    head = f"{'cpu':>7s} {'trace':>6s} {'lower':>6s} {'xla':>6s} {'n':>5s}"
    for title, rows in (("per file", files), ("per test", tests)):
        print(f"\n{title}:\n{head}")
        for name, rec in sorted(rows.items(), key=lambda kv: -kv[1].get("cpu", 0))[:top]:
            print(" ".join(f"{rec.get(k, 0):{w}.0f}" for k, w in zip(keys, (7, 6, 6, 6, 5))),
                  name)
    print("\nXLA compiles by program and call site (CPU s, count):")
    for (name, site), (count, secs) in sorted(sites.items(), key=lambda kv: -kv[1][1])[:top]:
        print(f"{secs:7.1f} {count:5d} {name[:32]:32s} {site}")


def _top_arg():
    return int(os.environ.get("COMPILE_PROFILE_TOP", "25"))


if __name__ == "__main__":
    summarise(sys.argv[1] if len(sys.argv) > 1 else ".", top=_top_arg())
