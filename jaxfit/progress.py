"""Progress display for long runs: shown on a terminal, silent when piped or quiet.

jaxfit's long calls (NUTS over many tasks, bootstrap refits, recipes, large batches) are
each one compiled program with no host syncs inside, so they cannot report a fraction
done. `running` shows what is running and the elapsed time, refreshed by a background
thread, on ``stderr`` when it is a terminal; `steps` wraps the loops of multi-stage
work (a recipe's fits) in a bar with a count. Both print nothing when ``quiet`` is True,
when the stream is not a terminal (a pipe, a file, a test), or when the environment
variable ``JAXFIT_QUIET`` is set to anything but ``""`` or ``"0"`` (`env_flag`, as every
``JAXFIT_*`` switch).

Example:
    >>> from jaxfit.progress import running, enabled
    >>> import io
    >>> enabled(stream=io.StringIO())          # not a terminal
    False
    >>> with running("fitting 64 restarts", stream=io.StringIO()):
    ...     pass
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
from collections.abc import Iterable, Iterator

__all__ = ["enabled", "env_flag", "running", "steps"]


def env_flag(name: str) -> bool:
    """Whether the environment switch ``name`` is on: set to anything but ``""`` or ``"0"``
    (so ``JAXFIT_QUIET=0`` means "not quiet", as ``JAXFIT_NO_CACHE=0`` means "cache on")."""
    return os.environ.get(name, "").strip() not in ("", "0")


def enabled(quiet: bool = False, stream=None) -> bool:
    """True when progress should be shown on ``stream`` (default ``sys.stderr``)."""
    stream = sys.stderr if stream is None else stream
    if quiet or env_flag("JAXFIT_QUIET"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def _bar(desc: str, total, stream, quiet: bool):
    from tqdm.auto import tqdm

    fmt = ("{desc}: {elapsed}" if total is None else
           "{desc}: {n_fmt}/{total_fmt} {bar} {elapsed}")
    # shutil falls back to 80 x 24 where a terminal reports a size of 0 (tqdm then prints
    # nothing at all).
    cols, rows = shutil.get_terminal_size()
    return tqdm(desc=desc, total=total, file=stream, bar_format=fmt, leave=False,
                disable=not enabled(quiet, stream), mininterval=0, ncols=cols, nrows=rows)


@contextlib.contextmanager
def running(desc: str, quiet: bool = False, stream=None, interval: float = 0.25):
    """Show ``desc`` and the elapsed time while the block runs (a terminal only)."""
    stream = sys.stderr if stream is None else stream
    if not enabled(quiet, stream):
        yield
        return
    bar = _bar(desc, None, stream, quiet)
    stop = threading.Event()

    def tick():
        while not stop.wait(interval):
            bar.refresh()

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        bar.close()


def steps(items: Iterable, desc: str, quiet: bool = False, stream=None,
          total: int | None = None) -> Iterator:
    """Iterate over ``items`` with a counted bar (a terminal only)."""
    stream = sys.stderr if stream is None else stream
    total = total if total is not None else (len(items) if hasattr(items, "__len__") else None)
    with _bar(desc, total, stream, quiet) as bar:
        for item in items:
            yield item
            bar.update(1)
