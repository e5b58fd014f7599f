"""The Hitchhiker grid's members at the Newton step cap: where they go, and what is left.

Runs `jaxfit.recipes.hitchhiker` (the paper fit, 1,098 fits, 1,000-step cap) and, for
each distinct configuration whose member ends at the cap (configurations with the same
training points are merged), continues Newton from the cap's end point for up to
``--more`` steps, one member at a time. It prints the objective at the cap, the
decrease the next step still makes, the objective where the continuation stops, the
parameters at both ends (fitting units: N / 1e9, D / 1e11), a class and, with
``--scipy``, the objective of the benchmark's curve_fit loop (``hitchhiker_grid.py``).

Classes: ``exponent->0`` (alpha or beta < 1e-6 at the cap: its term is a constant that
E absorbs), ``exponent->inf`` (alpha or beta above 20 at either end: a term that fits
the smallest model or run alone), ``E->0`` (E below 1e-6 at the cap, or falling by 100x
or more after it; B/D^beta, and in some A/N^alpha with a growing alpha, take its place).

    python benchmarks/stepcap_tail.py [--more 19000] [--scipy]
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from jaxfit.inference import newton  # noqa: E402
from jaxfit.inference.objective import make_objective  # noqa: E402
from jaxfit.recipes.hitchhiker import _scaled, _units, hitchhiker, hitchhiker_law  # noqa: E402


def _continue(objective, u, x, y, w, n: int):
    """Newton from ``u`` for at most ``n`` steps: (state, objective after each step)."""
    def body(i, c):
        s, fs = c
        s = newton.newton_step(objective, s, x, y, w, ftol=1e-12)
        return s, fs.at[i].set(s.f)

    s = newton.newton_init(objective, u, x, y, w, fatol=objective.floor(y, w))
    s = newton.newton_step(objective, s, x, y, w, ftol=1e-12)       # evaluates the start
    return jax.lax.fori_loop(0, n, body, (s, jnp.full(n, jnp.nan)))


def _classify(p0: dict, p1: dict) -> str:
    if min(p0["alpha"], p0["beta"]) < 1e-6:
        return "exponent->0"
    if max(p0["alpha"], p0["beta"], p1["alpha"], p1["beta"]) > 20:
        return "exponent->inf"
    if p1["E"] <= 1e-2 * p0["E"] or p0["E"] < 1e-6:
        return "E->0"
    return "other"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--more", type=int, default=19000, help="steps after the cap")
    ap.add_argument("--scipy", action="store_true", help="also run the curve_fit loop")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    res = hitchhiker()
    cap = res.fits[0].options["max_steps"]
    law = hitchhiker_law()
    names = law.param_names
    objective = make_objective(law, "squared", 1e-3, "linear", "sum")
    run = jax.jit(_continue, static_argnums=(0, 5))
    frames = []
    for f in res.fits:
        fr = f.to_frame()
        fr["steps"] = f.steps
        frames.append(fr)
    fr = pd.concat(frames)
    fr.index = fr.index.astype(np.int64)
    are = res.are.dropna(subset=["task"]).astype({"task": np.int64}).set_index("task")
    sse = None
    if args.scipy:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from hitchhiker_grid import scipy_grid
        sse = scipy_grid(res)["sse_scipy"]
    capped = fr.index[fr["steps"] >= cap]
    groups: dict[bytes, list[int]] = {}
    for t in capped:
        rows = res.train[res.train["task"] == t][["N", "tokens", "loss"]].to_numpy()
        groups.setdefault(rows.tobytes(), []).append(int(t))
    print(f"members at the {cap}-step cap: {len(capped)} in {len(groups)} distinct "
          f"configurations; statuses {fr['status'].value_counts().to_dict()}")
    out = []
    with jax.enable_x64(True):
        for tasks in groups.values():
            t = tasks[0]
            tr = _scaled(res.train[res.train["task"] == t], _units({}))
            x = {"N": jnp.asarray(tr["N"].to_numpy()), "D": jnp.asarray(tr["D"].to_numpy())}
            y = jnp.asarray(tr["loss"].to_numpy())
            w = jnp.ones_like(y)
            p0 = {n: float(fr.loc[t, n]) for n in names}
            u0 = jnp.asarray([float(law.params[n].transform.inv(p0[n])) for n in names])
            s, fs = run(objective, u0, x, y, w, args.more)
            fs = np.asarray(fs)
            p1 = {n: float(law.params[n].transform(s.u[i])) for i, n in enumerate(names)}
            f0, f1 = float(fr.loc[t, "objective"]), float(s.f)
            r = are.loc[t]
            out.append({
                "tasks": ",".join(map(str, tasks)),
                "config": f"{r['family']} k={r['n_models']} f={r['fraction']} {r['checkpoints']}",
                "points": int(r["n_points"]), "class": _classify(p0, p1),
                "f_cap": f0, "next_step_rel": (f0 - fs[0]) / f0, "f_end": f1,
                "left_rel": (f0 - f1) / f0,
                "end": ("converged" if bool(s.converged) else "stalled" if bool(s.stalled)
                        else "cap") + f"@{int(s.steps)}",
                **{f"{n}_cap": p0[n] for n in ("E", "alpha", "beta")},
                **{f"{n}_end": p1[n] for n in ("E", "alpha", "beta")},
                **({"f_scipy": float(sse.get(t, np.nan))} if sse is not None else {})})
    table = pd.DataFrame(out)
    with pd.option_context("display.width", 250, "display.max_columns", 30,
                           "display.max_rows", 200, "display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))
        n = table["tasks"].str.count(",") + 1
        by = table.assign(members=n, scipy_failed=n * table.get("f_scipy", np.nan).isna()
                          if sse is not None else np.nan).groupby("class")
        print(by[["members", "scipy_failed"]].sum().to_string())


if __name__ == "__main__":
    main()
