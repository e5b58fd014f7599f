"""Blocked objective (`SolverOptions.point_block`) against the padded one on ragged tasks.

Chinchilla-law tasks of very different lengths (1.5% noise, ladder-like N and D) padded to
one length, fitted with jaxfit's default Huber objective (continuation (10,), 16 random
starts) twice in one process: padded (``point_block=0``) and blocked (``point_block=256``,
tasks sorted by length inside the call). Prints compile and warm times and how far apart
the two results are (objective, status, steps, parameters).

    python benchmarks/blocked_objective.py [--lengths 30 60 ... ] [--restarts 16]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lengths", type=int, nargs="+",
                    default=[30, 45, 60, 90, 150, 240, 400, 520, 670])
    ap.add_argument("--restarts", type=int, default=16)
    args = ap.parse_args(argv)
    import jax
    import jax.numpy as jnp
    from synthetic import chinchilla_tasks

    import jaxfit as jf
    from jaxfit.data import make_batch
    from jaxfit.fit import make_starts
    from jaxfit.inference.objective import make_objective
    from jaxfit.inference.optimize import SolverOptions, minimize

    print(f"load average at start: {os.getloadavg()}")
    L = np.array(args.lengths)
    df, _ = chinchilla_tasks(len(L), int(L.max()), sigma=0.015, seed=3)
    df = df[df.groupby("task").cumcount() < L[df.task]]
    law = jf.models.chinchilla()
    b = make_batch(df, law, y="loss", by="task")
    obj = make_objective(law, "huber", 1e-3, "log", "sum")
    u0 = make_starts(law, "random", args.restarts, 0)
    out = {}
    with jax.enable_x64(True):
        a = (jnp.asarray(u0), {k: jnp.asarray(v) for k, v in b.x.items()},
             jnp.asarray(b.y), jnp.asarray(b.w))
        for block in (0, 256):
            opts = SolverOptions(continuation=(10.0,), point_block=block)
            t0 = time.perf_counter()
            sol = jax.block_until_ready(minimize(obj, *a, opts=opts))
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            sol = jax.block_until_ready(minimize(obj, *a, opts=opts))
            warm = time.perf_counter() - t0
            out[block] = (jax.tree.map(np.asarray, sol), cold, warm)
            print(f"point_block={block}: first call {cold:.2f} s, compiled call {warm:.3f} s",
                  flush=True)
    (p, _, wp), (q, _, wq) = out[0], out[256]
    print(f"{len(L)} tasks of {L.min()}-{L.max()} points padded to {b.y.shape[1]}, "
          f"{args.restarts} starts")
    print(f"compiled call: blocked / padded = {wq / wp:.2f}x")
    print(f"objective max rel diff {np.max(np.abs(q.f - p.f) / np.abs(p.f)):.2e}; "
          f"status equal: {np.array_equal(q.status, p.status)} ({p.status.tolist()}); "
          f"steps equal: {np.array_equal(q.steps, p.steps)}; parameters (unconstrained) max "
          f"abs diff {np.max(np.abs(q.u - p.u)):.2e}")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
