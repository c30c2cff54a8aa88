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

"""Shared test base and helpers."""

import importlib.util
import json
import os
import pathlib
import select
import signal
import subprocess
import sys
import threading
import time
import warnings

import hypothesis
from oslotest import base

from hashring import membership
from hashring import taking

#: The project's root: the checkout the tests run from.
ROOT = pathlib.Path(__file__).resolve().parents[2]

# Derandomized, so that a CI run is reproducible; the examples still vary
# with the code under test, and a failure names its example.  test_fast.py
# runs the ring's tests again from subclasses, on the pure path: being
# derandomized, they keep no example database one could replay for the
# other, which is what the differing executors check guards against.
hypothesis.settings.register_profile(
    'hashring',
    derandomize=True,
    deadline=None,
    max_examples=150,
    suppress_health_check=[hypothesis.HealthCheck.differing_executors],
)
hypothesis.settings.load_profile(
    os.environ.get('HYPOTHESIS_PROFILE', 'hashring')
)


def load_script(path, name):
    """Return a script of the tree (an example, a tool) as a module."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TestCase(base.BaseTestCase):
    """Base class of hashring's tests."""

    def file_source(self, path, name=None, dead_after=1.0, **overrides):
        """Return a real file membership at ``path``, fast to judge.

        It heartbeats every 0.1 s, judges a member dead after 1 s (or
        ``dead_after``) and settles in two intervals, 0.2 s (unless
        ``overrides`` say otherwise); it joins as ``name`` when given, and
        is closed at cleanup.
        """
        overrides.setdefault('settle_after', 0.2)
        source = membership.load(
            'file',
            membership_file=path,
            heartbeat_interval=0.1,
            dead_after=dead_after,
            **overrides,
        )
        self.addCleanup(source.close)
        if name is not None:
            source.join(name)
        return source

    def wait_settled(self, source, within=5.0):
        """Wait until a joined source's member may take what nobody hands.

        A member alone takes nodes only once its record has stood for
        ``settle_after`` (:func:`hashring.taking.settled`): 0.2 s for a
        :meth:`file_source`.
        """
        deadline = time.monotonic() + within
        while not taking.settled(
            source.unbroken_since(), source._clock(), source.settle_after
        ):
            self.assertLess(time.monotonic(), deadline, 'not settled')
            time.sleep(0.01)


def tooz_walk(tooz_ring, key, ignore_nodes=None, replicas=1):
    """Return the members tooz collects for a key, in the order it does.

    tooz returns a set; this replays its own loop over its own points
    (``_partitions`` and ``_ring``) to recover the order, and the tests
    check that the set it gives equals what tooz's ``get_nodes`` returns.
    """
    ignore = set(ignore_nodes or ())
    candidates = set(tooz_ring.nodes) - ignore
    wanted = min(replicas, len(candidates))
    points = tooz_ring._partitions
    pos = tooz_ring._get_partition(key)
    found = []
    while len(found) < wanted:
        node = tooz_ring._ring[points[pos]]
        if node not in ignore and node not in found:
            found.append(node)
        pos = pos + 1 if pos + 1 < len(points) else 0
    return found


def race(change, look, readers):
    """Run look() on several threads while change() repeats on another.

    change() runs over and over until every reader is done.

    :param change: what alters the shared object; called in a loop.
    :param look: what reads it and raises on anything wrong; called once
        per reader.
    :param readers: how many threads run look().
    :returns: ``repr()`` of every exception either raised; empty if none.
    """
    stop = threading.Event()
    errors = []

    def guarded(func):
        try:
            func()
        except Exception as exc:
            errors.append(repr(exc))

    def churn():
        while not stop.is_set():
            change()

    changer = threading.Thread(target=guarded, args=(churn,))
    threads = [
        threading.Thread(target=guarded, args=(look,)) for _ in range(readers)
    ]
    changer.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    changer.join()
    return errors


def under_hash_seeds(script, seeds):
    """Return what a Python script prints under each of several seeds.

    Each run is a process of its own with ``PYTHONHASHSEED`` set, bounded
    in time; a run that fails raises.

    :param script: the source the processes run.
    :param seeds: values of ``PYTHONHASHSEED``, ``'random'`` among them.
    :returns: the standard output of each run, in order.
    """
    return [
        subprocess.run(
            [sys.executable, '-c', script],
            env=dict(os.environ, PYTHONHASHSEED=seed),
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
        for seed in seeds
    ]


def fork_and_run(func, timeout=30.0):
    """Run func() in a forked child; return what it returned (JSON)."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12 and later warn of a fork while threads run: that is
        # the case under test (a service forks with its heartbeats
        # running), and the child is bounded by its alarm.
        warnings.simplefilter('ignore', DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover (the child)
        os.close(read_end)
        try:
            signal.alarm(int(timeout))
            out = {'result': func()}
        except BaseException as exc:
            out = {'error': repr(exc)}
        os.write(write_end, json.dumps(out).encode())
        os._exit(0)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + timeout + 5
    with os.fdopen(read_end, 'rb') as pipe:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([pipe], [], [], 1.0)
            if ready:
                chunk = os.read(pipe.fileno(), 65536)
                if not chunk:
                    break
                chunks.append(chunk)
    if not chunks:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    out = json.loads(b''.join(chunks) or b'{"error": "no answer"}')
    if 'error' in out:
        raise AssertionError(f'the child failed: {out["error"]}')
    return out['result']
