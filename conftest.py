"""Tests run with float64 on, as the library's users are told to expect (optimistix style).

One JAX persistent compilation cache serves the whole test session: a directory made by
the controlling process and handed to the xdist workers and every subprocess (the docs
pages, the command line) through ``JAX_COMPILATION_CACHE_DIR``, so an XLA program that
several test files or processes build (the Chinchilla grid fit, its bootstrap) is compiled
once per session. It starts empty, so each run still pays every first compile; it is
removed at the end. Set ``JAX_COMPILATION_CACHE_DIR`` yourself to keep one between runs.

The scipy oracles solve tiny problems: OpenBLAS threads only add synchronisation (measured
here: scipy L-BFGS-B iterations 11x slower on a loaded 2-core machine), so the test
process pins BLAS to one thread before numpy is imported.
"""

import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import jax  # noqa: E402
import pytest

jax.config.update("jax_enable_x64", True)

_OWN_CACHE = []
#: Programs compiling faster than this are not written to the session's cache.
_MIN_COMPILE_SECS = "0.2"


def pytest_configure(config):
    if not os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        path = tempfile.mkdtemp(prefix="jaxfit-test-xla-")
        _OWN_CACHE.append(path)
        os.environ["JAX_COMPILATION_CACHE_DIR"] = path      # inherited by workers, subprocesses
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", _MIN_COMPILE_SECS)
    # This process imported jax before the variables were set.
    jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
    least = os.environ.get("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", _MIN_COMPILE_SECS)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", float(least))


def pytest_unconfigure(config):
    for path in _OWN_CACHE:
        shutil.rmtree(path, ignore_errors=True)


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

