"""A researcher's session: 20 different fits, cold, against the equivalent scipy script (issue 15).

One notebook's worth of fits, in the order one would run them: Chinchilla's law on Epoch
AI's points (Hoffmann's grid, a subset, with the outliers, least squares), power laws in
compute, the OLMo ladder's validation losses and tasks, accuracy-from-loss sigmoids, and
batches of synthetic tasks (1-2% noise, 25-60 points, ladder-like ranges). Every fit is a
new shape, law or option set, all in one fresh process, so jaxfit's time includes every
compilation (what a researcher waits for); programs are reused only where two fits hit
the same shape bucket.

The scipy script does the same fits the way jaxfit does them, task after task: the same
objective (loss, space, summed), the same starts in the same unconstrained coordinates,
the objective evaluated at every start, the best ``refine`` = 8 refined by
``scipy.optimize.minimize(method="L-BFGS-B")`` (finite-difference gradients, default
options, as a notebook would), the best end point kept. Both are scored on the objective
("as good": jaxfit's objective <= scipy's * (1 + 1e-6) + 1e-12).

    python benchmarks/research_session.py [--only N ...] [--skip-scipy]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy.optimize import minimize as sp_minimize  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from synthetic import chinchilla_tasks, sigmoid_tasks  # noqa: E402

import jaxfit as jf  # noqa: E402
from jaxfit.fit import make_starts  # noqa: E402

# ------------------------------------------------------------------ numpy laws for scipy


def _np_chinchilla(p, x):
    return p["E"] + p["A"] * x["N"] ** -p["alpha"] + p["B"] * x["D"] ** -p["beta"]


def _np_power_law(inp):
    return lambda p, x: p["A"] * x[inp] ** -p["alpha"] + p["E"]


def _np_kaplan(inp):
    return lambda p, x: (x[inp] / p["C_c"]) ** -p["alpha"]


def _np_sigmoid(inp):
    return lambda p, x: p["a"] / (1 + np.exp(-p["k"] * (x[inp] - p["L0"]))) + p["b"]


def _np_transform(law):
    """numpy versions of the Params' transforms, checked against jaxfit's."""
    import jax
    import jax.numpy as jnp

    fns = []
    for name in law.param_names:
        lo, hi = law.params[name].bounds
        if np.isinf(lo) and np.isinf(hi):
            f = lambda u: u  # noqa: E731
        elif np.isinf(hi):
            f = (lambda lo: lambda u: lo + np.exp(u))(lo)
        else:
            f = (lambda lo, hi: lambda u: lo + (hi - lo) / (1 + np.exp(-u)))(lo, hi)
        probe = np.array([-1.3, 0.2, 2.1])
        with jax.enable_x64(True):
            ref = np.asarray(law.params[name].transform(jnp.asarray(probe)))
        if not np.allclose(f(probe), ref, rtol=1e-10):
            raise RuntimeError(f"no numpy transform for {law.name}.{name}")
        fns.append(f)
    return lambda u: {n: f(u[..., i]) for i, (n, f) in enumerate(zip(law.param_names, fns))}


def _np_objective(np_law, law, loss, space, delta=1e-3):
    to_p = _np_transform(law)

    def total(u, x, y):
        with np.errstate(all="ignore"):
            pred = np_law(to_p(u), x)
            r = (np.log(pred) - np.log(y)) if space == "log" else pred - y
            if loss == "huber":
                a = np.abs(r)
                e = np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
            else:
                e = r * r
            v = float(np.sum(e))
        return v if np.isfinite(v) else 1e300

    return total


def scipy_fit(np_law, law, df, y, by, x, starts, loss, space, refine=8):
    """Per task: screen every start, L-BFGS-B from the best ``refine``; best objective."""
    obj = _np_objective(np_law, law, loss, space)
    groups = [("", df)] if by is None else list(df.groupby(by, sort=True))
    best = []
    for _, g in groups:
        xs = {k: g[c].to_numpy(np.float64) for k, c in x.items()}
        yy = g[y].to_numpy(np.float64)
        f0 = np.array([obj(u, xs, yy) for u in starts])
        fb = np.inf
        for i in np.argsort(f0)[:refine]:
            r = sp_minimize(obj, starts[i], args=(xs, yy), method="L-BFGS-B")
            fb = min(fb, r.fun)
        best.append(fb)
    return np.array(best)


# ------------------------------------------------------------------ the session


def _session():
    chin = jf.datasets.load("chinchilla")
    kept = chin[~chin.epoch_excluded_outlier]
    val = jf.datasets.load("olmo_ladder_val")
    val = val[val.role == "ladder"]
    lad = jf.datasets.load("olmo_ladder")
    lad = lad[lad.role == "ladder"]
    lad_final = lad.sort_values("step").groupby(["run", "task"]).tail(5)
    syn20, _ = chinchilla_tasks(20, 40, sigma=0.015, seed=1)
    syn100, _ = chinchilla_tasks(100, 30, sigma=0.02, seed=2)
    one, _ = chinchilla_tasks(1, 60, sigma=0.015, seed=3)
    sig, _ = sigmoid_tasks(30, 40, sigma=0.01, seed=4)
    rng = np.random.default_rng(5)
    pl = pd.DataFrame({"task": np.repeat(np.arange(50), 25),
                       "C": 10 ** rng.uniform(18, 22, 50 * 25)})
    pl["loss"] = (1.7 + 300 * pl.C ** -0.15) * np.exp(0.015 * rng.standard_normal(len(pl)))
    chin_ = _np_chinchilla
    cx = {"N": "N", "D": "D"}
    vx = {"N": "N", "D": "tokens"}
    C = jf.models.chinchilla()
    return [
        # (label, law, numpy law, df, y, by, x, jf options)
        ("chinchilla grid", C, chin_, kept, "loss", None, cx, dict(init="grid")),
        ("chinchilla grid, N <= 1e9", C, chin_, kept[kept.N <= 1e9], "loss", None, cx,
         dict(init="grid")),
        ("chinchilla + outliers, 64 random", C, chin_, chin, "loss", None, cx, {}),
        ("chinchilla least squares", C, chin_, kept, "loss", None, cx,
         dict(loss="squared", space="linear", restarts=32)),
        ("power law in C", jf.models.power_law("C"), _np_power_law("C"), kept, "loss", None,
         {"C": "C"}, {}),
        ("kaplan in C", jf.models.kaplan("C"), _np_kaplan("C"), kept, "loss", None,
         {"C": "C"}, dict(restarts=32)),
        ("OLMo val c4", C, chin_, val, "c4", None, vx, {}),
        ("OLMo val wiki", C, chin_, val, "wiki", None, vx, {}),
        ("OLMo val books, 16 restarts", C, chin_, val, "books", None, vx,
         dict(restarts=16)),
        ("OLMo val c4 per run, power law", jf.models.power_law("tokens"),
         _np_power_law("tokens"), val, "c4", "run", {"tokens": "tokens"}, dict(restarts=16)),
        ("OLMo tasks: task loss per task", C, chin_, lad_final, "task_loss", "task", vx,
         dict(restarts=32)),
        ("OLMo tasks: accuracy sigmoid", jf.models.sigmoid("task_loss"),
         _np_sigmoid("task_loss"), lad_final, "accuracy", "task",
         {"task_loss": "task_loss"}, dict(loss="squared", space="linear", restarts=32)),
        ("synthetic 20 x 40 points", C, chin_, syn20, "loss", "task", cx, {}),
        ("synthetic 100 x 30, 16 restarts", C, chin_, syn100, "loss", "task", cx,
         dict(restarts=16)),
        ("synthetic 1 x 60", C, chin_, one, "loss", None, cx, {}),
        ("synthetic 1 x 60, grid", C, chin_, one, "loss", None, cx, dict(init="grid")),
        ("synthetic sigmoid 30 x 40", jf.models.sigmoid(), _np_sigmoid("L"), sig, "acc",
         "task", {"L": "L"}, dict(loss="squared", space="linear", restarts=16)),
        ("synthetic power law 50 x 25", jf.models.power_law("C"), _np_power_law("C"), pl,
         "loss", "task", {"C": "C"}, dict(restarts=16)),
        ("synthetic 20 x 40, squared log", C, chin_, syn20, "loss", "task", cx,
         dict(loss="squared", restarts=32)),
        ("synthetic 100 x 30, seed 1", C, chin_, syn100, "loss", "task", cx,
         dict(restarts=16, seed=1)),
    ]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", type=int, nargs="*", default=None, help="fit numbers (1-20)")
    ap.add_argument("--skip-scipy", action="store_true")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    print(f"load average at start: {os.getloadavg()}")
    from jaxfit.inference import cache

    log = cache.compile_log()
    fits = _session()
    rows = []
    t_jf = t_sp = 0.0
    for i, (label, law, np_law, df, y, by, x, opts) in enumerate(fits, 1):
        if args.only and i not in args.only:
            continue
        kw = {**dict(loss="huber", space="log", init="random", restarts=64, seed=0), **opts}
        n0 = len(log)
        t0 = time.perf_counter()
        res = jf.fit(law, df, y=y, by=by, x=x, warn=False, **kw)
        tj = time.perf_counter() - t0
        comp = sum(r.trace_s + r.compile_s for r in log[n0:])
        row = dict(fit=i, label=label, tasks=len(res.tasks), points=len(df), jaxfit_s=tj,
                   compile_s=comp, programs=len(log) - n0,
                   converged=float(np.mean(res.converged)))
        if not args.skip_scipy:
            starts = make_starts(law, kw["init"], kw["restarts"], kw["seed"])
            t0 = time.perf_counter()
            f_sp = scipy_fit(np_law, law, df, y, by, x, starts, kw["loss"], kw["space"])
            ts = time.perf_counter() - t0
            f_jf = np.asarray(res.objective)
            row.update(scipy_s=ts, ratio=ts / tj,
                       as_good=float(np.mean(f_jf <= f_sp * (1 + 1e-6) + 1e-12)))
            t_sp += ts
        t_jf += tj
        rows.append(row)
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in row.items()},
              flush=True)
    out = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(out.round(3).to_string(index=False))
    print(f"\njaxfit cold session: {t_jf:.1f} s ({out.compile_s.sum():.1f} s tracing + "
          f"compiling, {out.programs.sum()} programs)")
    if not args.skip_scipy:
        print(f"scipy script: {t_sp:.1f} s; ratio {t_sp / t_jf:.2f}x; as good on "
              f"{np.average(out.as_good, weights=out.tasks):.1%} of tasks")
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
