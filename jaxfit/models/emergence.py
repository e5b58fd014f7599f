"""Emergence laws from finetuning (Snell, Wallace, Klein, Levine 2024).

Snell et al. (2024), "Predicting Emergent Capabilities by Finetuning", arXiv:2411.16035
(COLM 2024). Downstream performance is a ReLU in pre-training loss: flat at a base before
the *emergence point*, linear after it. Finetuning on ``D`` task examples moves the
emergence point towards weaker models (higher loss), and the *emergence law* ``E(D)``
models that shift; its low-data limit ``E(D0)`` predicts where few-shot emergence happens.

No code was released, and the digest of the paper (``papers/METHODS.md``, section 4) could
verify only the symbols (Table 1: ``A, B, E`` ReLU parameters, ``E_theta(D)`` with
``k, alpha, C``, ``D0``, ``Delta``), the names "log power law" / "power law" and the
tables; the equations below are its reconstruction, implemented as follows:

* ReLU: ``Perf(L) = A max(0, E - L) + B`` with ``A > 0`` (performance rises as the loss
  falls). Fitted through the softplus surrogate ``A tau softplus((E - L)/tau) + B``, which
  tends to the ReLU as the temperature ``tau -> 0`` and differs from it by at most
  ``A tau log 2`` (at the elbow); ``tau`` is fixed (not fitted), default 0.02 nats, well
  below the paper's 0.1-nat success criterion. ``temperature=0`` evaluates the exact ReLU.
* Emergence law, "log power law": ``E(D) = k (log D)^alpha + C`` (natural log, ``D`` in
  examples, ``D > 1``); ablation, "power law": ``E(D) = k D^alpha + C``. We take ``k > 0``
  and ``alpha > 0`` (the paper's observation: more finetuning data moves emergence to
  higher loss); ``C`` is real.
* ``Delta`` (optional): a shift of the ReLU base for few-shot rows (input ``fewshot`` = 1,
  evaluated at ``D = D0``), the paper's optional few-shot base parameter.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
from numpyro.distributions import constraints

from jaxfit.law import Law, Param, call_spec, compose, law_factory

__all__ = ["emergence", "emergence_shift", "relu_elbow", "FORMS", "DEFAULT_TEMPERATURE"]

#: Emergence-law forms: the paper's "log power law" and its "power law" ablation.
FORMS = ("log_power", "power")
#: Default softplus temperature (nats of pre-training loss).
DEFAULT_TEMPERATURE = 0.02
# log(log D) is evaluated at max(log D, _TINY): finite values and gradients at
# D <= e^_TINY (D = 1 included; padding points are never evaluated, see safe_inputs).
_TINY = 1e-12


def _relu(z, temperature: float):
    """``max(0, z)``, or its softplus surrogate ``tau softplus(z / tau)``."""
    if temperature == 0:
        return jnp.maximum(z, 0.0)
    return temperature * jax.nn.softplus(z / temperature)


def _check(form: str, temperature: float):
    if form not in FORMS:
        raise ValueError(f"form={form!r} is not one of {FORMS}.")
    if not temperature >= 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}.")


def _shift(p, x, *, form: str, input: str):
    if form == "log_power":
        t = jnp.log(jnp.maximum(jnp.log(x[input]), _TINY))
    else:
        t = jnp.log(x[input])
    return p["k"] * jnp.exp(p["alpha"] * t) + p["C"]


def _elbow(p, x, *, input: str, temperature: float, sign: float):
    return p["A"] * _relu(sign * (p["E"] - x[input]), temperature) + p["B"]


def _ramp(p, x, *, loss: str, temperature: float, fewshot_shift: bool):
    y = p["A"] * _relu(x["E"] - x[loss], temperature) + p["B"]
    return y + p["Delta"] * x["fewshot"] if fewshot_shift else y


@law_factory
def emergence_shift(form: str = "log_power", input: str = "D") -> Law:
    r"""The emergence law: the emergence point as a function of finetuning data.

    .. math:: E(D) = k (\log D)^{\alpha} + C \quad\text{("log_power")}\qquad
              E(D) = k D^{\alpha} + C \quad\text{("power")}

    Snell et al. (2024), section 4 ("emergence law"; the log power law is the paper's
    choice, the power law its ablation, Table 2). ``D`` counts finetuning examples and
    must exceed 1 for the log form; the few-shot emergence point is ``E(D0)``.

    Example:
        >>> from jaxfit.models.emergence import emergence_shift
        >>> law = emergence_shift()
        >>> round(float(law(dict(k=0.1, alpha=1.0, C=2.0), {"D": 2.718281828459045})), 6)
        2.1
    """
    _check(form, 0.0)
    params = {
        "k": Param(constraints.positive, init=(1e-3, 0.5), doc="scale of the shift"),
        "alpha": Param(constraints.positive,
                       init=(0.2, 3.0) if form == "log_power" else (0.01, 1.0),
                       doc="exponent of the shift"),
        "C": Param(constraints.real, init=(1.0, 3.5), doc="offset (loss units)"),
    }
    fn = functools.partial(_shift, form=form, input=input)    # a partial: laws pickle
    formula = (f"k (log {input})^alpha + C" if form == "log_power" else f"k {input}^alpha + C")
    # (log D)^alpha is undefined at D < 1 (and 0 at D = 1): fn's clamp would give C there
    return Law(fn=fn, params=params, inputs=(input,), positive_inputs=(input,),
               input_above={input: 1.0} if form == "log_power" else {},
               name=f"emergence_shift_{form}", formula=formula,
               spec=call_spec("emergence_shift", form=form, input=input))


def _ramp_params() -> dict[str, Param]:
    return {
        "A": Param(constraints.positive, init=(0.05, 5.0), doc="slope after emergence"),
        "B": Param(constraints.real, init=(0.0, 0.5), doc="base before emergence"),
    }


@law_factory
def relu_elbow(input: str = "L", temperature: float = DEFAULT_TEMPERATURE,
               increasing: bool = False) -> Law:
    r"""Performance as a (softplus-smoothed) ReLU of pre-training loss.

    .. math:: \mathrm{Perf}(L) = A\, \tau\, \mathrm{softplus}\big((E - L)/\tau\big) + B
              \;\xrightarrow{\tau \to 0}\; A \max(0, E - L) + B

    Snell et al. (2024): flat at the base ``B`` for losses above the emergence point
    ``E``, rising with slope ``A`` below it. This is the paper's few-shot "ground truth"
    elbow, fitted on a single data amount. ``increasing=True`` mirrors the ramp for an
    input on which performance *rises* (e.g. log compute): ``A tau softplus((L - E)/tau)
    + B``. ``E``'s start range, (1.5, 4), is in nats of loss; on another input give
    starts inside its range, as the emergence recipe does from its data, e.g.
    ``law.replace(params={**law.params, "E": dataclasses.replace(law.params["E"],
    init=(40.0, 55.0))})`` for ln FLOPs: from the default range a fit on ln FLOPs ends on
    a straight line, flagged poorly identified.

    Args:
        input: name of the loss input.
        temperature: softplus temperature ``tau`` in the input's units (0: exact ReLU).
        increasing: performance rises with the input instead of falling.

    Example:
        >>> from jaxfit.models.emergence import relu_elbow
        >>> law = relu_elbow(temperature=0.0)
        >>> float(law(dict(A=0.5, E=2.0, B=0.25), {"L": 1.5}))
        0.5
    """
    _check("log_power", temperature)
    params = _ramp_params()
    params["E"] = Param(constraints.real, init=(1.5, 4.0), doc="emergence point")
    sign = -1.0 if increasing else 1.0
    fn = functools.partial(_elbow, input=input, temperature=temperature, sign=sign)
    ramp = f"({input} - E)" if increasing else f"(E - {input})"
    return Law(fn=fn, params=params, inputs=(input,), name="relu_elbow",
               formula=f"A relu{ramp} + B" + (f" (softplus, tau={temperature:g})"
                                              if temperature else ""),
               spec=call_spec("relu_elbow", input=input, temperature=float(temperature),
                              increasing=bool(increasing)))


@law_factory
def emergence(form: str = "log_power", temperature: float = DEFAULT_TEMPERATURE,
              fewshot_shift: bool = False, loss: str = "L", data: str = "D") -> Law:
    r"""The emergence law of Snell et al. (2024): performance from loss and finetuning data.

    .. math:: \mathrm{Perf}(L, D) = A\, \mathrm{relu}_\tau\big(E(D) - L\big) + B
              \;[+\, \Delta\, \mathbb{1}_\text{few-shot}], \qquad
              E(D) = k (\log D)^{\alpha} + C

    One law for every finetuning-data subset, fitted jointly: ``A, B`` are shared by all
    data amounts and only the elbow moves with ``D`` (`emergence_shift`; ``form="power"``
    for the ``k D^alpha + C`` ablation). ``relu_tau`` is the softplus surrogate of
    `relu_elbow`. The few-shot emergence point is ``E(D0)``
    (``emergence_shift(form)(params, {"D": D0})``).

    Args:
        form: "log_power" (the paper's law) or "power" (its ablation).
        temperature: softplus temperature (nats; 0: exact ReLU).
        fewshot_shift: add the input ``fewshot`` (0/1) and the parameter ``Delta``, a
            shift of the base for few-shot rows (the paper's optional ``Delta``).
        loss, data: names of the loss and finetuning-data inputs.

    Example:
        >>> from jaxfit.models.emergence import emergence
        >>> law = emergence(temperature=0.0)
        >>> p = dict(k=0.1, alpha=1.0, C=2.0, A=0.5, B=0.25)
        >>> round(float(law(p, {"L": 2.0, "D": 2.718281828459045 ** 2})), 6)
        0.35
    """
    _check(form, temperature)
    params = _ramp_params()
    extra = ("fewshot",) if fewshot_shift else ()
    if fewshot_shift:
        params["Delta"] = Param(constraints.real, init=(-0.05, 0.05),
                                doc="base shift of few-shot rows")
    fn = functools.partial(_ramp, loss=loss, temperature=temperature,
                           fewshot_shift=fewshot_shift)
    ramp = Law(fn=fn, params=params, inputs=(loss, "E", *extra), name="relu_ramp",
               formula=f"A relu(E - {loss}) + B" + (" + Delta fewshot" if fewshot_shift
                                                    else ""))
    law = compose(ramp, emergence_shift(form, data), into="E", name=f"emergence_{form}")
    return law.replace(formula=f"{ramp.formula}, E = {emergence_shift(form, data).formula}"
                       + (f" (softplus, tau={temperature:g})" if temperature else ""),
                       spec=call_spec("emergence", form=form, temperature=float(temperature),
                                      fewshot_shift=bool(fewshot_shift), loss=loss, data=data))
