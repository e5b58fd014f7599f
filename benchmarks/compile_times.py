"""Compile time of every distinct program a workload builds (issue 15, "compile once, and little").

Every compile point of the library goes through `jaxfit.inference.cache.jit`; with
`jaxfit.inference.cache.compile_log` on, each compile is recorded (function, static
arguments, argument shapes, tracing + lowering time, XLA time, process CPU time and the
size of the optimised HLO, a load-independent measure). Two workloads:

* default: the distinct `jaxfit.fit` configurations the test suite builds (Chinchilla grid
  with the Huber, squared and L-BFGS variants and the continuation options of
  tests/test_fit.py; multi-task random-restart fits as in tests/test_fit.py,
  test_padding.py and test_determinism.py; a shared-parameter law) and the Hitchhiker
  grid (`jaxfit.recipes.hitchhiker`, 4 size groups), each run once cold in this process;
* ``--pytest FILE [FILE ...]``: the given test files themselves, run in this process
  (``pytest -n 0``), listing every program they compile;
* ``--sample``: one cold `jaxfit.sample` (NUTS, 2 chains x 200 + 200) on the embedded
  Chinchilla data (one task, the rows not marked as outliers), listing its programs (the
  point fit, the tempering, ``laplace_start``: the mode search and whitening, and NUTS) and
  its ``timing``; ``--sample-tasks T`` fits T synthetic tasks instead
  (benchmarks/nuts_convergence.py's, seed 9213).

    python benchmarks/compile_times.py [--no-hitchhiker] [--pytest tests/test_fit.py ...]
    python benchmarks/compile_times.py --sample [--sample-tasks 10]

The CPU time column is the process's CPU time over the compile (tracing and XLA), less
sensitive to a loaded machine than the wall time; ``ops`` counts the optimised HLO's
instructions.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def _table(log, labels) -> None:
    print(f"{'label':34s} {'function':24s} {'trace':>6s} {'xla':>6s} {'wall':>6s} {'cpu':>6s} "
          f"{'ops':>6s}  shapes")
    for rec, label in zip(log, labels):
        name = rec.function.rsplit(".", 2)
        name = ".".join(name[-2:])
        print(f"{label[:34]:34s} {name[:24]:24s} {rec.trace_s:6.2f} {rec.compile_s:6.2f} "
              f"{rec.trace_s + rec.compile_s:6.2f} {rec.cpu_s:6.2f} {rec.hlo_ops:6d}  "
              f"{rec.shapes[:60]}")
    fits = [r for r in log if r.function.endswith("optimize._minimize")]
    if fits:
        wall = np.array([r.trace_s + r.compile_s for r in fits])
        cpu = np.array([r.cpu_s for r in fits])
        print(f"\n{len(fits)} distinct jaxfit.fit solver programs: wall median "
              f"{np.median(wall):.2f} s, "
              f"max {wall.max():.2f} s, {np.sum(wall > 2)} over 2 s; CPU median "
              f"{np.median(cpu):.2f} s, max {cpu.max():.2f} s, {np.sum(cpu > 2)} over 2 s; "
              f"HLO ops median {int(np.median([r.hlo_ops for r in fits]))}")
    print(f"all programs: {len(log)}, total wall {sum(r.trace_s + r.compile_s for r in log):.1f} s")


def _fit_workload(hitchhiker: bool):
    import jax

    import jaxfit as jf
    from jaxfit.inference import cache

    sys_path = os.path.join(os.path.dirname(__file__), "..", "tests")
    import sys

    sys.path.insert(0, os.path.abspath(sys_path))
    from synthetic import chinchilla_tasks, sigmoid_tasks  # noqa: E402  (tests/synthetic.py)

    df = jf.datasets.load("chinchilla")
    kept = df[~df.epoch_excluded_outlier]
    law = jf.models.chinchilla()
    tasks, _ = chinchilla_tasks(12, 40, seed=0)
    sig, _ = sigmoid_tasks(6, 30, seed=0)
    calls = [
        ("chinchilla grid huber", lambda: jf.fit(law, kept, y="loss", init="grid")),
        ("chinchilla grid lbfgs", lambda: jf.fit(law, kept, y="loss", init="grid",
                                                 method="lbfgs")),
        ("chinchilla grid squared", lambda: jf.fit(law, kept, y="loss", init="grid",
                                                   loss="squared")),
        ("chinchilla grid continuation=()", lambda: jf.fit(law, kept, y="loss", init="grid",
                                                          continuation=())),
        ("chinchilla grid continuation=(30,3)", lambda: jf.fit(law, kept, y="loss",
                                                              init="grid",
                                                              continuation=(30, 3))),
        ("12 tasks x 8 restarts", lambda: jf.fit(law, tasks, y="loss", by="task",
                                                 restarts=8)),
        ("12 tasks x 16 restarts", lambda: jf.fit(law, tasks, y="loss", by="task",
                                                  restarts=16)),
        ("1 task x 16 restarts squared", lambda: jf.fit(law, tasks[tasks.task == 0],
                                                        y="loss", restarts=16,
                                                        loss="squared")),
        ("sigmoid 6 tasks x 16", lambda: jf.fit(jf.models.sigmoid(), sig, y="acc",
                                                by="task", loss="squared",
                                                space="linear", restarts=16)),
        ("shared E, 12 tasks x 16", lambda: jf.fit(jf.share(law, "E"), tasks, y="loss",
                                                   by="task", restarts=16)),
    ]
    if hitchhiker:
        from jaxfit.recipes.hitchhiker import hitchhiker as hh

        calls.append(("hitchhiker grid (all groups)", lambda: hh()))
    labels, log = [], cache.compile_log()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for label, call in calls:
            n0 = len(log)
            t0 = time.perf_counter()
            try:
                call()
            except Exception as e:  # noqa: BLE001 - report and go on
                print(f"{label}: {type(e).__name__}: {e}")
            print(f"# {label}: {time.perf_counter() - t0:.2f} s", flush=True)
            labels += [label] * (len(log) - n0)
    del jax
    return log, labels


def _sample_workload(tasks: int):
    import jaxfit as jf
    from jaxfit.inference import cache

    if tasks:
        import sys

        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from nuts_convergence import tasks as synthetic  # noqa: E402

        df, by = synthetic(tasks, 9213)[0], "task"
    else:
        df = jf.datasets.load("chinchilla")
        df, by = df[~df.epoch_excluded_outlier], None
    log = cache.compile_log()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        post = jf.sample(jf.models.chinchilla(), df, y="loss", by=by, chains=2, warmup=200,
                         samples=200, seed=0, warn=False)
    wall = time.perf_counter() - t0
    print(f"# jf.sample cold: {wall:.2f} s; timing "
          + ", ".join(f"{k} {v:.2f} s" for k, v in post.timing.items()))
    return log, ["sample"] * len(log)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pytest", nargs="*", default=None, help="test files to run instead")
    ap.add_argument("--no-hitchhiker", action="store_true")
    ap.add_argument("--sample", action="store_true", help="a cold jf.sample instead")
    ap.add_argument("--sample-tasks", type=int, default=0,
                    help="with --sample: T synthetic tasks (0: the embedded Chinchilla data)")
    args = ap.parse_args(argv)
    print(f"load average: {os.getloadavg()}")
    if args.pytest is not None:
        import pytest

        from jaxfit.inference import cache

        log = cache.compile_log()
        pytest.main(["-q", "-n", "0", "-p", "no:cacheprovider", *args.pytest])
        labels = ["pytest"] * len(log)
    elif args.sample:
        log, labels = _sample_workload(args.sample_tasks)
    else:
        log, labels = _fit_workload(not args.no_hitchhiker)
    _table(log, labels)
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
