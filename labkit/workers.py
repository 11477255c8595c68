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

A thread of this process reads each answer as it comes, so a worker is free for its next
call at once. The same determinism lets a worker make a call before anyone asks for it
(:class:`Ahead`: a dashboard's runs at its controls' next values, while the learner
reads). Such a call gives way: a call someone waits for stops it (its number on the
worker's stop pipe, then ``KeyboardInterrupt`` there, a simulation's between two steps) and
it is made again later if still wanted. Workers run at a lower priority than the kernel
(``os.nice``), so work done ahead does not slow the kernel's drawing, or the browser's.
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
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Hashable, Mapping, Sequence
from concurrent import futures
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any, NamedTuple

from labkit._runtime.vloop import interrupt_running

__all__ = ("Ahead", "Call", "cpus", "portable", "run", "warm_up")

#: Where Linux's cgroup v2 says how much CPU time the process's group may use
#: ("quota period", or "max period"), and where cgroup v1 says it (-1: no quota).
_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
_CFS_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
_CFS_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")
#: Each message on a worker's pipes: its length (8 bytes, big-endian), then a pickle.
_LENGTH = struct.Struct("!Q")
#: How a worker stops a call made ahead (:class:`Ahead`): the parent writes the call's
#: number to the worker's stop pipe; a thread of the worker reads it and sends this signal
#: to the worker's main thread, the one making the call (a signal to the process could go
#: to another of its threads, and a sleep in the main thread would not end). The number
#: tells a stop that came before the call started from one that came after it ended.
_STOP = getattr(signal, "SIGUSR1", signal.SIGTERM)
#: Seconds between two signals for the same call (the first may be lost, see
#: :func:`_watch_stops`; a simulation takes it after its step under way, microseconds).
_STOP_AGAIN = 0.05
#: Workers need POSIX signals sent to a thread, and pipes handed to a child (not on
#: Windows: calls are made here there, as on one core).
_POSIX = hasattr(signal, "pthread_kill")
#: How much less CPU time a worker asks for than the kernel (``os.nice``): calls made
#: ahead must not slow the kernel's drawing, or the browser's, of the run already here.
_NICENESS = 10


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


class _Answer(NamedTuple):
    """A worker's answer: ``ok`` and the call's result, and how long the call took there;
    not ``ok`` when the call raised or no worker could make it (then whoever takes it
    makes the call here, see :class:`Call`)."""

    ok: bool
    value: Any
    seconds: float


_NONE = _Answer(False, None, 0.0)


class _Job:
    """One call for a worker: ``fn(**kwargs)``, and its answer once a worker gave it.

    ``ahead``: worked out before anyone asked (:class:`Ahead`), so it gives way to a call
    someone waits for; ``wanted``: still wanted (an ahead call its owner has forgotten is
    not); ``stopping``: its worker was told to stop it (:data:`_STOP`)."""

    __slots__ = ("ahead", "answer", "fn", "kwargs", "stopping", "wanted")

    def __init__(self, fn: Callable[..., Any], kwargs: dict[str, Any], *,
                 ahead: bool = False) -> None:
        self.fn, self.kwargs = fn, kwargs
        self.ahead = ahead
        self.wanted = True
        self.stopping = False
        self.answer: Future[_Answer] = Future()


class _Worker:
    """One worker process and its two pipes; one call at a time (``job``), whose answer
    a thread of this process reads (:func:`_wait`), so nothing here blocks on it."""

    def __init__(self) -> None:
        stops, self.stops = os.pipe()  # the worker reads the numbers of calls to stop
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "labkit.workers", str(stops)], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, cwd=os.getcwd(), pass_fds=(stops,))
        finally:
            os.close(stops)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests, self.answers = self.process.stdin, self.process.stdout
        self.job: _Job | None = None
        self.number = 0  # of the call sent last
        _write(self.requests, sys.path)  # it imports what this process can

    def answer(self) -> _Answer:
        """The answer to the call sent last (not ``ok`` when it raised there)."""
        ok, value, seconds = _read(self.answers)
        return _Answer(bool(ok), value, float(seconds))

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.requests.close()
        with contextlib.suppress(OSError):
            os.close(self.stops)
        self.process.kill()
        self.process.wait()


#: The workers (at most one per core), the calls waiting for one (someone waits for
#: these), and the calls to make ahead when a worker is free, in order. Threads that read
#: the workers' answers change them too: always under the lock.
_lock = threading.RLock()
_workers: list[_Worker] = []
_waiting: deque[_Job] = deque()
_ahead: list[_Job] = []


@atexit.register
def _stop_all() -> None:
    with _lock:
        _waiting.clear()
        _ahead.clear()
        while _workers:
            _workers.pop().stop()


def warm_up() -> None:
    """Start the workers now (one per core, on a machine with two or more), so that they
    have imported labkit by the time the first call comes."""
    if _parallel():
        with _lock:
            _start_workers()


def _parallel() -> bool:
    """Whether calls go to workers: two cores or more, on a POSIX system."""
    return _POSIX and cpus() >= 2


def _start_workers() -> None:
    """One worker per core, replacing any that died (lock held)."""
    for worker in [w for w in _workers if w.process.poll() is not None and w.job is None]:
        _workers.remove(worker)
    while len(_workers) < cpus():
        _workers.append(_Worker())


def run(fn: Callable[..., Any], calls: Sequence[dict[str, Any]]) -> list[Call]:
    """Start ``fn(**kwargs)`` for each of ``calls`` in the workers (one per core; calls
    beyond that wait for a worker, and calls worked out ahead give way, see
    :class:`Ahead`); for each, a function that returns its result, waiting for it. When a
    call raised in its worker, or the worker failed, that function makes the call here
    instead: a scenario's error is raised here, with its traceback, exactly as if there
    had been no workers. On a machine with one core every call is made here."""
    jobs = [_Job(fn, kwargs) for kwargs in calls]
    if _parallel():
        with _lock:
            _waiting.extend(jobs)
            _dispatch()
    else:
        for job in jobs:
            job.answer.set_result(_NONE)
    return [Call(job) for job in jobs]


class Call:
    """A call given to the workers: call it for its result, waiting for the worker's
    answer, or made here when no worker could make it (it raised there, the worker died,
    an argument does not pickle). Then ``seconds`` is how long the call itself took."""

    __slots__ = ("_job", "seconds")

    def __init__(self, job: _Job) -> None:
        self._job = job
        self.seconds = 0.0

    def __call__(self) -> Any:
        answer = self._job.answer.result()
        if answer.ok:
            self.seconds = answer.seconds
            return answer.value
        start = time.perf_counter()
        try:
            return self._job.fn(**self._job.kwargs)
        finally:
            self.seconds = time.perf_counter() - start


def _dispatch() -> None:
    """Give free workers the calls waiting, then the calls to make ahead; when calls
    still wait, tell workers busy with calls made ahead to stop them (lock held)."""
    if not (_waiting or _ahead):
        return
    _start_workers()
    for worker in list(_workers):
        while worker.job is None and worker in _workers and (_waiting or _ahead):
            _give(worker, _waiting.popleft() if _waiting else _ahead.pop(0))
    # calls still waiting, less the workers already told to stop for them
    waiting = len(_waiting) - sum(w.job is not None and w.job.stopping for w in _workers)
    for worker in _workers:
        job = worker.job
        if waiting and job is not None and job.ahead and not job.stopping:
            _stop_job(worker)
            waiting -= 1


def _give(worker: _Worker, job: _Job) -> None:
    """Send ``job`` to the free ``worker``; a thread waits for its answer (lock held)."""
    try:
        _write(worker.requests, (worker.number + 1, job.fn, job.kwargs))
    except (pickle.PicklingError, TypeError, AttributeError):  # an argument does not pickle
        job.answer.set_result(_NONE)
        return
    except OSError:  # it died
        _workers.remove(worker)
        worker.stop()
        job.answer.set_result(_NONE)
        return
    worker.job = job
    worker.number += 1
    threading.Thread(target=_wait, args=(worker, job), daemon=True,
                     name="labkit-worker-answer").start()


def _stop_job(worker: _Worker) -> None:
    """Tell ``worker`` to stop the call it makes ahead (lock held, :data:`_STOP`); it
    answers at once that it did not make it, or gives the result if it had finished."""
    assert worker.job is not None
    worker.job.stopping = True
    with contextlib.suppress(OSError):
        os.write(worker.stops, _LENGTH.pack(worker.number))


def _wait(worker: _Worker, job: _Job) -> None:
    """A thread's: read ``worker``'s answer to ``job`` (unpickled here, off the caller's
    thread), settle the job, give the worker its next call."""
    try:
        answer: _Answer | None = worker.answer()
    except Exception:  # noqa: BLE001 - it died: the call is made here instead
        answer = None
    with _lock:
        worker.job = None
        if answer is None:
            if worker in _workers:
                _workers.remove(worker)
            worker.stop()
        if job.stopping and (answer is None or not answer.ok) and job.wanted:
            job.stopping = False  # stopped for a call someone waits for: again later
            if job.ahead:
                _ahead.insert(0, job)
            else:  # taken meanwhile: someone waits for it now
                _waiting.appendleft(job)
        else:  # (a call nobody wants any more keeps its answer too, unread)
            job.answer.set_result(answer or _NONE)
        _dispatch()


def _forget(jobs: Mapping[Hashable, _Job]) -> dict[Hashable, Any]:
    """Calls made ahead that nobody wants now: dropped when waiting, stopped when under
    way; the results of those already made (key -> result)."""
    made: dict[Hashable, Any] = {}
    with _lock:
        for key, job in jobs.items():
            if job.answer.done():
                answer = job.answer.result()
                if answer.ok:
                    made[key] = answer.value
                continue
            job.wanted = False
            if job in _ahead:
                _ahead.remove(job)
            for worker in _workers:
                if worker.job is job and not job.stopping:
                    _stop_job(worker)
    return made


class Ahead:
    """Calls worked out in the workers before anyone asks for them: a dashboard's runs
    at the values next to its controls', while the learner reads.

    :meth:`want` says which calls (by key), most likely first; they go to workers with
    nothing else to do, and a call someone waits for (:func:`run`, :meth:`take`) stops
    one of them to get a worker. :meth:`take` gives a wanted call's result function.
    Calls forgotten by a later :meth:`want` are dropped, or stopped when under way."""

    def __init__(self) -> None:
        self._jobs: dict[Hashable, _Job] = {}
        weakref.finalize(self, _forget, self._jobs)  # its owner gone: nobody wants them

    def want(self, fn: Callable[..., Any],
             calls: Mapping[Any, dict[str, Any]]) -> dict[Any, Any]:
        """Make ``calls`` (key -> kwargs of ``fn``) ahead, in this order, in place of the
        calls wanted before; the results already made of calls no longer wanted (key ->
        result), for the caller to keep. On a machine with one core nothing is made."""
        kept: dict[Hashable, Any] = {}
        if not _parallel():
            return kept
        with _lock:
            forgotten = {key: self._jobs.pop(key) for key in list(self._jobs)
                         if key not in calls}
            kept.update(_forget(forgotten))
            for key, kwargs in calls.items():
                known = self._jobs.get(key)
                if known is None:
                    self._jobs[key] = known = _Job(fn, kwargs, ahead=True)
                elif known not in _ahead:
                    continue  # under way or done
                else:
                    _ahead.remove(known)
                _ahead.append(known)  # in the order wanted now
            _dispatch()
        return kept

    def take(self, key: Hashable) -> Call | None:
        """The result function of the call wanted as ``key`` (now someone waits for it:
        if no worker has started it, it goes first), or ``None`` if it is not wanted."""
        with _lock:
            job = self._jobs.pop(key, None)
            if job is None:
                return None
            job.ahead = False
            if job in _ahead:
                _ahead.remove(job)
                _waiting.appendleft(job)
                _dispatch()
        return Call(job)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._jobs

    def pending(self) -> int:
        """How many wanted calls have no answer yet."""
        return sum(not job.answer.done() for job in self._jobs.values())

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until every wanted call has its answer (at most ``timeout`` seconds);
        whether they all have."""
        with _lock:
            answers = [job.answer for job in self._jobs.values()]
        _done, waiting = futures.wait(answers, timeout=timeout)
        return not waiting


#: In a worker: the number of the call under way (0: none) and the highest number the
#: parent asked to stop.
_working = 0
_stopped = 0


def _on_stop(_signum: int, _frame: object) -> None:
    """:data:`_STOP`'s handler in a worker: when the call under way is one to stop, stop
    it as an interrupt would (``KeyboardInterrupt``: a simulation's after its step under
    way, anything else at once)."""
    if _working and _stopped >= _working:
        interrupt_running(again_at_once=False)  # signalled again and again: see below


def _watch_stops(stops: int, main: int) -> None:
    """A worker's thread: read the numbers of the calls to stop as the parent writes
    them, and signal the main thread until that call has ended (until the parent closes
    the pipe). Again and again: a ``KeyboardInterrupt`` raised where Python only prints
    it (a weakref callback, which a garbage collection may run anywhere) is lost."""
    global _stopped
    with os.fdopen(stops, "rb", buffering=0) as pipe:
        while len(data := pipe.read(_LENGTH.size)) == _LENGTH.size:
            (number,) = _LENGTH.unpack(data)
            _stopped = max(_stopped, number)
            while _working == number:  # not yet started (0, an older one): the check
                signal.pthread_kill(main, _STOP)  # before the call stops it
                time.sleep(_STOP_AGAIN)


def _serve(stops: int) -> None:
    """A worker's life: take the parent's import path, import labkit, then answer each
    ``(number, fn, kwargs)`` with ``(True, result, seconds)`` or ``(False, None, 0.0)``
    until the pipe closes; so does a call the parent stops (``stops``, :data:`_STOP`).
    Whatever the calls print goes to stderr: stdout carries the answers."""
    global _working  # what the signal handler reads
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the kernel's interrupt is for the kernel
    signal.signal(_STOP, _on_stop)
    threading.Thread(target=_watch_stops, args=(stops, threading.get_ident()), daemon=True,
                     name="labkit-worker-stops").start()
    with contextlib.suppress(AttributeError, OSError):  # os.nice: Unix only
        os.nice(_NICENESS)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    sys.path[:] = _read(requests)
    # warm: the first call should not wait for these (a dashboard's runs are scenarios,
    # their chart data worked out by labkit.viz), nor for the first run of their code
    # (a first 10 000-message run and its charts take a fifth longer than the next)
    import labkit.scenarios
    import labkit.viz

    with contextlib.suppress(Exception):
        for model in ("go", "rust"):
            labkit.viz.prepared(labkit.scenarios.producer_consumer,
                                {"model": model, "capacity": 1, "messages": 50, "seed": 1},
                                list(labkit.viz.CHARTS))

    while True:
        try:
            number, fn, kwargs = _read(requests)
        except EOFError:
            return
        try:
            _working = number  # from here a stop interrupts; one that came before:
            if _stopped >= number:
                raise KeyboardInterrupt("stopped before it started")
            start = time.perf_counter()
            answer = (True, fn(**kwargs), time.perf_counter() - start)
            data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
            _working = 0
        except BaseException:  # noqa: BLE001 - the parent runs it again and raises there
            _working = 0
            data = pickle.dumps(tuple(_NONE))
        _send(answers, data)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
