"""A bounded, least-recently-used cache of compiled programs.

Every distinct fit compiles an XLA program: the law, the objective's options, the solver
options and the (bucketed) shapes of the data determine it. With ``jax.jit`` the
compiled executables live in JAX's own caches, keyed on the static arguments, and are
never freed in a long session: on the CPU backend each executable holds a few hundred
memory mappings (the LLVM JIT maps every compiled kernel), and issue 16 measured one
process die with SIGSEGV at its ~87th distinct compile, when the process reached the
kernel's ``vm.max_map_count`` (65,530 by default), at +~40 MB RSS and +~734 mappings per
compile.

`jit` replaces ``jax.jit`` at the library's compile points: it compiles ahead of time
(``jax.jit(f).lower(*args).compile()``) into a ``jax.stages.Compiled`` executable that
only this module references, keyed by

* the function and its static arguments (the law's objective, `SolverOptions`, the
  `BayesModel`, ...),
* the tree structure, shapes, dtypes, weak types and shardings of the array arguments
  (already bucketed by `jaxfit.data` and `jaxfit.fit`),
* the ``jax_enable_x64`` and default-device settings.

The cache keeps the `size` most recently used programs; evicting one drops the last
reference to its executable, which releases its memory and mappings (JAX's tracing and
lowering caches that saw the program are keyed weakly on the function object built for
that one compile, so they go with it). Recompiling an evicted program costs only time.

The small eager programs around each fit (array conversions, parameter transforms,
resampling weights, at each new shape) are compiled and cached by JAX itself, bounded only
at thousands of entries: measured at ~50 MB of RSS and ~25 mappings per distinct fit once
this cache is full (`jax.clear_caches()` gave the memory back). So after every `size` new
compiles, the cache also calls ``jax.clear_caches()`` (and returns freed heap to the OS,
``malloc_trim``, on Linux): the programs held here stay valid
(each `Compiled` owns its executable); other jitted functions of the process recompile on
their next call. ``set_size(n, clear_jax_caches=False)`` (or ``JAXFIT_CLEAR_JAX_CACHES=0``)
turns this off.

Ceilings measured with ``benchmarks/session_memory.py`` (distinct fits of fresh laws,
bootstraps and Laplace posteriors in one process; see ``benchmarks/README.md``): without
the cache ~790 mappings and ~77 MB per fit (65,530 mappings at fit ~82); with the default
size of 32, ~21,000 mappings and ~2 GB RSS once full (each program holds ~600-700
mappings); with a size of 4 (and the clearing below), flat at ~1 GB RSS and ~3,500
mappings over 24 fits. At the default size, 300 distinct fits in one process (measured:
peak RSS 1.71 GB, peak 13,445 mappings, both flat from fit ~40): documented ceilings
peak RSS < 2.5 GB and < 16,000 mappings. Lower the size on a small machine.

Inside another trace (a cached function called from a traced one) or under
``jax.disable_jit()``, the function is simply called: it is then part of the enclosing
program, or runs eagerly.

The size is ``DEFAULT_SIZE`` unless the environment variable ``JAXFIT_CACHE_SIZE`` is set
when jaxfit is imported; change it at run time with `set_size`.

Across processes (off unless `enable_persistent` is called; the ``jaxfit`` command line
calls it, the library never does): JAX's persistent compilation cache skips XLA's compile
but not the Python tracing and lowering that precede it (~1.5-2.5 s of a Chinchilla fit,
benchmarks/cli_startup.py). With a directory set, each program whose static arguments
all have a stable identity (``cache_token``: the command line's registered laws and their
objectives, `SolverOptions`) is also stored as a ``jax.export.Exported`` (pickled, keyed
by a digest of jaxfit's own source files, the JAX version, the static arguments' tokens
and the argument shapes), and a later process calls the stored program instead of
tracing it again. Anything else (user laws, posteriors) is traced as usual. A store that
cannot be read or written is ignored.

Example:
    >>> from jaxfit.inference import cache
    >>> cache.size() >= 1
    True
    >>> info = cache.info()
    >>> sorted(info._fields)
    ['entries', 'evictions', 'hits', 'misses', 'size']
"""

from __future__ import annotations

import collections
import functools
import inspect
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax

from jaxfit.progress import env_flag

__all__ = ["DEFAULT_SIZE", "CPU_COMPILER_OPTIONS", "SMALL_PROGRAM", "SMALL_OPTIONS",
           "CacheInfo", "CompileRecord", "jit", "size", "set_size", "info", "clear",
           "enable_persistent", "compile_log", "compiler_options"]

#: Compiled programs kept by default (see the module docstring for the measured ceilings).
DEFAULT_SIZE = 32

#: XLA options with which this module compiles jaxfit's programs on the CPU backend (per
#: program, through ``Lowered.compile(compiler_options=...)``; JAX's global configuration
#: and ``XLA_FLAGS`` are untouched). XLA:CPU's MLIR fusion emitters cost compile time on
#: the solver's and NUTS's programs: measured here (jax 0.10.2, 2-core CPU) the XLA part of
#: compiling a Chinchilla `jaxfit.fit` went 3.0-3.9 s -> 1.8-2.2 s, and of a NUTS
#: `jaxfit.sample` 12-16 s -> 7-10 s, with the run time unchanged (benchmarks/README.md,
#: "XLA options"). Results agree to rounding, not bit for bit: XLA fuses differently. Set
#: ``JAXFIT_XLA_DEFAULTS=1`` to compile with XLA's defaults; a JAX that does not know an
#: option is given none (and compiles with its defaults).
CPU_COMPILER_OPTIONS = {"xla_cpu_use_fusion_emitters": False}

#: Programs whose array arguments hold fewer values than this also compile at LLVM's
#: optimisation level 1 (`SMALL_OPTIONS`) instead of XLA's level 2. Level 1 compiles ~15%
#: faster (the test suite's 10 fit programs: median 1.38 -> 1.20 s, the L-BFGS grid 2.47 ->
#: 2.10 s) but its Newton steps run 8-20% slower (1,000 tasks x 64 restarts at 20-100
#: points: 6.4-6.7 s against 7.9-8.0 s warm; 100 such tasks 0.60 against 0.72 s). A
#: small program is compile-bound (an interactive fit, a posterior of a few tasks), a
#: large one run-bound (benchmarks/README.md, session 15).
SMALL_PROGRAM = 2 ** 16
SMALL_OPTIONS = {"xla_backend_optimization_level": 1}


class CacheInfo(NamedTuple):
    """Counters of the program cache since the last `clear`."""

    hits: int
    misses: int
    evictions: int
    entries: int
    size: int


class CompileRecord(NamedTuple):
    """One compile of `jit` (see `compile_log`)."""

    function: str      # module.qualname of the compiled function
    static: str        # repr of the static arguments (truncated)
    shapes: str        # the array arguments' shapes and dtypes
    trace_s: float     # tracing and lowering to StableHLO
    compile_s: float   # XLA compilation
    cpu_s: float       # process CPU time of both (less sensitive to a loaded machine)
    hlo_ops: int       # instructions of the optimised HLO (a load-independent size)


#: Appended to by every compile when it is a list (`compile_log`); None: not recorded.
_log: list | None = None


def compile_log(enable: bool = True) -> list | None:
    """Start recording every compile as a `CompileRecord` (a new list, returned); with
    ``enable=False`` stop and return the records. For benchmarks/compile_times.py."""
    global _log
    out = _log
    _log = [] if enable else None
    return _log if enable else out


#: Set once JAX has rejected `CPU_COMPILER_OPTIONS` (its error message): XLA's defaults from then on.
_options_rejected: list = []


def compiler_options(values: int = SMALL_PROGRAM) -> dict:
    """The XLA options this module compiles a program with now, given the number of
    ``values`` its array arguments hold: on the CPU backend `CPU_COMPILER_OPTIONS`, and
    `SMALL_OPTIONS` too below `SMALL_PROGRAM` values; none elsewhere, with
    ``JAXFIT_XLA_DEFAULTS=1`` or once JAX has rejected them."""
    if (_options_rejected or env_flag("JAXFIT_XLA_DEFAULTS")
            or jax.default_backend() != "cpu"):
        return {}
    small = SMALL_OPTIONS if values < SMALL_PROGRAM else {}
    return {**CPU_COMPILER_OPTIONS, **small}


def _values(args) -> int:
    """The number of values the array arguments ``args`` hold."""
    return sum(int(getattr(a, "size", 1)) for a in jax.tree.leaves(args))


def _compile(lowered, args):
    """``lowered.compile()`` with `compiler_options` for the program of arguments ``args``,
    falling back to XLA's defaults (for this and every later program) if this JAX does not
    know an option."""
    options = compiler_options(_values(args))
    if options:
        try:
            return lowered.compile(compiler_options=options)
        except jax.errors.JaxRuntimeError as err:
            if "compile option" not in str(err):
                raise
            _options_rejected.append(str(err))
    return lowered.compile()


def _compile_timed(fn, static, one, dynamic):
    """Trace, lower and `_compile` ``one``, recorded in the log when it is on."""
    c0, t0 = time.process_time(), time.perf_counter()
    lowered = jax.jit(one).lower(*dynamic)
    t1 = time.perf_counter()
    program = _compile(lowered, dynamic)
    if _log is not None:
        t2, c2 = time.perf_counter(), time.process_time()
        shapes = " ".join(f"{a.dtype}{list(a.shape)}" for a in jax.tree.leaves(dynamic)
                          if hasattr(a, "shape"))
        _log.append(CompileRecord(f"{fn.__module__}.{fn.__qualname__}", repr(static)[:200],
                                  shapes, t1 - t0, t2 - t1, c2 - c0, _hlo_ops(program)))
    return program


def _hlo_ops(program) -> int:
    try:
        return sum(" = " in line for line in program.as_text().splitlines())
    except Exception:  # noqa: BLE001 - a size for the log only
        return -1


def _env_size() -> int:
    raw = os.environ.get("JAXFIT_CACHE_SIZE")
    if raw is None:
        return DEFAULT_SIZE
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"JAXFIT_CACHE_SIZE={raw!r} must be an integer >= 1 (compiled "
                         f"programs kept); unset it for the default {DEFAULT_SIZE}.")
    return n


_lock = threading.RLock()
_programs: collections.OrderedDict = collections.OrderedDict()
_state = {"size": _env_size(), "hits": 0, "misses": 0, "evictions": 0, "since_clear": 0,
          "clear_jax": os.environ.get("JAXFIT_CLEAR_JAX_CACHES", "1") != "0"}


def size() -> int:
    """The number of compiled programs kept."""
    return _state["size"]


def set_size(n: int, *, clear_jax_caches: bool | None = None) -> None:
    """Keep at most ``n`` (>= 1) compiled programs; the least recently used are dropped.

    ``clear_jax_caches`` (None: unchanged; default True): call ``jax.clear_caches()``
    after every ``n`` new compiles (see the module docstring).
    """
    if isinstance(n, bool) or int(n) != n or n < 1:
        raise ValueError(f"cache size must be an integer >= 1, got {n!r}.")
    with _lock:
        _state["size"] = int(n)
        if clear_jax_caches is not None:
            _state["clear_jax"] = bool(clear_jax_caches)
        _evict()


def info() -> CacheInfo:
    """Hits, misses, evictions, current entries and the size limit."""
    with _lock:
        return CacheInfo(_state["hits"], _state["misses"], _state["evictions"],
                         len(_programs), _state["size"])


def clear() -> None:
    """Drop every compiled program and reset the counters."""
    with _lock:
        _programs.clear()
        _state.update(hits=0, misses=0, evictions=0, since_clear=0)


def _evict():
    while len(_programs) > _state["size"]:
        _programs.popitem(last=False)
        _state["evictions"] += 1


# ------------------------------------------------------------ programs across processes

_persistent = {"dir": None, "digest": None}


def enable_persistent(path: str | None) -> None:
    """Store traced programs in directory ``path`` for later processes (None: off).

    Only the command line turns this on (see the module docstring); the directory must be
    private to the user, as its files are unpickled.
    """
    _persistent["dir"] = None if path is None else str(path)


def _source_digest() -> str:
    if _persistent["digest"] is None:
        import hashlib
        import pathlib

        h = hashlib.sha256(f"{jax.__version__}|{jax.lib.__version__}".encode())
        root = pathlib.Path(__file__).resolve().parent.parent
        for f in sorted(root.rglob("*.py")):
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
        _persistent["digest"] = h.hexdigest()
    return _persistent["digest"]


def _token(value):
    """A stable, process-independent identity of a static argument, or None."""
    tok = getattr(value, "cache_token", None)
    if tok is not None:
        return tok() if callable(tok) else tok
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if isinstance(value, tuple):
        parts = tuple(_token(v) for v in value)
        return None if any(p is None for p in parts) else parts
    return None


def _persistent_path(fn, static, dynamic) -> str | None:
    if _persistent["dir"] is None or not fn.__module__.startswith("jaxfit."):
        return None
    tokens = tuple(_token(v) for v in static)
    if any(t is None for t in tokens):
        return None
    import hashlib

    tree, leaves = _signature(dynamic)
    sig = repr((str(tree), [(str(a), str(s)) for a, s in leaves]))
    key = repr((_source_digest(), fn.__module__, fn.__qualname__, tokens, sig,
                jax.config.jax_enable_x64, jax.default_backend(),
                [d.device_kind for d in jax.devices()]))
    name = hashlib.sha256(key.encode()).hexdigest()[:40]
    return os.path.join(_persistent["dir"], f"program-{name}.pkl")


def _load_program(path: str, dynamic):
    import pickle

    try:
        with open(path, "rb") as fh:
            exported = pickle.load(fh)  # noqa: S301 - the user's own cache directory
        return _compile(jax.jit(exported.call).lower(*dynamic), dynamic)
    except FileNotFoundError:
        return None
    except Exception:  # noqa: BLE001 - a stale or damaged entry: trace as usual
        return None


def _store_program(path: str, one, dynamic):
    import dataclasses
    import pickle
    import tempfile

    try:
        exported = jax.export.export(jax.jit(one))(*dynamic)
        exported = dataclasses.replace(exported, _get_vjp=None)     # a local function
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(exported, fh)
        os.replace(tmp, path)
        return exported
    except Exception:  # noqa: BLE001 - the store is an optimisation only
        return None


def _release_heap() -> None:
    """Collect garbage and hand freed heap pages back to the OS (glibc ``malloc_trim``).

    XLA's compiles allocate and free large transient buffers; without trimming, glibc keeps
    the freed pages, and a long session's RSS grew ~10 MB per distinct fit with flat
    mapping counts (benchmarks/session_memory.py). Linux with glibc only; a no-op elsewhere.
    """
    import gc

    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _leaf_key(x):
    return jax.typeof(x), (x.sharding if isinstance(x, jax.Array) else None)


def _signature(args) -> tuple:
    leaves, tree = jax.tree.flatten(args)
    return tree, tuple(_leaf_key(x) for x in leaves)


def _merge(static_argnums: tuple[int, ...], static: tuple, dynamic: Sequence) -> list:
    args = list(dynamic)
    for i, value in zip(static_argnums, static):
        args.insert(i, value)
    return args


def jit(fn: Callable | None = None, *, static_argnums: int | Sequence[int] = ()):
    """``jax.jit`` with the executables held in this module's bounded cache.

    Use as ``@jit``, ``@jit(static_argnums=(0, 1))`` or ``jit(f)``. Static arguments
    must be hashable (as for ``jax.jit``); keyword arguments are not supported, and
    trailing positional arguments left out take ``fn``'s defaults.
    """
    if isinstance(static_argnums, int):
        static_argnums = (static_argnums,)
    static_argnums = tuple(sorted(static_argnums))
    if fn is None:
        return functools.partial(jit, static_argnums=static_argnums)
    defaults = tuple(p.default for p in inspect.signature(fn).parameters.values()
                     if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))

    @functools.wraps(fn)
    def call(*args):
        if len(args) < len(defaults):
            args = args + defaults[len(args):]
            if any(a is inspect.Parameter.empty for a in args):
                raise TypeError(f"{fn.__name__}() is missing positional arguments.")
        leaves = jax.tree.leaves(args)
        if jax.config.jax_disable_jit or any(isinstance(a, jax.core.Tracer) for a in leaves):
            return fn(*args)
        static = tuple(args[i] for i in static_argnums)
        dynamic = tuple(a for i, a in enumerate(args) if i not in static_argnums)
        key = (fn, static, _signature(dynamic), jax.config.jax_enable_x64,
               jax.config.jax_default_device)
        with _lock:
            program = _programs.get(key)
            if program is not None:
                _programs.move_to_end(key)
                _state["hits"] += 1
        if program is None:
            def one(*d):      # a new function object per compile (see the docstring)
                return fn(*_merge(static_argnums, static, d))

            stored = _persistent_path(fn, static, dynamic)
            program = _load_program(stored, dynamic) if stored else None
            if program is None and stored:
                # compile the stored form itself, so that JAX's compilation cache holds
                # the program that later processes will ask for
                exported = _store_program(stored, one, dynamic)
                if exported is not None:
                    program = _compile(jax.jit(exported.call).lower(*dynamic), dynamic)
            if program is None:
                program = _compile_timed(fn, static, one, dynamic)
            with _lock:
                _state["misses"] += 1
                _programs[key] = program
                _programs.move_to_end(key)
                _evict()
                _state["since_clear"] += 1
                turnover = _state["clear_jax"] and _state["since_clear"] >= _state["size"]
                if turnover:
                    _state["since_clear"] = 0
            if turnover:
                jax.clear_caches()
                _release_heap()
        return program(*dynamic)

    return call
