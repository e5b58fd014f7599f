"""The law library: each factory returns a `jaxfit.Law` with its formula and reference."""

from jaxfit.models.broken_power_law import broken_power_law
from jaxfit.models.chinchilla import HOFFMANN_GRID, chinchilla
from jaxfit.models.emergence import emergence, emergence_shift, relu_elbow
from jaxfit.models.kaplan import kaplan
from jaxfit.models.ladder_step1 import (
    LADDER_FLOPS_P0,
    LADDER_STEP1_P0,
    ladder_step1,
    ladder_step1_flops,
)
from jaxfit.models.linear import linear
from jaxfit.models.power_law import power_law
from jaxfit.models.sigmoid import sigmoid

__all__ = ["chinchilla", "power_law", "kaplan", "sigmoid", "linear", "broken_power_law",
           "emergence", "emergence_shift", "relu_elbow", "ladder_step1", "ladder_step1_flops", "HOFFMANN_GRID", "LADDER_STEP1_P0",
           "LADDER_FLOPS_P0"]
