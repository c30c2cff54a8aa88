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

"""Services of the functional tests, as processes, and their checkers.

Each service (``service.py``) logs every change of its owned set with the
time its filter call returned; :func:`intervals` reads them back, and
:func:`overlaps` finds every moment a node was managed by two services.
"""

import collections
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid

import fixtures

from hashring import manager
from hashring import membership
from hashring.tests.functional import service as service_mod
from hashring.tests.membership import contract

NODES = 10000
#: seconds to converge after an event, at most (a crash needs dead_after)
CONVERGE_WITHIN = 40.0


def intervals(path, end):
    """Return each node's management intervals from a service's log.

    :param end: when the service stopped acting, if it did not log it
        (killed): its open intervals close then.
    """
    spans = collections.defaultdict(list)
    opened = {}
    last = end
    with open(path) as log:
        for line in log:
            at, what, *nodes = line.split()
            t = float(at)
            if what == '+':
                for n in nodes:
                    opened[int(n)] = t
            elif what == '-':
                for n in nodes:
                    spans[int(n)].append((opened.pop(int(n)), t))
            elif what == 'exit':
                last = t
    for n, t in opened.items():
        spans[n].append((t, last))
    return spans


def holdings(path):
    """Return the nodes a service's log says it holds now."""
    held = set()
    if not os.path.exists(path):
        return held  # not started yet
    with open(path) as log:
        for line in log:
            _, what, *nodes = line.split()
            if what == '+':
                held.update(map(int, nodes))
            elif what == '-':
                held.difference_update(map(int, nodes))
    return held


def overlaps(spans_by_service):
    """Return (node, service, service, since, until) for double care.

    One per pair of spans of a node that overlap, the one that began
    first named first; ``until`` is when the overlap ended (the sooner of
    the two ends).
    """
    found = []
    by_node = collections.defaultdict(list)
    for name, spans in spans_by_service.items():
        for node, node_spans in spans.items():
            by_node[node].extend((s, e, name) for s, e in node_spans)
    for node, spans in by_node.items():
        spans.sort()
        # A long span can overlap several later ones, not only the next.
        open_spans = []
        for s2, e2, b in spans:
            open_spans = [o for o in open_spans if o[1] > s2]
            for _s1, e1, a in open_spans:
                if a != b:
                    found.append((node, a, b, s2, min(e1, e2)))
            open_spans.append((s2, e2, b))
    return found


class Fleet:
    """Mixed into a TestCase that sets driver and url: its services."""

    #: the membership timings of the services and of the test's reader
    timing = {**service_mod.TIMING, **service_mod.SETTLE_AFTER}

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.group = f'handoff-{uuid.uuid4().hex[:8]}'
        self.procs = {}
        self.ended = {}  # name -> when it stopped acting, if killed
        url = service_mod.URL_OPTIONS[self.driver]
        source = membership.load(
            self.driver,
            group=self.group,
            **{url: self.url},
            **self.timing,
        )
        self.addCleanup(source.close)
        self.reader = manager.RingManager(source, reset_interval=0)
        self.addCleanup(self.kill_all)

    def log(self, name):
        return os.path.join(self.dir, f'{name}.log')

    def start(self, name, *options):
        stderr = open(os.path.join(self.dir, f'{name}.err'), 'w')
        self.addCleanup(stderr.close)
        self.procs[name] = subprocess.Popen(
            [
                sys.executable,
                '-m',
                'hashring.tests.functional.service',
                '--driver',
                self.driver,
                '--url',
                self.url,
                '--group',
                self.group,
                '--name',
                name,
                '--nodes',
                str(NODES),
                '--log',
                self.log(name),
                *(
                    f'--{option.replace("_", "-")}={value}'
                    for option, value in self.timing.items()
                ),
                *options,
            ],
            stderr=stderr,
        )

    def kill(self, name):
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.ended[name] = time.monotonic()

    def pause(self, name):
        """Stop a service (SIGSTOP) outside a transaction of its backend.

        Frozen inside an SQLite transaction, it would hold the file's lock:
        an outage for every service, in which nobody is judged dead
        (test_outages), not the pause the test means.
        """
        proc = self.procs[name]
        for _ in range(50):
            proc.send_signal(signal.SIGSTOP)
            if not self.url.startswith('sqlite:///'):
                return
            db = sqlite3.connect(self.url[len('sqlite:///') :], timeout=0.2)
            try:
                db.execute('BEGIN EXCLUSIVE')  # no other lock, shared or not
                db.rollback()
                return
            except sqlite3.OperationalError:
                proc.send_signal(signal.SIGCONT)
                time.sleep(0.01)
            finally:
                db.close()
        self.fail(f'{name} held the SQLite lock at every try')

    def pause_until_taken(self):
        """Stop a service until its peers take its nodes, then go on.

        svc-2 joins svc-1 and svc-3 and reads its ring once (it goes on
        with that ring, in which it is alive, as a service whose
        heartbeat thread ran first does); it is paused (SIGSTOP) until
        its peers hold every node it held, then continued.  Checks that
        its first call begun after let go of them all, and that it took
        them back only once its peers had let go: managed twice only while
        it was stopped (and could not act).

        :returns: the seconds from the pause to the take.
        """
        names = ['svc-1', 'svc-3', 'svc-2']
        for name in names[:2]:
            self.start(name)
        self.wait_converged('the start')
        self.start('svc-2', '--reset-interval', '60')
        self.wait_converged('a join')
        held = holdings(self.log('svc-2'))
        self.assertTrue(held)
        self.pause('svc-2')
        paused = time.monotonic()

        def taken():
            peers = ('svc-1', 'svc-3')
            return held <= set().union(*(holdings(self.log(n)) for n in peers))

        self.assertTrue(
            contract.eventually(taken, CONVERGE_WITHIN, 0.25),
            'nothing was taken',
        )
        thawed = time.monotonic()
        self.procs['svc-2'].send_signal(signal.SIGCONT)
        back = self.wait_converged('the pause')
        self.assertEqual(held, back['svc-2'])
        spans = self.spans(names)
        with open(self.log('svc-2')) as log:
            lines = [line.split() for line in log]
        # Its first call begun after the pause answered without them (one
        # under way when it stopped answers as it would have).
        first = next(
            (
                float(line[0])
                for line in lines
                if line[1] == 'call' and float(line[2]) > thawed
            ),
            None,
        )
        self.assertIsNotNone(first, 'no call of svc-2 answered after it')
        kept = set(held)
        for at, what, *nodes in lines:
            if float(at) > thawed and float(at) <= first and what == '-':
                kept.difference_update(map(int, nodes))
        self.assertEqual(set(), kept)
        found = overlaps(spans)
        self.assertTrue(found)
        for node, a, b, since, until in found:
            self.assertEqual('svc-2', a)
            self.assertLess(since, thawed)
            self.assertLessEqual(until, first)
        return thawed - paused

    def kill_all(self):
        for name in list(self.procs):
            self.kill(name)

    def spans(self, names):
        """Stop every service; return each one's management intervals."""
        self.kill_all()
        return {
            name: intervals(self.log(name), self.ended.get(name, 0.0))
            for name in names
        }

    def running(self):
        return {n for n, p in self.procs.items() if p.poll() is None}

    def stderr_tails(self, names):
        return {
            n: open(os.path.join(self.dir, f'{n}.err')).read()[-1500:]
            for n in names
        }

    def wait_converged(self, what, until=None):
        """Wait until each node has one owner and every member agrees.

        :param until: a callable of the convergence state that tells
            whether the event has shown yet.
        """
        deadline = time.monotonic() + CONVERGE_WITHIN
        while True:
            # An uncaught exception (1) or bad arguments (2): the others
            # would converge without it.
            failed = [n for n, p in self.procs.items() if p.poll() in (1, 2)]
            if failed:
                self.fail(
                    f'{", ".join(failed)} ended with an error before '
                    f'{what}: stderr {self.stderr_tails(failed)}'
                )
            live = self.running()
            held = {n: holdings(self.log(n)) for n in live}
            owned = sum(len(h) for h in held.values())
            union = set().union(*held.values()) if held else set()
            state = None
            try:
                state = self.reader.convergence(self.group)
            except Exception:
                pass
            if (
                owned == NODES
                and len(union) == NODES
                and state is not None
                and state.fingerprint is not None
                and set(state.applied)
                == {membership.canonical_id(n) for n in live}
                and (until is None or until(state))
            ):
                return held
            if time.monotonic() > deadline:
                self.fail(
                    f'not converged {CONVERGE_WITHIN:g}s after {what}: '
                    f'{owned} of {NODES} owned ({len(union)} distinct), '
                    f'{state}, stderr {self.stderr_tails(self.procs)}'
                )
            time.sleep(0.25)
