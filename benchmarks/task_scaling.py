"""Time and peak memory of one `jaxfit.fit` call as the number of tasks grows (issue 15).

Issue 15's acceptance: "100,000 tasks: peak RSS <= 1 GB above the 1,000-task run, and time
linear in tasks". Each size runs in a new process (peak RSS, the kernel's ``VmHWM``, is per
process), on synthetic Chinchilla tasks of ``--points`` points each (1-2% log-normal noise,
ladder ranges: `device_check.make_tasks`) with ``--restarts`` random restarts and the
defaults otherwise. Reported per size: the call's wall and CPU time, XLA compile time (from
`jaxfit.inference.cache.compile_log`), the time without it, microseconds per task, peak
RSS, RSS before the fit (data built), and the converged share.

    python benchmarks/task_scaling.py [--tasks 1000 10000 100000] [--restarts 16] [--points 20]

Numbers are recorded in benchmarks/README.md ("task_scaling.py").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one(tasks: int, restarts: int, points: int) -> dict:
    import jax
    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from device_check import make_tasks

    import jaxfit as jf
    from jaxfit.inference import cache

    df = make_tasks(tasks, seed=0, points=(points, points))
    law = jf.models.chinchilla()
    rss_data = _rss_mb("VmRSS")
    log = cache.compile_log()
    with jax.enable_x64(True):
        c0, t0 = time.process_time(), time.perf_counter()
        res = jf.fit(law, df, y="loss", by="task", restarts=restarts, seed=0, warn=False)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    cache.compile_log(False)
    compile_s = sum(r.trace_s + r.compile_s for r in log)
    return dict(tasks=tasks, restarts=restarts, points=points, wall_s=round(wall, 2),
                cpu_s=round(cpu, 2), compile_s=round(compile_s, 2),
                run_s=round(wall - compile_s, 2),
                us_per_task=round(1e6 * (wall - compile_s) / tasks, 1),
                rss_before_fit_mb=round(rss_data), peak_rss_mb=round(_rss_mb("VmHWM")),
                converged=round(float(np.mean(res.converged)), 4))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", type=int, nargs="*", default=[1000, 10000, 100000])
    ap.add_argument("--restarts", type=int, default=16)
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one is not None:
        print(json.dumps(one(a.one, a.restarts, a.points)), flush=True)
        return
    rows = []
    for n in a.tasks:
        p = subprocess.run([sys.executable, __file__, "--one", str(n), "--restarts",
                            str(a.restarts), "--points", str(a.points)],
                           capture_output=True, text=True)
        if p.returncode:
            print(p.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{n} tasks: exit {p.returncode}")
        row = json.loads(p.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(json.dumps(row), flush=True)
    base = rows[0]
    for r in rows[1:]:
        print(f"{r['tasks']} vs {base['tasks']} tasks: time without compile x"
              f"{r['run_s'] / base['run_s']:.1f} for x{r['tasks'] / base['tasks']:.0f} the "
              f"tasks ({r['us_per_task']} vs {base['us_per_task']} us per task); peak RSS "
              f"+{r['peak_rss_mb'] - base['peak_rss_mb']} MB")
    print(f"(machine: {os.cpu_count()} CPUs; 1-minute load average at the end: "
          f"{os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
