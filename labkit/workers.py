"""Scenario runs in worker processes, one core each (private; used by
:class:`labkit.widgets.Dashboard`).

A dashboard that compares models runs the scenario once per model, and at thousands of
messages each run takes a few hundred milliseconds of one core. A run depends only on its
parameters and seed (the virtual-time runtime is deterministic), so a run made in another
process is the run made here, row for row: the models can be simulated side by side on
the machine's cores and only their results come back (pickled, a few milliseconds).

Each worker is ``python -m labkit.workers``, started once and kept for the kernel's
life: it imports labkit when it starts (in the background, while the learner reads), then
answers one call at a time over a pipe. It is a fresh interpreter, not a fork (forking a
Jupyter kernel, which has threads, is unsafe) and not :mod:`multiprocessing` (whose
workers run the parent's main script again, which a notebook does not have and a script
may not guard). Only a function that another process can import by name can be called
there (a function of a module, not of the notebook).
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import pickle
import signal
import struct
import subprocess
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any

__all__ = ("cpus", "portable", "run", "warm_up")

#: Where Linux's cgroup v2 says how much CPU time the process's group may use
#: ("quota period", or "max period"), and where cgroup v1 says it (-1: no quota).
_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
_CFS_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
_CFS_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
#: Each message on a worker's pipes: its length (8 bytes, big-endian), then a pickle.
_LENGTH = struct.Struct("!Q")


def cpus() -> int:
    """The cores this process may use: its CPU affinity, capped by a cgroup CPU quota (a
    container such as Binder's may see every core of its host but get one core's time)."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    quota = _cgroup_quota()
    if quota is not None:
        count = min(count, max(1, math.floor(quota)))
    return count


def _cgroup_quota() -> float | None:
    """The cgroup's CPU quota in cores (cgroup v2, else v1), or ``None`` for none."""
    try:
        quota, period = _CPU_MAX.read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        cfs_quota = int(_CFS_QUOTA.read_text())
        cfs_period = int(_CFS_PERIOD.read_text())
    except (OSError, ValueError):
        return None
    return None if cfs_quota <= 0 or cfs_period <= 0 else cfs_quota / cfs_period


def portable(fn: Callable[..., Any]) -> bool:
    """Whether a worker process can call ``fn``: a function that pickles by reference to an
    importable module (not ``__main__``, the notebook, which a worker does not have)."""
    if getattr(fn, "__module__", None) in ("__main__", None):
        return False
    try:
        pickle.dumps(fn)
    except Exception:  # noqa: BLE001 - a lambda, a local function, an unpicklable object
        return False
    return True


def _write(pipe: IO[bytes], value: object) -> None:
    _send(pipe, pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


def _send(pipe: IO[bytes], data: bytes) -> None:
    pipe.write(_LENGTH.pack(len(data)) + data)
    pipe.flush()


def _read(pipe: IO[bytes]) -> Any:
    """The next message, or raise ``EOFError`` when the other side has gone."""
    head = pipe.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("the worker's pipe closed")
    (size,) = _LENGTH.unpack(head)
    data = pipe.read(size)
    if len(data) < size:
        raise EOFError("the worker's pipe closed mid-message")
    return pickle.loads(data)  # our own worker's answer, or our own request


class _Worker:
    """One worker process and its two pipes; one call at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labkit.workers"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, cwd=os.getcwd())
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests, self.answers = self.process.stdin, self.process.stdout
        _write(self.requests, sys.path)  # it imports what this process can

    def call(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        _write(self.requests, (fn, kwargs))

    def answer(self) -> tuple[bool, Any]:
        """``(True, result)``, or ``(False, None)`` when the call raised there."""
        ok, value = _read(self.answers)
        return bool(ok), value

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.requests.close()
        self.process.kill()
        self.process.wait()


#: Workers waiting for a call, and workers whose answer was never read (a caller
#: interrupted): those are stopped rather than trusted again.
_idle: list[_Worker] = []
_busy: list[_Worker] = []


@atexit.register
def _stop_all() -> None:
    while _idle or _busy:
        (_idle or _busy).pop().stop()


def warm_up() -> None:
    """Start the workers now (one per core, on a machine with two or more), so that they
    have imported labkit by the time the first call comes."""
    if cpus() >= 2:
        _take(cpus(), keep=True)


def _take(n: int, *, keep: bool = False) -> list[_Worker]:
    """Up to ``n`` workers (never more than :func:`cpus`), started when missing; with
    ``keep`` they stay idle (warming up)."""
    while _busy:  # their callers are gone: this process makes one call of run at a time
        _busy.pop().stop()
    _idle[:] = [w for w in _idle if w.process.poll() is None]
    while len(_idle) < min(n, cpus()):
        _idle.append(_Worker())
    if keep:
        return []
    taken, _idle[:] = _idle[:n], _idle[n:]
    _busy.extend(taken)
    return taken


def run(fn: Callable[..., Any],
        calls: Sequence[dict[str, Any]]) -> list[Callable[[], Any]]:
    """Start ``fn(**kwargs)`` for each of ``calls`` in a worker, all at once (calls beyond
    one per core run here); for each, a function that returns its result, waiting for it.
    When a call raised in its worker, or the worker failed, that function makes the call
    here instead: a scenario's error is raised here, with its traceback, exactly as if
    there had been no workers. Call every function before the next :func:`run`."""
    workers = _take(len(calls)) if cpus() >= 2 else []
    out: list[Callable[[], Any]] = []
    for i, kwargs in enumerate(calls):
        worker = workers[i] if i < len(workers) else None
        if worker is not None:
            try:
                worker.call(fn, kwargs)
            except (OSError, pickle.PicklingError, TypeError, AttributeError):
                _drop(worker)  # it died, or an argument does not pickle
                worker = None
        out.append(partial(_result, worker, fn, kwargs))
    return out


def _result(worker: _Worker | None, fn: Callable[..., Any], kwargs: dict[str, Any]) -> Any:
    if worker is not None:
        try:
            ok, value = worker.answer()
        except Exception:  # noqa: BLE001 - it died: made here instead
            _drop(worker)
        except BaseException:  # the wait was interrupted: its answer would come late
            _drop(worker)
            raise
        else:
            _busy.remove(worker)
            _idle.append(worker)
            if ok:
                return value
    return fn(**kwargs)


def _drop(worker: _Worker) -> None:
    if worker in _busy:
        _busy.remove(worker)
    worker.stop()


def _serve() -> None:
    """A worker's life: take the parent's import path, import labkit, then answer each
    ``(fn, kwargs)`` with ``(True, result)`` or ``(False, None)`` until the pipe closes.
    Whatever the calls print goes to stderr: stdout carries the answers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the kernel's interrupt is for the kernel
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    sys.path[:] = _read(requests)
    # warm: the first call should not wait for these (a dashboard's runs are scenarios,
    # their chart data worked out by labkit.viz)
    import labkit.scenarios
    import labkit.viz  # noqa: F401

    while True:
        try:
            fn, kwargs = _read(requests)
        except EOFError:
            return
        try:
            answer: tuple[bool, Any] = (True, fn(**kwargs))
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # noqa: BLE001 - the parent runs it again and raises there
            data = pickle.dumps((False, None))
        _send(answers, data)


if __name__ == "__main__":
    _serve()
