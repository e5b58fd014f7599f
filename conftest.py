"""Tests run with float64 on, as the library's users are told to expect (optimistix style).

The scipy oracles solve tiny problems: OpenBLAS threads only add synchronisation (measured
here: scipy L-BFGS-B iterations 11x slower on a loaded 2-core machine), so the test
process pins BLAS to one thread before numpy is imported.
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax  # noqa: E402
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture(scope="session")
def chinchilla_df():
    import jaxfit as jf

    return jf.datasets.load("chinchilla")
