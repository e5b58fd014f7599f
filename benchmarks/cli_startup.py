"""Command-line start-up and the persistent compilation cache, in fresh processes.

1. ``jaxfit --help`` and ``jaxfit --version``: wall time of a new process (median of
   ``--repeats``), and which heavy modules the help imports (target < 1 s, none of JAX,
   NumPyro, pandas).
2. ``jaxfit fit`` twice in new processes with an empty compilation cache directory
   (``JAXFIT_CACHE_DIR``): the first compiles and fills the cache, the second reads it
   (target: the second < 25% of the first). A third run with ``JAXFIT_NO_CACHE=1`` shows
   the time without the cache.

Run from the repository root::

    PYTHONPATH=$PWD python benchmarks/cli_startup.py [--repeats 5] [--restarts 64]

Numbers are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def _run(args, env):
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "jaxfit", *args], capture_output=True, text=True,
                       env=env)
    return time.perf_counter() - t0, p


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="runs of --help / --version")
    ap.add_argument("--restarts", type=int, default=64, help="restarts of the timed fit")
    ap.add_argument("--data", default="chinchilla", help="dataset or CSV of the timed fit")
    args = ap.parse_args()
    env = {**os.environ, "JAXFIT_QUIET": "1"}
    out = {}
    for flag in ("--help", "--version"):
        times = []
        for _ in range(args.repeats):
            dt, p = _run([flag], env)
            assert p.returncode == 0, p.stderr
            times.append(dt)
        out[flag] = round(statistics.median(times), 3)
    probe = ("import sys, time; t = time.perf_counter(); from jaxfit.cli import _parser; "
             "_parser().format_help(); print(round(time.perf_counter() - t, 3), sorted(m for m "
             "in ('jax', 'numpyro', 'pandas', 'numpy', 'matplotlib') if m in sys.modules))")
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env)
    out["help_in_process_s_and_heavy_modules"] = p.stdout.strip()

    fit = ["fit", args.data, "--restarts", str(args.restarts), "--json", "-q"]
    if args.data == "chinchilla":
        fit += ["--where", "not epoch_excluded_outlier"]
    with tempfile.TemporaryDirectory() as cache:
        cenv = {**env, "JAXFIT_CACHE_DIR": cache}
        first, p1 = _run(fit, cenv)
        assert p1.returncode in (0, 1), p1.stderr
        second, p2 = _run(fit, cenv)
        assert p2.returncode == p1.returncode, p2.stderr
        entries = len(os.listdir(cache))
    nocache, p3 = _run(fit, {**env, "JAXFIT_NO_CACHE": "1"})
    same = json.loads(p1.stdout)["tasks"] == json.loads(p2.stdout)["tasks"]
    out.update(fit_first_s=round(first, 2), fit_second_s=round(second, 2),
               second_over_first=round(second / first, 3), fit_no_cache_s=round(nocache, 2),
               cache_entries=entries, identical_results=same)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
