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

"""Control the test servers' processes: ports, freezes, waits, children.

Linux's /proc tells a thread's state: a frozen server has stopped only
once every thread of it has (:func:`stop_dead`).
"""

import os
import signal
import socket
import time


class Ended(RuntimeError):
    """The process has ended (a zombie, or gone)."""


def free_port():
    """Return a TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def stop_dead(pid, timeout=10):
    """Stop a process (SIGSTOP), and return once every thread of it stopped.

    kill() returns before the signal has stopped the threads: on a loaded
    2-core machine a thread running on the other core went on for up to
    12 ms, and an etcd served a read in that time (a CI failure of
    test_a_frozen_backend_answers_in_bounded_time).

    :raises RuntimeError: a thread still runs after timeout seconds.
    :raises Ended: the process has ended.
    """
    try:
        os.kill(pid, signal.SIGSTOP)
    except ProcessLookupError:
        raise Ended(f'process {pid} has ended') from None
    if not os.path.isdir('/proc/self/task'):
        return  # no thread states to wait on, as on macOS
    deadline = time.monotonic() + timeout
    while True:
        running = running_threads(pid)
        if not running:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f'process {pid} did not stop in {timeout}s: threads '
                f'{running} still run'
            )
        time.sleep(0.001)


def thread_state(pid, tid):
    """Return the state letter of a thread (R, S, T...), from /proc."""
    with open(f'/proc/{pid}/task/{tid}/stat') as stat:
        # The state follows the command name, which may hold ')'.
        return stat.read().rpartition(')')[2].split()[0]


def running_threads(pid):
    """Return {thread id: state} of a process's threads that run on."""
    states = {}
    task = f'/proc/{pid}/task'
    if not os.path.isdir(task):
        raise Ended(f'process {pid} has ended')
    for tid in os.listdir(task):
        try:
            state = thread_state(pid, tid)
        except (FileNotFoundError, ProcessLookupError):
            continue  # a thread that ended meanwhile
        if state in ('Z', 'X'):
            raise Ended(f'process {pid} has ended')
        if state not in ('T', 't'):
            states[int(tid)] = state
    return states


def wait_for(predicate, timeout, what, proc=None):
    """Wait until predicate() is true; raise RuntimeError after timeout.

    :param proc: the process that makes it true, if any: where it exits
        first, the wait ends at once, with its exit status.
    """
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as exc:
            last = exc
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f'{what} exited with status {proc.returncode} before it '
                f'came up: {last!r}'
            )
        time.sleep(0.05)
    raise RuntimeError(f'{what} did not come up in {timeout}s: {last!r}')


def children(pid):
    """Return the ids of every descendant of a process, from /proc."""
    parents = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found.extend(kids)
        todo.extend(kids)
    return found
