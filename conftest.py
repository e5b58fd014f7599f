"""Tests run with float64 on, as the library's users are told to expect (optimistix style).

The scipy oracles solve tiny problems: OpenBLAS threads only add synchronisation (measured
here: scipy L-BFGS-B iterations 11x slower on a loaded 2-core machine), so the test
process pins BLAS to one thread before numpy is imported.
"""

import os
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax  # noqa: E402
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture(scope="session")
def chinchilla_df():
    import jaxfit as jf

    return jf.datasets.load("chinchilla")


#: Raw data and papers (DESIGN.md, data/...), beside the repository when present.
SHARED = Path(__file__).resolve().parent.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared``, the raw sources that provenance checks of embedded data compare with.

    A fresh clone has no ``../shared``: those checks are then skipped with the reason.
    With ``JAXFIT_REQUIRE_SHARED=1`` (``.ci/run`` sets it when ``../shared`` exists) a
    missing directory fails them instead, so that CI cannot skip them silently.
    """
    if (SHARED / "data").is_dir():
        return SHARED
    why = (f"raw sources not found at {SHARED} (../shared beside the repository); "
           "provenance checks of embedded data need them")
    if os.environ.get("JAXFIT_REQUIRE_SHARED") == "1":
        pytest.fail(f"{why}, and JAXFIT_REQUIRE_SHARED=1 requires them.")
    pytest.skip(why)

