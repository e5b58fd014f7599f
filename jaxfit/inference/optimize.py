"""Multi-start minimisation of many independent tasks in one jit-compiled, vmapped call.

Shape convention: tasks ``T``, starts ``S``, refined starts ``R``, points ``P``, params
``k``. Every task's data is padded to the same ``P`` with zero weights (see
`jaxfit.data`); independent tasks are never summed into one objective.

The procedure (measured in ``benchmarks/fit_throughput.py``):

1. *Screen*: evaluate the objective at every start (optionally after ``screen_steps``
   solver iterations) and keep the ``refine`` best starts per task.
2. *Rounds*: the ``T * R`` kept starts ("members") run in rounds of ``round_steps``
   solver iterations until every member has stopped. Before each round the members still
   running are packed to the front; the solver then visits only the chunks that hold
   them, one after another (``chunk`` members vmapped), and a chunk stops as soon as its
   own members have, so converged members cost nothing.
3. *Halve*: after each of the first rounds, each task keeps the better half of its members
   until ``keep`` remain (successive halving: a start far behind after a few Newton steps
   rarely wins); the others stop.
4. *Continue* (``continuation``, e.g. the Huber fit's ``(10,)``): steps 2-3 ran on a
   smoothed objective (delta x 10); the ``keep`` survivors are refitted at the next scale,
   down to the objective asked for, in the same traced loop.
5. *Select*: the lowest finite objective per task wins; the ``keep`` survivors' end
   points are returned for identifiability checks.

Everything is one XLA program with static shapes (the chunk loop's trip count is traced)
and no host round trip; more than ``max_members`` members (tasks x starts) run as several
calls of that one program over consecutive groups of tasks, which bounds the memory of
the solver's state. Chunking is what makes this fast on a CPU: a step vmapped over
thousands of members spills the caches (52 us per member-step against 26 us in chunks of
8-128, measured on the benchmark problem), and packing the running members makes the
work proportional to the members still running. ``groups`` splits the members into independent blocks, one per device when
the task axis is sharded, so that packing never moves members across devices; each device
runs its block as a one-device fit would (`jax.shard_map`, `_over_blocks`).

A task padded far beyond its own length is evaluated block by block up to its last real
point (``point_block``, automatic at >= 512 padded points; tasks are sorted by length
inside the call so that a chunk holds similar ones): the same objective summed in another
order (benchmarks/blocked_objective.py: same optima to 3e-15, same status and steps).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, PartitionSpec

from jaxfit.inference import cache, lbfgs, newton
from jaxfit.inference.status import Status

__all__ = ["SolverOptions", "Solution", "minimize"]


#: Members per chunk on a CPU (benchmarks/README.md: chunks of 1-128 cost about the same
#: per member-step, a whole 8,000-member batch twice as much; on workload (a) chunks of
#: 1 / 2 / 4 / 8 / 16 took 7.2 / 7.2 / 7.0 / 8.6 / 9.6 s). On accelerators, where a
#: step's cost is flat in the batch size, the default is one large chunk (untested here:
#: no accelerator).
CPU_CHUNK = 4
ACCELERATOR_CHUNK = 4096
#: Members per chunk on a CPU for L-BFGS: one, stepped without vmap. optax's zoom line
#: search branches (``lax.cond``); under vmap every branch runs for every member, so a
#: vmapped chunk paid for all of them (benchmarks/README.md, session 15: 200 tasks x 16
#: starts 5.3 -> 1.5 s warm, the Chinchilla grid 0.17 -> 0.06 s, and 7,630 -> 6,209
#: HLO ops).
CPU_CHUNK_BRANCHING = 1
#: Most members (tasks x starts) one compiled call holds; more tasks are solved in several
#: calls of equal shape (one compile), so memory stays bounded as tasks grow (issue 15:
#: 100,000 tasks x 16 starts in one call peaked at 2.0 GB RSS on a CPU, 1,000 tasks at
#: 0.4 GB; benchmarks/task_scaling.py). The accelerator value keeps the measured single
#: call of 100,000 x 16 on a GPU (1.1 GB of device memory, benchmarks/device_check.py).
CPU_MAX_MEMBERS = 2 ** 18
ACCELERATOR_MAX_MEMBERS = 2 ** 22
#: Convergence tolerance of the warm-up stages of a continuation (their end points only
#: start the next stage).
WARM_FTOL = 1e-8
#: Points per block of a blocked objective (`SolverOptions.point_block`).
AUTO_BLOCK = 256
#: Relative gap below which two members' objectives count as the same optimum.
TIE_RTOL = 1e-12


@dataclasses.dataclass(frozen=True)
class SolverOptions:
    """Options of `minimize` (hashable: they are static under jit).

    Attributes:
        method: "newton" (damped exact-Hessian Newton, `jaxfit.inference.newton`) or
            "lbfgs" (``optax.lbfgs`` with zoom line search).
        max_steps: per-member iteration cap.
        ftol: relative convergence tolerance on the objective (Newton: the Newton
            decrement; L-BFGS: the decrease of an accepted step).
        gtol: L-BFGS only: stop when the largest gradient component is below this.
        refine: number of best-screened starts refined per task (None: all).
        screen_steps: solver iterations run on every start before screening.
        keep: members per task that successive halving leaves to run to convergence
            (None: no halving). Two or more keep the identifiability check meaningful.
        round_steps: iterations per round (members are packed, and halved, between rounds).
        chunk: members vmapped together; chunks run one after another. None: `CPU_CHUNK`
            on a CPU (L-BFGS: `CPU_CHUNK_BRANCHING`, one member without vmap),
            `ACCELERATOR_CHUNK` elsewhere (chosen when `minimize` is called).
        groups: independent blocks of members: 1, or the device count when the tasks
            are sharded over `task_mesh` (the task count must be a multiple of it).
        max_members: most members (tasks x starts) per compiled call; more tasks run in
            several calls of equal shape, one after another (the tasks are independent,
            so the results are those of one call). None: `CPU_MAX_MEMBERS` on a CPU,
            `ACCELERATOR_MAX_MEMBERS` elsewhere.
        continuation: factors > 1 of the objective's ``scale`` argument (the Huber delta,
            `jaxfit.inference.objective.make_objective`), largest first, for warm-up
            stages: screening and halving use the first; each later stage starts from the
            previous one's ``keep`` survivors (stopped at the looser `WARM_FTOL`), and the
            last runs at scale 1. Every stage is the same traced loop (one compiled copy of
            the step). () (default): one stage, objective called as ``f(u, x, y, w)``.
        point_block: Newton only, summed objectives only: evaluate each task's objective
            and derivatives block by block, over this many points at a time and only up to
            its last point of positive weight, so that a short task padded to a long one
            costs its own length (tasks are sorted by length inside the call so that a
            chunk holds similar ones). 0: off; None (default): `AUTO_BLOCK` when the
            padded point count is at least ``2 * AUTO_BLOCK``, else off.
    """

    method: str = "newton"
    max_steps: int = 1000
    ftol: float = 1e-12
    gtol: float = 1e-12
    refine: int | None = 8
    screen_steps: int = 0
    keep: int | None = 2
    round_steps: int = 16
    chunk: int | None = None
    groups: int = 1
    continuation: tuple[float, ...] = ()
    point_block: int | None = None
    max_members: int | None = None

    def __post_init__(self):
        if self.method not in _METHODS:
            raise ValueError(f"method={self.method!r} is not one of {sorted(_METHODS)}.")
        for name in ("max_steps", "round_steps", "groups"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if any(not c > 1 for c in self.continuation):
            raise ValueError(f"continuation={self.continuation}: every factor must be > 1 "
                             "(the Huber delta is multiplied by it).")
        if self.point_block is not None and self.point_block < 0:
            raise ValueError(f"point_block must be >= 0 or None, got {self.point_block}.")
        if self.point_block and self.method != "newton":
            raise ValueError(f"point_block={self.point_block} needs method='newton' (the "
                             "blocked objective has no reverse-mode derivative for L-BFGS); "
                             "pass point_block=0.")
        for name in ("keep", "chunk", "max_members"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 or None, got {getattr(self, name)}.")

    @property
    def cache_token(self) -> str:
        """A process-independent identity (`jaxfit.inference.cache`): every field."""
        return repr(self)


class Solution(NamedTuple):
    """Per-task result of `minimize` (a pytree of arrays)."""

    u: jax.Array           # [T, k] best unconstrained parameters
    f: jax.Array           # [T] best objective
    status: jax.Array      # [T] `Status` codes
    steps: jax.Array       # [T] iterations of the winning member
    grad_norm: jax.Array   # [T] max |gradient| (unconstrained) at the winner
    all_u: jax.Array       # [T, K] end points of the members left after halving
    all_f: jax.Array       # [T, K]
    all_status: jax.Array  # [T, K]


class _Solver(NamedTuple):
    """One member's solver: ``init(objective, u, *data)``, ``step(objective, s, *data)``,
    ``done(s)``, and ``counted(s)``: whether ``step`` from ``s`` is one of the iterations
    that ``max_steps``, rounds, halving and screening count (Newton's first step after
    `newton.newton_init` only evaluates the start). ``branching``: the step branches
    (``lax.cond``), so a chunk of one member is stepped without vmap (`CPU_CHUNK_BRANCHING`)."""

    init: Callable
    step: Callable
    done: Callable
    counted: Callable
    branching: bool = False


_METHODS = {
    "newton": _Solver(newton.newton_init, newton.newton_step, newton.newton_done,
                      newton.newton_counted),
    "lbfgs": _Solver(lbfgs.lbfgs_init, lbfgs.lbfgs_step, lbfgs.lbfgs_done,
                     lambda s: jnp.asarray(True), branching=True),
}


def _status(s) -> jax.Array:
    return jnp.where(s.converged, Status.CONVERGED,
                     jnp.where(~jnp.isfinite(s.f), Status.NONFINITE,
                               jnp.where(s.stalled, Status.STALLED, Status.MAX_STEPS)))


def _solver(objective, opts: SolverOptions, ftol=None) -> _Solver:
    """`_Solver` of one member on ``objective`` (its functions take the member's state and
    data only); ``step`` is a no-op once ``done``. ``ftol`` (possibly traced) overrides
    ``opts.ftol``."""
    init, step, done, counted, branching = _METHODS[opts.method]
    ftol = opts.ftol if ftol is None else ftol
    kw = {"ftol": ftol} if opts.method == "newton" else {"ftol": ftol, "gtol": opts.gtol}
    done_ = lambda s: done(s) | (s.steps >= opts.max_steps)  # noqa: E731
    floor = getattr(objective, "floor", None)

    def init_(u, x, y, w, *scale):
        # the exact-fit objective of the member's data (`make_objective`'s ``floor``)
        fatol = 0.0 if floor is None else floor(y, w)
        return init(objective, u, x, y, w, *scale, fatol=fatol)

    def step_(s, *data):
        new = step(objective, s, *data, **kw)
        return jax.tree.map(lambda a, b: jnp.where(done_(s), a, b), s, new)

    return _Solver(init_, step_, done_, counted, branching)


def _take(tree, idx):
    return jax.tree.map(lambda a: jnp.take(a, idx, axis=0), tree)


def _where(mask, new, old):
    """Per-member select between two pytrees whose leaves lead with the member axis."""
    return jax.tree.map(lambda a, b: jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)),
                                               a, b), new, old)


class _Layout(NamedTuple):
    """Members [T * R] (task-major) split into ``G`` blocks, each padded to whole chunks."""

    G: int
    per: int     # real members per block
    padded: int  # members per block, a multiple of the chunk
    chunk: int

    def pad(self, a):
        """[T * R, ...] -> [G * padded, ...], repeating each block's last member."""
        a = a.reshape((self.G, self.per) + a.shape[1:])
        a = jnp.pad(a, [(0, 0), (0, self.padded - self.per)] + [(0, 0)] * (a.ndim - 2),
                    mode="edge")
        return a.reshape((-1,) + a.shape[2:])

    def unpad(self, a):
        return a.reshape((self.G, self.padded) + a.shape[1:])[:, :self.per].reshape(
            (-1,) + a.shape[1:])


def task_mesh() -> Mesh:
    """The mesh of the task axis, one block of tasks per device: the one `jaxfit.fit`
    shards the tasks over and `_over_blocks` runs each device's block on."""
    return Mesh(np.array(jax.devices()), ("tasks",))


def _layout(M: int, opts: SolverOptions) -> _Layout:
    G = opts.groups
    if G not in (1, jax.device_count()):
        raise ValueError(f"groups={G}: use 1 (one block of members) or the device count, "
                         f"{jax.device_count()} (one block per device, the tasks sharded "
                         "over `task_mesh()`); other block counts are not supported.")
    if M % G:
        raise ValueError(f"{M} members do not split into groups={G} equal blocks.")
    per = M // G
    chunk = min(opts.chunk, per)
    return _Layout(G, per, -(-per // chunk) * chunk, chunk)


def _over_blocks(fn, lay: _Layout, *args):
    """``fn`` on each block of the leading block axis of ``args``: with one block (a single
    device) ``fn`` is called directly; else (one block per device, `_layout`) directly on
    each device (`jax.shard_map` over `task_mesh`).

    Called directly, not vmapped: a vmapped ``while_loop`` with a batched predicate turns
    every carry update into a select, which doubles the traced program; and a member
    stepped alone (L-BFGS's chunks of one, `CPU_CHUNK_BRANCHING`) computes other roundings
    under vmap. Before, the blocks of several devices were vmapped, so an L-BFGS fit on 4
    or 8 devices differed from the same fit on 1 (5 Chinchilla tasks: parameters by 1e-3,
    and one task's best restart ended in another local minimum, its objective 4.2 times
    the one-device fit's); on each device directly, the member's arithmetic is the
    one-device fit's."""
    if lay.G == 1:
        out = fn(*jax.tree.map(lambda a: a[0], args))
        return jax.tree.map(lambda a: a[None], out)

    def local(*a):           # this device's block [1, ...]
        out = fn(*jax.tree.map(lambda v: v[0], a))
        return jax.tree.map(lambda v: v[None], out)

    spec = PartitionSpec("tasks")
    # check_vma=False: optax's line search mixes per-device and constant values in its
    # conds, which the check would refuse; every value here is per device
    return jax.shard_map(local, mesh=task_mesh(), in_specs=spec, out_specs=spec,
                         check_vma=False)(*args)


def _by_chunk(fn, members, task, data, lay: _Layout):
    """``fn(members_chunk, data_chunk)`` on every chunk: each block on its device
    (`_over_blocks`), chunks in turn.

    ``members`` and ``task`` are in the padded layout; ``data`` is indexed by task.
    """
    def one_chunk(args):
        m, t = args
        return fn(m, _take(data, t))

    def one_block(m, t):
        split = lambda a: a.reshape((-1, lay.chunk) + a.shape[1:])  # noqa: E731
        out = jax.lax.map(one_chunk, (jax.tree.map(split, m), split(t)))
        return jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), out)

    blocks = lambda a: a.reshape((lay.G, -1) + a.shape[1:])  # noqa: E731
    out = _over_blocks(one_block, lay, jax.tree.map(blocks, members), blocks(task))
    return jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), out)


def _run(solver: _Solver, state, active, task, data, n_steps: int, lay: _Layout):
    """At most ``n_steps`` iterations of every active member that is still running.

    The running members are packed to the front of each block and only the chunks that
    hold them are visited (a loop with a traced trip count), so members that are done
    cost nothing; a chunk stops as soon as its own running members have.
    """
    step, done = solver.step, solver.done

    def one_member(s, act, d):
        # a chunk of one member of a branching solver, without vmap: its conditionals
        # then run one side only (`CPU_CHUNK_BRANCHING`)
        s, act, d = jax.tree.map(lambda a: a[0], (s, act, d))

        def cond(carry):
            s, i = carry
            return (i < n_steps) & act & ~done(s)

        def body(carry):
            s, i = carry
            return step(s, *d), i + jnp.where(solver.counted(s), 1, 0)

        s = jax.lax.while_loop(cond, body, (s, jnp.asarray(0)))[0]
        return jax.tree.map(lambda a: a[None], s)

    def chunk_fn(s, act, d):
        if lay.chunk == 1 and solver.branching:
            return one_member(s, act, d)
        step_b = jax.vmap(step)

        def cond(carry):
            s, i = carry
            return (i < n_steps) & jnp.any(act & ~jax.vmap(done)(s))

        def body(carry):
            s, i = carry
            # a step that is not an iteration for any active member (`_Solver.counted`)
            # is not one of the round's ``n_steps``
            i = i + jnp.where(jnp.any(act & ~jax.vmap(solver.counted)(s)), 0, 1)
            return _where(act, step_b(s, *d), s), i

        return jax.lax.while_loop(cond, body, (s, jnp.asarray(0)))[0]

    def one_block(s, act, t):
        n = jnp.sum(act & ~jax.vmap(done)(s))

        def visit(c, s):
            cut = lambda a: jax.lax.dynamic_slice_in_dim(a, c * lay.chunk, lay.chunk)  # noqa: E731
            sub = chunk_fn(jax.tree.map(cut, s), cut(act), _take(data, cut(t)))
            return jax.tree.map(
                lambda a, b: jax.lax.dynamic_update_slice_in_dim(a, b, c * lay.chunk, 0),
                s, sub)

        return jax.lax.fori_loop(0, (n + lay.chunk - 1) // lay.chunk, visit, s)

    running = active & ~jax.vmap(done)(state)
    idx = _pack(running, lay)
    blocks = lambda a: a.reshape((lay.G, -1) + a.shape[1:])  # noqa: E731
    sub = _over_blocks(one_block, lay, jax.tree.map(blocks, _take(state, idx)),
                       blocks(_take(active, idx)), blocks(_take(task, idx)))
    sub = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), sub)
    return jax.tree.map(lambda a, b: a.at[idx].set(b), state, sub)


def _pack(running, lay: _Layout):
    """A permutation putting each block's running members first (stable)."""
    r = running.reshape(lay.G, lay.padded)
    idx = jnp.argsort(~r, axis=1, stable=True) + lay.padded * jnp.arange(lay.G)[:, None]
    return idx.reshape(-1)


def _rank_key(f, active):
    """Sort key per member: active finite objectives, then active non-finite, then dropped."""
    big = jnp.finfo(f.dtype).max
    return jnp.where(active, jnp.where(jnp.isfinite(f), f, big), jnp.inf)


def _halving_schedule(R: int, keep: int | None) -> list[int]:
    sizes = []
    while keep is not None and R > keep:
        R = max(R // 2, keep)
        sizes.append(R)
    return sizes


def _rounds(solver: _Solver, state, active, task, data, T: int, R: int, lay: _Layout,
            opts: SolverOptions, halving=True):
    """Run the active members in rounds (pack, run, halve while ``halving``) until none
    is running."""
    schedule = _halving_schedule(R, opts.keep)

    def halve(s, act, rnd):
        if not schedule:
            return act
        n_keep = jnp.asarray(schedule)[jnp.minimum(rnd, len(schedule) - 1)]
        key = _rank_key(lay.unpad(s.f), lay.unpad(act)).reshape(T, R)
        rank = jnp.argsort(jnp.argsort(key, axis=1, stable=True), axis=1)
        new = lay.unpad(act) & (rank < n_keep).reshape(-1)
        new = jnp.where((rnd < len(schedule)) & halving, new, lay.unpad(act))
        return act & lay.pad(new)

    def running(s, act):
        return act & ~jax.vmap(solver.done)(s)

    def cond(carry):
        s, act, _ = carry
        return jnp.any(running(s, act))

    def body(carry):
        s, act, rnd = carry
        s = _run(solver, s, act, task, data, opts.round_steps, lay)
        return s, halve(s, act, rnd), rnd + 1

    return jax.lax.while_loop(cond, body, (state, active, jnp.asarray(0)))[:2]


def _best_first(state, active, K: int):
    """The ``K`` best active members per task of a state [T, R, ...], best first.

    Members within rounding of the best tie, and top_k then keeps the earlier one (the
    better start, or the previous stage's better survivor), so that jit, no-jit and batch
    sizes pick the same winner.
    """
    key = _rank_key(state.f, active)
    best = jnp.min(key, axis=1, keepdims=True)
    tie = (key <= best + TIE_RTOL * jnp.abs(best)) & (key < jnp.finfo(key.dtype).max)
    _, order = jax.lax.top_k(-jnp.where(tie, best, key), K)          # [T, K]
    return jax.tree.map(
        lambda a: jnp.take_along_axis(a, order.reshape(order.shape + (1,) * (a.ndim - 2)),
                                      axis=1), state)


def _stages(objective, opts: SolverOptions, u, data):
    """Run the members ``u`` [T, R, k] through every stage; the ``keep`` best per task
    (all if ``keep`` is None), best first, as a state [T, K, ...] and their `Status`.

    The stages are one ``fori_loop`` (a traced stage index picks the scale and the
    tolerance), so the solver step is compiled once however many stages there are.
    """
    T, R, k = u.shape
    K = R if opts.keep is None else min(opts.keep, R)
    scales = jnp.asarray(opts.continuation + (1.0,))
    n = len(opts.continuation) + 1
    lay = _layout(T * R, opts)
    task = lay.pad(jnp.repeat(jnp.arange(T), R))
    real = jnp.arange(task.size) % lay.padded < lay.per
    u0 = lay.pad(u.reshape(T * R, k))

    def stage(i, u, active, steps0):
        d = data + ((jnp.full(T, scales[i]),) if opts.continuation else ())
        ftol = jnp.where(i == n - 1, opts.ftol, max(opts.ftol, WARM_FTOL))
        solver = _solver(objective, opts, ftol)
        state = _by_chunk(lambda m, dd: jax.vmap(solver.init)(m, *dd), u, task, d, lay)
        state, active = _rounds(solver, state, active, task, d, T, R, lay, opts,
                                halving=i == 0)
        state = state._replace(steps=state.steps + steps0)
        # only the ``keep`` best per task go on to the next stage
        key = _rank_key(lay.unpad(state.f), lay.unpad(active)).reshape(T, R)
        rank = jnp.argsort(jnp.argsort(key, axis=1, stable=True), axis=1)
        return state, active & lay.pad((rank < K).reshape(-1))

    def body(i, carry):
        state, active = carry
        first = i == 0
        return stage(i, jnp.where(first, u0, state.u), active,
                     jnp.where(first, 0, state.steps))

    def init_state():
        # the solver state's shapes: those of its ``init`` (the rounds and stages carry
        # it unchanged); tracing ``init`` alone, not a whole stage, halves the tracing
        # time that a warm compilation cache leaves (benchmarks/cli_startup.py)
        d = data + ((jnp.full(T, scales[0]),) if opts.continuation else ())
        init = _solver(objective, opts, opts.ftol).init
        state = _by_chunk(lambda m, dd: jax.vmap(init)(m, *dd), u0, task, d, lay)
        return state._replace(steps=state.steps + 0)

    shape = jax.eval_shape(init_state)
    state0 = jax.tree.map(lambda a: jnp.zeros(a.shape, a.dtype), shape)
    state, active = jax.lax.fori_loop(0, n, body, (state0, real))
    state = jax.tree.map(lambda a: lay.unpad(a).reshape((T, R) + a.shape[1:]), state)
    state = _best_first(state, lay.unpad(active).reshape(T, R), K)
    return state, _status(state)


def _screen(objective, opts: SolverOptions, u0, data):
    """The ``refine`` best starts per task [T, R, k], by objective (after ``screen_steps``)."""
    T, S, k = u0.shape
    R = S if opts.refine is None else min(opts.refine, S)
    if R == S and opts.screen_steps == 0:
        return u0
    solver = _solver(objective, opts)
    lay = _layout(T * S, opts)
    task = lay.pad(jnp.repeat(jnp.arange(T), S))
    u = lay.pad(u0.reshape(T * S, k))
    if opts.screen_steps > 0:
        s = _by_chunk(lambda m, d: jax.vmap(solver.init)(m, *d), u, task, data, lay)
        s = _run(solver, s, jnp.ones(u.shape[0], bool), task, data, opts.screen_steps,
                 lay)
        u, f = s.u, s.f
    else:
        f = _by_chunk(lambda m, d: jax.vmap(objective)(m, *d), u, task, data, lay)
    u, f = lay.unpad(u).reshape(T, S, k), lay.unpad(f).reshape(T, S)
    _, idx = jax.lax.top_k(-jnp.where(jnp.isfinite(f), f, jnp.inf), R)      # [T, R]
    return jnp.take_along_axis(u, idx[..., None], axis=1)


def _n_real(w):
    """Points up to and including the last of positive weight ([..., P] -> [...]; 1 if none)."""
    P = w.shape[-1]
    last = P - jnp.argmax((w > 0)[..., ::-1], axis=-1)
    return jnp.where(jnp.any(w > 0, axis=-1), last, 1)


#: The entry of the inputs dict that carries a task's number of blocks to a blocked objective.
_NB = "__jaxfit_blocks__"


def _blocked(objective, B: int):
    """``objective`` summed over blocks of ``B`` points, up to the task's last real point.

    Exact for summed objectives (``objective.additive``): zero-weight points contribute
    nothing, and a block past a task's last real point is skipped (a loop with a traced
    trip count; under vmap, the longest member of a chunk sets it). The task's number of
    blocks travels in the inputs dict (``x[_NB]``, computed once per fit). The result
    carries ``fgh`` (value, gradient and Hessian, summed the same way) for the Newton step.
    """
    def over(fn, zero, u, x, y, w, *scale):
        x = dict(x)
        nb = x.pop(_NB)

        def body(b, acc):
            cut = lambda a: jax.lax.dynamic_slice_in_dim(a, b * B, B, axis=-1)  # noqa: E731
            out = fn(u, jax.tree.map(cut, x), cut(y), cut(w), *scale)
            return jax.tree.map(jnp.add, acc, out)

        return jax.lax.fori_loop(0, nb, body, zero)

    def value(u, x, y, w, *scale):
        return over(objective, jnp.zeros((), u.dtype), u, x, y, w, *scale)

    def fgh(u, *data):
        k = u.shape[-1]
        zero = (jnp.zeros((), u.dtype), jnp.zeros_like(u), jnp.zeros((k, k), u.dtype))
        return over(lambda v, *d: newton.fgh(objective, v, *d), zero, u, *data)

    value.fgh = fgh
    value.floor = getattr(objective, "floor", None)
    return value


@cache.jit(static_argnums=(0, 1))
def _minimize(objective: Callable, opts: SolverOptions, u0, x, y, w) -> Solution:
    if opts.point_block and y.shape[-1] > opts.point_block:
        return _minimize_blocked(objective, opts, u0, x, y, w)
    return _minimize_plain(objective, opts, u0, x, y, w)


def _minimize_blocked(objective, opts: SolverOptions, u0, x, y, w) -> Solution:
    """`_minimize_plain` of the blocked objective, tasks sorted by length (and back)."""
    B = opts.point_block
    P = y.shape[-1]
    extra = (-P) % B
    if extra:     # whole blocks: repeat the last point with zero weight
        edge = lambda a: jnp.pad(a, ((0, 0), (0, extra)), mode="edge")  # noqa: E731
        x, y, w = jax.tree.map(edge, x), edge(y), jnp.pad(w, ((0, 0), (0, extra)))
    n = _n_real(w)
    order = jnp.argsort(n, stable=True)
    take = lambda a: jnp.take(a, order, axis=0)  # noqa: E731
    x = {**x, _NB: (n + B - 1) // B}
    x, y, w = jax.tree.map(take, x), take(y), take(w)
    if u0.ndim == 3:
        u0 = take(u0)
    sol = _minimize_plain(_blocked(objective, B), opts, u0, x, y, w)
    back = jnp.argsort(order)
    return jax.tree.map(lambda a: jnp.take(a, back, axis=0), sol)


def _minimize_plain(objective: Callable, opts: SolverOptions, u0, x, y, w) -> Solution:
    T = y.shape[0]
    data = (x, y, w)
    u = jnp.broadcast_to(u0, (T,) + u0.shape[-2:]) if u0.ndim == 2 else u0
    screen_data = data + ((jnp.full(T, opts.continuation[0]),) if opts.continuation else ())
    u = _screen(objective, opts, u, screen_data)
    state, status = _stages(objective, opts, u, data)
    f = jnp.where(jnp.isfinite(state.f), state.f, jnp.inf)
    g = state.g[:, 0]    # every solver keeps the gradient at its accepted point
    return Solution(u=state.u[:, 0], f=f[:, 0], status=status[:, 0], steps=state.steps[:, 0],
                    grad_norm=jnp.max(jnp.abs(g), axis=-1), all_u=state.u, all_f=f,
                    all_status=status)


def _default_chunk(method: str = "newton") -> int:
    if jax.default_backend() != "cpu":
        return ACCELERATOR_CHUNK
    return CPU_CHUNK_BRANCHING if _METHODS[method].branching else CPU_CHUNK


def _default_max_members() -> int:
    return CPU_MAX_MEMBERS if jax.default_backend() == "cpu" else ACCELERATOR_MAX_MEMBERS


def pad_tasks(a, pad: int, zeros: bool = False):
    """``a`` with ``pad`` more rows on its task axis (0): copies of the last task, or zeros
    (for point weights: a padded task then has no data, its objective is 0 at every start
    and its members stop at their first step)."""
    if not pad:
        return a
    fill = jnp.zeros_like(a[-1:]) if zeros else a[-1:]
    return jnp.concatenate([a, jnp.repeat(fill, pad, axis=0)], axis=0)


def _in_calls(objective, opts: SolverOptions, u0, x, y, w, per: int) -> Solution:
    """`_minimize` over consecutive groups of ``per`` tasks (the last one padded with
    `pad_tasks`, zero weights), so that every call has the same shapes; the results are
    concatenated on the device."""
    T = y.shape[0]
    calls = -(-T // per)
    size = -(-T // calls)
    size += (-size) % opts.groups
    pad = calls * size - T
    x, y, w = (jax.tree.map(lambda a: pad_tasks(a, pad), x), pad_tasks(y, pad),
               pad_tasks(w, pad, zeros=True))
    if u0.ndim == 3:
        u0 = pad_tasks(u0, pad)
    part = lambda a, i: a[i * size:(i + 1) * size]  # noqa: E731
    sols = [_minimize(objective, opts, u0 if u0.ndim == 2 else part(u0, i),
                      jax.tree.map(lambda a: part(a, i), x), part(y, i), part(w, i))
            for i in range(calls)]
    return jax.tree.map(lambda *a: jnp.concatenate(a, axis=0)[:T], *sols)


def minimize(objective: Callable, u0, x, y, w, opts: SolverOptions = SolverOptions()) -> Solution:
    """Minimise ``objective(u, x, y, w)`` for every task from every start.

    Args:
        objective: per-task objective from `jaxfit.inference.objective.make_objective`
            (it is a static jit argument: reuse the same function to hit the cache). With
            ``opts.continuation`` it is called as ``objective(u, x, y, w, scale)``.
        u0: starts, [S, k] shared by all tasks or [T, S, k] per task (unconstrained).
        x: dict of [T, P] inputs; y, w: [T, P] targets and weights (0 on padding).
        opts: `SolverOptions`.

    Returns:
        A `Solution`. Call inside ``jax.enable_x64(True)`` with float64 arrays.
    """
    if opts.chunk is None:
        opts = dataclasses.replace(opts, chunk=_default_chunk(opts.method))
    cap = opts.max_members or _default_max_members()
    opts = dataclasses.replace(opts, max_members=None)     # not part of the program
    additive = getattr(objective, "additive", False)
    if opts.point_block is None:
        auto = opts.method == "newton" and additive and y.shape[-1] >= 2 * AUTO_BLOCK
        opts = dataclasses.replace(opts, point_block=AUTO_BLOCK if auto else 0)
    elif opts.point_block and not additive:
        raise ValueError(f"point_block={opts.point_block} needs a summed objective "
                         "(objective.additive, make_objective(..., reduction='sum')): "
                         "blocks of a mean would not add up to it; pass point_block=0.")
    per = max(opts.groups, cap // u0.shape[-2] // opts.groups * opts.groups)
    if y.shape[0] > per:
        return _in_calls(objective, opts, u0, x, y, w, per)
    return _minimize(objective, opts, u0, x, y, w)
