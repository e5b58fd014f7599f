"""Tests run with float64 on, as the library's users are told to expect (optimistix style)."""

import jax
import pytest

jax.config.update("jax_enable_x64", True)


@pytest.fixture(scope="session")
def chinchilla_df():
    import jaxfit as jf

    return jf.datasets.load("chinchilla")
