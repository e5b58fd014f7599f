"""Recipes: the papers' protocols as one call, returning tidy DataFrames and plots.

- ``ladder``: model-ladder task scaling laws (Bhagia et al. 2024), `jaxfit.recipes.ladder`.
- ``hitchhiker``: the Hitchhiker's estimation protocol (Choshen et al. 2024),
  `jaxfit.recipes.hitchhiker`.
- ``emergence``: emergence points and the few-shot emergence law (Snell et al. 2024),
  `jaxfit.recipes.emergence`.
- ``flp`` / ``flp_m``: FLOPs -> loss -> performance (Chen et al. 2024),
  `jaxfit.recipes.flp`, `jaxfit.recipes.flp_m`.
"""

from jaxfit.recipes.emergence import emergence, fewshot_elbow, run_emergence
from jaxfit.recipes.flp import flp, run_flp
from jaxfit.recipes.flp_m import flp_m, run_flp_m
from jaxfit.recipes.hitchhiker import hitchhiker, run_hitchhiker
from jaxfit.recipes.ladder import ladder

__all__ = ["ladder", "hitchhiker", "run_hitchhiker", "emergence", "fewshot_elbow",
           "run_emergence", "flp", "run_flp", "flp_m", "run_flp_m"]
