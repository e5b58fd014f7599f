"""The accelerator path on a real device: throughput, chunk size and memory of `jaxfit.fit`.

Issue 15, point 5: "the accelerator path (large chunks) stays the default off-CPU". This
script runs on whatever backend JAX picks (run it on a GPU machine) and, in the same run,
on that machine's CPU through a subprocess with ``JAX_PLATFORMS=cpu``, so the two can be
compared side by side:

1. synthetic Chinchilla tasks (vectorised `make_tasks`: 20-60 points, 1-2% log-normal
   noise, N log-uniform in [5e7, 1.6e10], D in [5e9, 5e11]) x random restarts, for
   (tasks, restarts) in ``--sizes``: first call (compile + run) and second call (run only),
   converged share, peak device memory;
2. the member chunk (`jaxfit.inference.optimize.ACCELERATOR_CHUNK`) swept at one size;
3. optionally (``--nuts K``) `jf.sample` NUTS on K tasks.

Usage: python benchmarks/device_check.py [--sizes 1000x64 10000x16 100000x16]
       [--chunks 1024 4096 16384] [--chunk-size 10000x16] [--cpu 1000x64] [--nuts 0]
       [--json out.json]

Numbers are recorded in benchmarks/README.md ("device_check.py").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import jax
import numpy as np
import pandas as pd

import jaxfit as jf
from jaxfit.inference import optimize


def make_tasks(n_tasks: int, seed: int = 0, points=(20, 60)) -> pd.DataFrame:
    """Ragged synthetic Chinchilla tasks, generated without a Python loop over tasks."""
    rng = np.random.default_rng(seed)
    n = rng.integers(points[0], points[1] + 1, n_tasks)
    task = np.repeat(np.arange(n_tasks), n)
    E = rng.uniform(1.4, 2.0, n_tasks)[task]
    A = np.exp(rng.uniform(5, 7, n_tasks))[task]
    B = np.exp(rng.uniform(5, 7.5, n_tasks))[task]
    alpha = rng.uniform(0.25, 0.45, n_tasks)[task]
    beta = rng.uniform(0.22, 0.40, n_tasks)[task]
    sd = rng.uniform(0.01, 0.02, n_tasks)[task]
    N = np.exp(rng.uniform(np.log(5e7), np.log(1.6e10), task.size))
    D = np.exp(rng.uniform(np.log(5e9), np.log(5e11), task.size))
    loss = (E + A / N**alpha + B / D**beta) * np.exp(sd * rng.standard_normal(task.size))
    return pd.DataFrame({"task": task, "N": N, "D": D, "loss": loss})


def _peak_bytes():
    try:
        stats = jax.devices()[0].memory_stats() or {}
    except Exception:  # CPU devices may not report
        stats = {}
    return stats.get("peak_bytes_in_use")


def time_fit(tasks: int, restarts: int, seed: int = 0) -> dict:
    df = make_tasks(tasks, seed)
    law = jf.models.chinchilla()
    kw = dict(y="loss", by="task", restarts=restarts, seed=0, warn=False)
    with jax.enable_x64(True):
        t0 = time.perf_counter()
        jf.fit(law, df, **kw)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        res = jf.fit(law, df, **kw)
        run = time.perf_counter() - t0
    return dict(tasks=tasks, restarts=restarts, points=len(df), first_s=round(first, 2),
                run_s=round(run, 2), tasks_per_s_warm=round(tasks / run, 1),
                converged=float(np.mean(res.converged)), peak_bytes=_peak_bytes())


def time_nuts(tasks: int) -> dict:
    df = make_tasks(tasks, seed=1, points=(40, 60))
    law = jf.models.chinchilla()
    with jax.enable_x64(True):
        t0 = time.perf_counter()
        post = jf.sample(law, df, y="loss", by="task", seed=0)
        wall = time.perf_counter() - t0
    out = dict(tasks=tasks, wall_s=round(wall, 1), per_task_s=round(wall / tasks, 2))
    d = getattr(post, "diagnostics", None)
    if isinstance(d, pd.DataFrame):
        out["diagnostics"] = d.describe().round(4).to_dict()
    return out


def _size(s: str) -> tuple[int, int]:
    t, r = s.lower().split("x")
    return int(t), int(r)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="*", default=["1000x64", "10000x16", "100000x16"])
    ap.add_argument("--chunks", nargs="*", type=int, default=[1024, 4096, 16384])
    ap.add_argument("--chunk-size", default="10000x16")
    ap.add_argument("--cpu", nargs="*", default=["1000x64"],
                    help="sizes also run on this machine's CPU (subprocess)")
    ap.add_argument("--nuts", type=int, default=0)
    ap.add_argument("--json", default=None)
    ap.add_argument("--only-fits", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    out = dict(backend=jax.default_backend(), devices=[str(d) for d in jax.devices()],
               jax=jax.__version__, jaxfit=jf.__version__, fits=[], chunks=[], cpu=[])
    print(json.dumps({k: out[k] for k in ("backend", "devices", "jax")}), flush=True)

    def dump():
        if a.json:
            with open(a.json, "w") as f:
                json.dump(out, f, indent=1)

    for s in a.sizes:
        r = time_fit(*_size(s))
        r["chunk"] = "default"
        out["fits"].append(r)
        print("fit", json.dumps(r), flush=True)
        dump()
    if a.only_fits:
        return out
    default = optimize.ACCELERATOR_CHUNK
    for c in a.chunks:
        optimize.ACCELERATOR_CHUNK = c
        r = time_fit(*_size(a.chunk_size))
        r["chunk"] = c
        out["chunks"].append(r)
        print("chunk", json.dumps(r), flush=True)
        dump()
    optimize.ACCELERATOR_CHUNK = default
    for s in a.cpu:
        env = dict(os.environ, JAX_PLATFORMS="cpu")
        p = subprocess.run([sys.executable, __file__, "--only-fits", "--sizes", s,
                            "--json", "/tmp/_cpu.json"], env=env, capture_output=True,
                           text=True)
        if p.returncode == 0:
            with open("/tmp/_cpu.json") as f:
                out["cpu"].extend(json.load(f)["fits"])
        else:
            out["cpu"].append(dict(size=s, error=p.stderr[-2000:]))
        print("cpu", json.dumps(out["cpu"][-1]), flush=True)
        dump()
    if a.nuts:
        out["nuts"] = time_nuts(a.nuts)
        print("nuts", json.dumps(out["nuts"]), flush=True)
        dump()
    return out


if __name__ == "__main__":
    main()
