"""`jaxfit.inference.cache`: a bounded LRU of compiled programs whose eviction frees them.

Tiny programs only (each compiles in milliseconds); ``benchmarks/session_memory.py``
measures a long session of real fits.
"""

import gc
import weakref

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxfit.inference import cache


@pytest.fixture
def small_cache():
    old = cache.size()
    cache.clear()
    cache.set_size(2)
    yield
    cache.set_size(old)
    cache.clear()


def _programs():
    return list(cache._programs.values())


def test_programs_are_reused_evicted_least_recently_used_and_freed(small_cache):
    @cache.jit(static_argnums=0)
    def power(k, x):
        return x ** k + jnp.sum(x)

    x = jnp.arange(4.0)
    np.testing.assert_allclose(power(2, x), np.arange(4.0) ** 2 + 6.0)
    first = weakref.ref(_programs()[0])
    power(2, x + 1.0)                                 # same key: a hit, no compile
    assert cache.info()[:4] == (1, 1, 0, 1)
    power(3, x)                                       # new static argument
    power(2, jnp.arange(5.0))                         # new shape
    power(2, x)                                       # (2, [4]) used last
    assert cache.info().entries == 2 and cache.info().evictions >= 1
    np.testing.assert_allclose(power(3, x), np.arange(4.0) ** 3 + 6.0)
    # Eviction dropped the only reference to the first executable.
    cache.clear()
    gc.collect()
    assert first() is None


def test_omitted_trailing_arguments_take_the_defaults(small_cache):
    @cache.jit(static_argnums=(1, 2))
    def scaled(x, k=2, shift=0.5):
        return x * k + shift

    x = jnp.arange(3.0)
    np.testing.assert_allclose(scaled(x), np.arange(3.0) * 2 + 0.5)
    np.testing.assert_allclose(scaled(x, 3), np.arange(3.0) * 3 + 0.5)
    scaled(x, 2, 0.5)                         # the defaults spelled out: the same program
    assert cache.info().hits == 1 and cache.info().misses == 2
    with pytest.raises(TypeError, match="missing positional"):
        cache.jit(lambda x, y: x + y)(x)


def test_dtype_and_weak_type_are_part_of_the_key(small_cache):
    f = cache.jit(lambda x: x * 2)
    assert f(np.float32(1.5)).dtype == jnp.float32
    assert f(np.arange(3)).dtype == np.arange(3).dtype
    assert cache.info().misses == 2


def test_traced_and_disabled_jit_calls_bypass_the_cache(small_cache):
    f = cache.jit(lambda x: jnp.sin(x) * 3)
    outer = jax.jit(lambda x: f(x) + 1.0)
    np.testing.assert_allclose(outer(jnp.asarray(0.5)), np.sin(0.5) * 3 + 1.0, rtol=1e-12)
    assert jax.grad(f)(0.5) == pytest.approx(3 * np.cos(0.5))
    with jax.disable_jit():
        assert float(f(jnp.asarray(0.5))) == pytest.approx(3 * np.sin(0.5))
    assert cache.info().misses == 0


def test_size_is_validated():
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="cache size must be an integer >= 1"):
            cache.set_size(bad)


def test_every_size_compiles_jax_caches_are_cleared_and_cached_programs_stay_valid(small_cache):
    other = jax.jit(lambda x: x + 1)
    other(jnp.arange(3.0))
    f = cache.jit(lambda x: x * 3)
    f(jnp.arange(2.0))
    assert other._cache_size() == 1                   # one compile: no turnover yet
    f(jnp.arange(3.0))                                # size (2) compiles: JAX's caches go
    assert other._cache_size() == 0
    np.testing.assert_allclose(f(jnp.arange(2.0)), [0.0, 3.0])   # still cached, still valid
    assert cache.info().hits == 1
    cache.set_size(2, clear_jax_caches=False)
    other(jnp.arange(3.0))
    f(jnp.arange(4.0))
    f(jnp.arange(5.0))
    assert other._cache_size() == 1
    cache.set_size(2, clear_jax_caches=True)


def test_cpu_programs_compile_with_the_documented_xla_options(small_cache, monkeypatch):
    assert jax.default_backend() == "cpu"
    # small programs (compile-bound) also at LLVM level 1; large ones (run-bound) at XLA's 2
    assert cache.compiler_options(cache.SMALL_PROGRAM - 1) == {
        "xla_cpu_use_fusion_emitters": False, "xla_backend_optimization_level": 1}
    assert cache.compiler_options(cache.SMALL_PROGRAM) == {"xla_cpu_use_fusion_emitters": False}
    assert cache._values(({"N": jnp.zeros((1000, 40))}, jnp.zeros((1000, 40)), 3)) == 80_001
    monkeypatch.setenv("JAXFIT_XLA_DEFAULTS", "1")
    assert cache.compiler_options() == {}
    monkeypatch.delenv("JAXFIT_XLA_DEFAULTS")

    @cache.jit
    def f(x):
        return jnp.exp(-x) * jnp.log1p(x) + jnp.tanh(x) ** 2

    x = jnp.linspace(0.0, 5.0, 101)
    np.testing.assert_allclose(f(x), jax.jit(f.__wrapped__)(x), rtol=1e-13)

    # A JAX that does not know an option: this and later programs get XLA's defaults.
    monkeypatch.setattr(cache, "CPU_COMPILER_OPTIONS", {"xla_cpu_no_such_option": True})
    monkeypatch.setattr(cache, "_options_rejected", [])

    @cache.jit
    def g(x):
        return 2.0 * x

    np.testing.assert_allclose(g(x), 2.0 * x)
    assert "xla_cpu_no_such_option" in cache._options_rejected[0]
    assert cache.compiler_options() == {}
