# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Calls to a backend that answer within a deadline, whatever it does.

A frozen database server or coordination service accepts connections and
then never answers: a socket read on an open connection has no timeout in
libpq, and tooz retries for minutes.  So the drivers run every backend call
on a daemon worker thread and stop waiting after ``read_timeout``; the call
itself may go on in the background until the backend answers, but it holds
neither the caller nor the process's exit.

A thread that waits so wakes every :data:`WAKE_EVERY` seconds, and a wake
much later than due tells that the process did not run (stopped with
SIGSTOP, a frozen VM): :class:`Stalls` counts those spans, which a
heartbeat in flight through them could not tell from a slow backend.
"""

from collections.abc import Callable
import concurrent.futures
import queue
import threading
import time
from typing import Any
from typing import TypeVar
import weakref

T = TypeVar('T')

_Call = tuple[Callable[[], Any], concurrent.futures.Future[Any]]

#: Seconds between the wakes of a thread waiting for a call's answer.
WAKE_EVERY = 0.1

#: A wake later than due by more than these seconds is a stall: the
#: process did not run (a thread waiting for the GIL gets it within
#: milliseconds).
STALL_AFTER = 0.5


class Stalls:
    """The spans in which the process did not run, seen by waiting threads.

    Shared by the callers of one membership source: any thread waiting
    for an answer sees a stop of the whole process.

    :param clock: the monotonic clock the spans are measured on.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.after_fork()

    def after_fork(self) -> None:
        """Start afresh in a forked child, which has no waiting thread."""
        self._lock = threading.Lock()
        self._seconds = 0.0
        self._ended = -float('inf')
        self._waiting = 0
        self._woke = 0.0

    def seen(self) -> tuple[float, float]:
        """Return the seconds stalled so far, and since the last stall ended.

        A stall that lasts now (threads wait, and none woke within
        :data:`STALL_AFTER` of when it was due) counts up to now, and ended
        0 seconds ago.
        """
        with self._lock:
            now = self._clock()
            late = now - self._woke - WAKE_EVERY
            if self._waiting and late > STALL_AFTER:
                return self._seconds + late, 0.0
            return self._seconds, now - self._ended

    def sleep(self, seconds: float) -> None:
        """Sleep as a waiting thread: a stop meanwhile counts as a stall."""
        woke = self._begin()
        try:
            while seconds > 0:
                step = min(seconds, WAKE_EVERY)
                time.sleep(step)
                woke = self._woken(woke + step)
                seconds -= step
        finally:
            self._end()

    def _begin(self) -> float:
        with self._lock:
            now = self._clock()
            self._waiting += 1
            self._woke = max(self._woke, now)
            return now

    def _woken(self, due: float) -> float:
        """Note a wake due at ``due``; count the span since, if a stall."""
        with self._lock:
            now = self._clock()
            self._woke = max(self._woke, now)
            if now - due > STALL_AFTER:
                # Another waiter may have counted part of it.
                start = max(due, self._ended)
                if now > start:
                    self._seconds += now - start
                    self._ended = now
            return now

    def _end(self) -> None:
        with self._lock:
            self._waiting -= 1


class Worker:
    """Run calls in order on one daemon thread, started by the first call.

    Not a ``ThreadPoolExecutor``: Python joins an executor's threads when it
    exits (futurist's too), so a call stuck in a backend's retries would
    hold a process that has finished, a command-line run for one.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # A worker dropped without shutdown() still ends its thread.
        weakref.finalize(self, self._calls.put, None)

    def submit(self, func: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Queue a call; returns its future."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=_serve,
                    args=(self._calls,),
                    name=self._name,
                    daemon=True,
                )
                self._thread.start()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._calls.put((func, future))
        return future

    def shutdown(self) -> None:
        """Let the thread end once the calls queued before are done."""
        self._calls.put(None)

    def running(self) -> bool:
        """Tell whether the thread is still running."""
        thread = self._thread
        return thread is not None and thread.is_alive()


def _serve(calls: queue.SimpleQueue[_Call | None]) -> None:
    """Run queued calls until a None; the loop of a Worker's thread."""
    while (call := calls.get()) is not None:
        func, future = call
        if not future.set_running_or_notify_cancel():
            continue
        try:
            result = func()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)


class Caller:
    """Run calls on a worker within a deadline.

    :param name: the worker threads' name.
    :param timeout: seconds a call may take before :meth:`call` raises.
    :param replace: start a new worker after a call times out, so that
        later calls are not queued behind the stuck one (for a backend
        client that is thread-safe, as an SQLAlchemy engine is).  At most
        ``max_stuck`` stuck calls are left running; past that, calls fail
        at once until one of them ends.
    :param max_stuck: see ``replace``.
    :param stalls: where the threads that wait count the process's stalls.
    """

    def __init__(
        self,
        name: str,
        timeout: float,
        replace: bool = False,
        max_stuck: int = 4,
        stalls: Stalls | None = None,
    ) -> None:
        self.name = name
        self.stalls = Stalls() if stalls is None else stalls
        self.timeout = timeout
        self._replace = replace
        self._max_stuck = max_stuck
        self._lock = threading.Lock()
        self._worker = Worker(name)
        self._stuck: list[Worker] = []

    def after_fork(self) -> None:
        """Start afresh in a forked child, which has none of the threads."""
        self._lock = threading.Lock()
        self._worker = Worker(self.name)
        self._stuck = []
        self.stalls.after_fork()

    def call(self, func: Callable[[], T], timeout: float | None = None) -> T:
        """Run func() on the worker and return its result.

        :param func: the call.
        :param timeout: seconds to wait; the caller's ``timeout`` if None.
        :raises TimeoutError: no answer in time; the call is cancelled if it
            has not started, else left to finish in the background.
        :raises: what func raises.
        """
        limit = self.timeout if timeout is None else timeout
        with self._lock:
            self._stuck = [w for w in self._stuck if w.running()]
            if len(self._stuck) >= self._max_stuck:
                raise TimeoutError(
                    f'{len(self._stuck)} earlier calls are still waiting '
                    f'for an answer'
                )
            worker = self._worker
        future = worker.submit(func)
        if self._answered(future, limit):
            return future.result()
        if not future.cancel() and self._replace:
            with self._lock:
                if self._worker is worker:
                    worker.shutdown()
                    self._stuck.append(worker)
                    self._worker = Worker(self.name)
        raise TimeoutError(f'no answer within {limit:g}s')

    def _answered(
        self, future: concurrent.futures.Future[Any], limit: float
    ) -> bool:
        """Wait up to ``limit`` seconds for an answer, waking to see stalls."""
        deadline = time.monotonic() + limit
        stalls = self.stalls
        woke = stalls._begin()
        try:
            while True:
                wait = max(min(WAKE_EVERY, deadline - time.monotonic()), 0)
                try:
                    # exception() raises TimeoutError only for the wait:
                    # the call's own errors it returns.
                    future.exception(wait)
                except concurrent.futures.TimeoutError:
                    done = False
                else:
                    done = True
                woke = stalls._woken(woke + wait)
                if done or wait <= 0:
                    return done
        finally:
            stalls._end()

    def close(self) -> None:
        """Let the worker threads end once their calls are done."""
        with self._lock:
            self._worker.shutdown()
            self._worker = Worker(self.name)
