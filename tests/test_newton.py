"""The Newton solver's lazy start: the first step evaluates it and is not an iteration."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxfit.inference import newton
from jaxfit.inference.optimize import SolverOptions, _by_chunk, _layout, _run, _solver


def _rosenbrock(u, x, y, w):
    """A curved valley: damped Newton needs many iterations from (-1.2, 1)."""
    return jnp.sum(w * ((y - u[0]) ** 2 + 100.0 * (u[1] - u[0] ** 2) ** 2 * x["s"]))


def test_the_evaluating_step_is_not_one_of_a_rounds_iterations():
    """A fresh member's first step evaluates f, g, H at its start (u unchanged, not
    counted); a round of n steps then takes n Newton iterations, as with an evaluated init
    (so halving and screening see the same iterations)."""
    opts = SolverOptions(chunk=2)
    with jax.enable_x64(True):
        x, y, w = {"s": jnp.ones((1, 1))}, jnp.ones((1, 1)), jnp.ones((1, 1))
        u0 = jnp.array([[-1.2, 1.0], [-1.0, 1.5]])
        solver = _solver(_rosenbrock, opts)
        init, step = solver.init, solver.step
        lay = _layout(2, opts)
        task = jnp.zeros(2, int)
        s0 = _by_chunk(lambda m, d: jax.vmap(init)(m, *d), u0, task, (x, y, w), lay)
        assert bool(jnp.all(s0.fresh)) and np.all(np.isinf(s0.f))
        assert not np.any(jax.vmap(solver.counted)(s0))      # the solver's own count
        one = jax.vmap(lambda s: step(s, {"s": x["s"][0]}, y[0], w[0]))(s0)
        f, g, H = jax.vmap(lambda u: newton.fgh(_rosenbrock, u, {"s": x["s"][0]}, y[0], w[0])
                           )(u0)
        np.testing.assert_array_equal(one.u, u0)
        np.testing.assert_allclose(one.f, f, rtol=1e-15)
        np.testing.assert_allclose(one.g, g, rtol=1e-15)
        np.testing.assert_allclose(one.H, H, rtol=1e-15)
        assert np.all(one.steps == 0) and not np.any(one.fresh)
        for n in (1, 3):
            s = jax.jit(lambda s0: _run(solver, s0, jnp.ones(2, bool), task, (x, y, w),
                                        n, lay))(s0)
            np.testing.assert_array_equal(s.steps, [n, n])
            assert np.all(s.f < f) and not np.any(s.converged | s.stalled)


def test_many_tasks_run_in_calls_of_bounded_size_with_the_same_result(monkeypatch):
    """More members than ``max_members`` are solved in several calls of equal shape (the
    last one padded): memory stays bounded as tasks grow (issue 15: one call of 100,000 x
    16 members peaked at 2.0 GB on a CPU). Each task's result is the one-call result."""
    from jaxfit.inference import optimize

    calls = []
    inner = optimize._minimize
    monkeypatch.setattr(optimize, "_minimize",
                        lambda *a: calls.append(a[4].shape[0]) or inner(*a))
    with jax.enable_x64(True):
        T = 5
        s = jnp.linspace(0.5, 2.0, T)[:, None] * jnp.ones((T, 3))
        x, y, w = {"s": s}, jnp.linspace(0.8, 1.2, T)[:, None] * jnp.ones((T, 3)), jnp.ones((T, 3))
        u0 = jnp.array([[-1.2, 1.0], [-1.0, 1.5], [0.5, 0.5]])
        one = optimize.minimize(_rosenbrock, u0, x, y, w, opts=SolverOptions(keep=None))
        parts = optimize.minimize(_rosenbrock, u0, x, y, w,
                                  opts=SolverOptions(keep=None, max_members=6))
    assert calls == [5, 2, 2, 2]                   # one call; then 3 calls of 2 tasks
    for a, b in zip(one, parts):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(np.asarray(one.u)[:, 0], np.asarray(y)[:, 0], rtol=1e-6)


def test_lbfgs_steps_one_member_at_a_time_on_a_cpu_with_the_vmapped_result():
    """L-BFGS's line search branches (lax.cond); vmapped, every member paid for every
    branch (benchmarks/README.md, session 15: 3x the run time). On a CPU it now steps one
    member per chunk without vmap; its result is the vmapped chunks'."""
    from jaxfit.inference import optimize

    assert optimize._default_chunk("lbfgs") == optimize.CPU_CHUNK_BRANCHING == 1
    assert optimize._default_chunk("newton") == optimize.CPU_CHUNK
    with jax.enable_x64(True):
        T = 5
        s = jnp.linspace(0.5, 2.0, T)[:, None] * jnp.ones((T, 3))
        x, y, w = {"s": s}, jnp.linspace(0.8, 1.2, T)[:, None] * jnp.ones((T, 3)), jnp.ones((T, 3))
        u0 = jnp.array([[-1.2, 1.0], [-1.0, 1.5], [0.5, 0.5]])
        one = optimize.minimize(_rosenbrock, u0, x, y, w, SolverOptions(method="lbfgs"))
        vm = optimize.minimize(_rosenbrock, u0, x, y, w, SolverOptions(method="lbfgs", chunk=3))
    np.testing.assert_array_equal(one.status, vm.status)
    np.testing.assert_allclose(one.u, vm.u, rtol=1e-8)
    np.testing.assert_allclose(one.f, vm.f, rtol=1e-8, atol=1e-20)
    np.testing.assert_allclose(one.u, np.broadcast_to(y[:, :1], (T, 2)) ** [1, 2], rtol=1e-5)


def test_member_blocks_are_one_or_one_per_device():
    """``groups`` is 1 or the device count (the tasks sharded over `task_mesh`); before, any
    other count was vmapped over blocks, a path `jaxfit.fit` never took. Now refused by
    name, with the values it accepts."""
    n = jax.device_count()
    assert _layout(4 * n, SolverOptions(chunk=2, groups=n)).G == n
    with pytest.raises(ValueError, match=rf"^groups={n + 1}: use 1 \(one block of members\) "
                       rf"or the device count, {n} "):
        _layout(4 * (n + 1), SolverOptions(chunk=2, groups=n + 1))
