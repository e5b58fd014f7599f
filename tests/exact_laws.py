"""Noise-free tasks for every law in `jaxfit.models` (tests/test_design.py, benchmarks).

Each task's true parameters are drawn uniformly in the law's unconstrained init box (the
distribution of ``init="random"`` starts), with 20-60 points on ladder-like inputs: a few
model sizes N (5e7..1.6e10) each trained on several token counts D (5e9..5e11), compute
C = 6 N D, or checkpoints along one input.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

import jaxfit as jf
from jaxfit.fit import make_starts
from jaxfit.inference.objective import unpack
from jaxfit.models.emergence import emergence, emergence_shift, relu_elbow


def _ladder(rng, n):
    """N on 4-8 log-spaced model sizes, D log-uniform per point."""
    sizes = np.geomspace(5e7, 1.6e10, rng.integers(4, 9))
    N = sizes[np.arange(n) % len(sizes)] * np.exp(rng.normal(0, 0.02, n))
    D = np.exp(rng.uniform(np.log(5e9), np.log(5e11), n))
    return {"N": N, "D": D}


def _along(name, lo, hi, log=True):
    def make(rng, n):
        t = np.sort(rng.uniform(0, 1, n))
        return {name: np.exp(np.log(lo) + t * np.log(hi / lo)) if log else lo + t * (hi - lo)}
    return make


def _compute(rng, n):
    x = _ladder(rng, n)
    return {"C": 6 * x["N"] * x["D"]}


def _emergence(rng, n):
    levels = np.array([1e2, 1e3, 1e4, 1e5])
    return {"D": levels[np.arange(n) % 4], "L": rng.uniform(1.5, 4.0, n)}


#: name -> (law, residual space, input generator)
LAWS = {
    "chinchilla": (jf.models.chinchilla(), "log", _ladder),
    "ladder_step1": (jf.models.ladder_step1(), "log", _ladder),
    "power_law": (jf.models.power_law("N"), "log", _along("N", 5e7, 1.6e10)),
    "kaplan": (jf.models.kaplan("C"), "log", _compute),
    "ladder_step1_flops": (jf.models.ladder_step1_flops(), "log", _compute),
    "broken_power_law": (jf.models.broken_power_law(), "log", _along("x", 1.0, 1e10)),
    "sigmoid": (jf.models.sigmoid(), "linear", _along("L", 0.2, 2.5, log=False)),
    "linear": (jf.models.linear(), "linear", _along("L", 1.5, 4.0, log=False)),
    "relu_elbow": (relu_elbow(), "linear", _along("L", 1.5, 4.0, log=False)),
    "emergence_shift": (emergence_shift(), "linear", _along("D", 10.0, 1e5)),
    "emergence": (emergence(), "linear", _emergence),
}


#: Largest point count of a task (20-60 points each).
MAX_POINTS = 60


def exact_tasks(name: str, tasks: int, seed: int = 0):
    """(df with columns task, inputs..., y; truth DataFrame indexed by task)."""
    law, _, make = LAWS[name]
    rng = np.random.default_rng([seed, len(name)])
    with jax.enable_x64(True):
        u = jnp.asarray(make_starts(law, "random", restarts=tasks, seed=seed + 7))
        truth = pd.DataFrame({k: np.asarray(v) for k, v in unpack(law, u).items()})
        frames = []
        for t in range(tasks):
            n = int(rng.integers(20, 61))
            x = make(rng, n)
            p = {k: jnp.asarray(truth[k].iloc[t]) for k in law.param_names}
            # The law is evaluated op by op (eagerly) on inputs edge-padded to one length,
            # MAX_POINTS, so that its ops compile once, not once per task's point count
            # (~400 small compiles, ~10 s, for tests/test_design.py's 5 laws x 8 tasks).
            # Elementwise ops: the first n values are bit-identical to an unpadded call.
            xp = {k: jnp.asarray(np.pad(v, (0, MAX_POINTS - n), mode="edge"))
                  for k, v in x.items()}
            y = np.asarray(law(p, xp))[:n]
            frames.append(pd.DataFrame({"task": t, **x, "y": y}))
    return pd.concat(frames, ignore_index=True), truth
