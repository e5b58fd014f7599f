"""Step 1 of the model-ladder task scaling laws (Bhagia et al. 2024): task loss from (N, D) or C."""

from __future__ import annotations

import functools
import math

import jax.numpy as jnp
from numpyro.distributions import constraints

from jaxfit.law import Law, Param, call_spec, law_factory

__all__ = ["ladder_step1", "ladder_step1_flops", "LADDER_STEP1_P0", "LADDER_FLOPS_P0"]

#: The released code's single start for step 1 (``step1.py``, ``fit_step1``), in the
#: law's own parameters: (log A, log B, alpha, beta, E) = (3, 6, 0.1, 0.2, 1).
LADDER_STEP1_P0 = {"A": math.exp(3.0), "B": math.exp(6.0), "alpha": 0.1,
                   "beta": 0.2, "E": 1.0}
#: The released code's start for the compute-only variant (``chinchilla_flops_fit``):
#: (log A, alpha, E) = (3, 0.1, 1).
LADDER_FLOPS_P0 = {"A": math.exp(3.0), "alpha": 0.1, "E": 1.0}


def _E_param(E: str) -> Param:
    if E == "nonnegative":
        return Param(constraints.positive, init=(0.05, 2.0),
                     doc="irreducible task loss (>= 0; reached as a limit)")
    if E == "real":
        return Param(constraints.real, init=(-2.0, 2.0), doc="offset (unbounded)")
    raise ValueError(f"E={E!r}: use 'nonnegative' (step 1, the paper's bound) or 'real' "
                     "(the single-step variant's free offset).")


def _ladder_step1(p, x):
    return (jnp.exp(jnp.log(p["A"]) - p["alpha"] * jnp.log(x["N"]))
            + jnp.exp(jnp.log(p["B"]) - p["beta"] * jnp.log(x["D"])) + p["E"])


def _ladder_step1_flops(p, x, *, input: str):
    return jnp.exp(jnp.log(p["A"]) - p["alpha"] * jnp.log(x[input])) + p["E"]


@law_factory
def ladder_step1(E: str = "nonnegative") -> Law:
    r"""Task loss as a function of model size and tokens, in the ladder code's form.

    .. math:: L(N, D) = \frac{A}{N^\alpha} + \frac{B}{D^\beta} + E

    Bhagia et al. (2024), "Establishing Task Scaling Laws via Compute-Efficient Model
    Ladders", eq. 1, as implemented by ``chinchilla_n_d_fit`` in the released code
    (allenai/OLMo-ladder ``src/scaling/fitting_functions.py``): the two power terms are
    ``exp(log A - alpha log N)`` and ``exp(log B - beta log D)`` and E is *added
    linearly* (not through a log-sum-exp with log E as in `jaxfit.models.chinchilla`),
    so E may sit at its bound 0 (CommonsenseQA does) or, with ``E="real"``, go negative.

    Constraints are the code's L-BFGS-B bounds, which differ from the paper's text
    ("A, B, alpha, beta, E >= 0"): the code bounds ``log A >= 0`` and ``log B >= 0``,
    i.e. ``A, B >= 1``; ``alpha, beta >= 0`` (here > 0, the bound being reached as a
    limit of the exp bijection, which leaves fitted values unchanged to printed
    precision); ``E >= 0`` likewise. The init ranges cover the paper's Table 5 (A up to
    7e5 for ARC-Challenge, B up to 8e3 for Social IQa). `LADDER_STEP1_P0` is the code's
    single start.

    Args:
        E: "nonnegative" (step 1, the default) or "real" (the single-step variant,
            appendix C.5 ``combined_fit``, leaves E free).

    Example:
        >>> import jaxfit as jf
        >>> from jaxfit.models.ladder_step1 import ladder_step1
        >>> law = ladder_step1()
        >>> p = dict(A=38.07, B=100.09, alpha=0.2263, beta=0.2362, E=0.4544)  # MMLU
        >>> round(float(law(p, {"N": 13202396160.0, "D": 5000088518656.0})), 3)
        0.75
    """
    params = {
        "A": Param(constraints.greater_than(1.0), init=(2.0, 1e7),
                   doc="model-size term scale (log A >= 0)"),
        "B": Param(constraints.greater_than(1.0), init=(2.0, 1e6),
                   doc="data term scale (log B >= 0)"),
        "alpha": Param(constraints.positive, init=(0.05, 1.0), doc="model-size exponent"),
        "beta": Param(constraints.positive, init=(0.05, 1.0), doc="data exponent"),
        "E": _E_param(E),
    }
    return Law(fn=_ladder_step1, params=params, inputs=("N", "D"), positive_inputs=("N", "D"),
               name="ladder_step1" if E == "nonnegative" else "ladder_step1_realE",
               formula="A/N^alpha + B/D^beta + E", spec=call_spec("ladder_step1", E=E))


@law_factory
def ladder_step1_flops(input: str = "C") -> Law:
    r"""Task loss as a function of training compute only (the FLOPs variant).

    .. math:: L(C) = \frac{A}{C^\alpha} + E

    Bhagia et al. (2024), appendix C.1, as the released ``chinchilla_flops_fit``
    (``exp(log A) / C**alpha + E``, E added linearly) with its L-BFGS-B bounds:
    ``log A >= 0`` (A >= 1), ``0 <= alpha <= 1``, ``E >= 0``. C is the authors' compute,
    tokens x FLOPs per token (``MODEL_FLOPS``), not 6ND. `LADDER_FLOPS_P0` is the code's
    start.

    Example:
        >>> from jaxfit.models.ladder_step1 import ladder_step1_flops
        >>> law = ladder_step1_flops()
        >>> float(law(dict(A=100.0, alpha=0.5, E=1.0), {"C": 1e4}))
        2.0
    """
    params = {
        "A": Param(constraints.greater_than(1.0), init=(2.0, 1e7), doc="scale (log A >= 0)"),
        "alpha": Param(constraints.interval(0.0, 1.0), init=(0.02, 0.5), doc="compute exponent"),
        "E": Param(constraints.positive, init=(0.05, 2.0), doc="irreducible task loss"),
    }
    return Law(fn=functools.partial(_ladder_step1_flops, input=input), params=params,
               inputs=(input,), positive_inputs=(input,),
               name="ladder_step1_flops", formula=f"A/{input}^alpha + E",
               spec=call_spec("ladder_step1_flops", input=input))
