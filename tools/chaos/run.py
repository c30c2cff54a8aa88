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

"""Random faults against services that run the handoff protocol.

Four services (``hashring/tests/functional/service.py``, one process
each) share the nodes through a real backend, as the functional tests
run them.  For each seed, a random schedule of events follows: crashes
(SIGKILL) and restarts under the same name, pauses (SIGSTOP) of up to
5 s, graceful leaves, re-weights, joins, and freezes of the server (and,
with ``--restarts``, restarts of it and, for tooz, wipes).  Then every
service is let run until the services agree, and the checker proves
that no node was managed by two services at once, but where one of them
was stopped when the later of their taking calls began and let go by its
first call begun after it went on (what the fencing tokens refuse), or, where
it kept the node, the other was stopped by then and let go in its turn.

    python tools/chaos/run.py --backend redis --seeds 1-10 --restarts

The servers are started from their binaries, as the tests start them.
A failing run's logs (each service's changes, warnings and the claims
of every read it made) are kept under ``--keep``.
"""

import argparse
import bisect
import os
import random
import shutil
import signal
import subprocess
import sys
import time
import unittest

import fixtures

from hashring.tests import base
from hashring.tests.functional import fleet
from hashring.tests.functional import service as service_mod
from hashring.tests.membership import servers
from hashring.tests.membership import sqlservers

BACKENDS = {
    'postgresql': ('sql', sqlservers.PostgresServer),
    'mariadb': ('sql', sqlservers.MariaDBServer),
    'redis': ('tooz', servers.RedisServer),
    'etcd': ('tooz', servers.EtcdServer),
    'zookeeper': ('tooz', servers.ZooKeeperServer),
    'sqlite': ('sql', None),
    'file': ('file', None),
}

#: Seconds a run may take, its events and the convergence after them.
RUN_TIMEOUT = 600


class Chaos(fleet.Fleet, base.TestCase):
    """One seed's run; the runner sets the class attributes."""

    backend = 'sqlite'
    seed = 1
    events = 25
    restarts = False
    keep = 'chaos-failures'
    #: settle_after unset: the library's default, as services run
    timing = service_mod.TIMING

    def setUp(self):
        self.driver, kind = BACKENDS[self.backend]
        self.server = None
        if kind is not None:
            self.server = self.useFixture(kind())
            self.url = self.server.url
        else:
            path = self.useFixture(fixtures.TempDir()).path
            self.url = (
                f'sqlite:///{path}/members.sqlite'
                if self.driver == 'sql'
                else os.path.join(path, 'members.json')
            )
        super().setUp()
        self.useFixture(fixtures.Timeout(RUN_TIMEOUT, gentle=False))
        self.logs = {}  # incarnation ("svc-2#1") -> its log
        self.current = {}  # name -> its running incarnation
        self.paused = {}  # incarnation -> [(stopped, continued)]
        self.stopped = {}  # incarnation -> when stopped, while it is
        self.killed = {}  # incarnation -> when killed
        self.plan = []
        self.call_log = {}  # incarnation -> its calls, once all stopped

    def log(self, name):
        return self.logs[self.current[name]]

    def launch(self, name):
        count = sum(1 for i in self.logs if i.split('#')[0] == name)
        inc = self.current[name] = f'{name}#{count + 1}'
        self.logs[inc] = os.path.join(self.dir, f'{inc}.log')
        self.start(name, '--trace', os.path.join(self.dir, f'{inc}.trace'))

    def kill(self, name):
        inc = self.current[name]
        super().kill(name)
        self.killed[inc] = self.ended[name]
        self.go_on(inc, self.ended[name])

    def go_on(self, inc, at):
        began = self.stopped.pop(inc, None)
        if began is not None:
            self.paused.setdefault(inc, []).append((began, at))

    def test_chaos(self):
        rnd = random.Random(self.seed)
        for i in range(1, 5):
            self.launch(f'svc-{i}')
        self.wait_converged('the start')
        started = time.monotonic()
        pending = []  # (when, action, name)
        busy_until = 0.0  # the server's freeze or restart
        for _ in range(self.events):
            now = time.monotonic()
            for item in sorted(p for p in pending if p[0] <= now):
                pending.remove(item)
                self.act(item[1], item[2])
            kinds = ['crash', 'pause', 'pause', 'leave', 'reweight', 'join']
            if self.server is not None:
                kinds += ['freeze', 'freeze']
                if self.restarts:
                    kinds.append('restart')
                    if self.driver == 'tooz':
                        kinds.append('wipe')
            kind = rnd.choice(kinds)
            stopped = {
                n for n in self.running() if self.current[n] in self.stopped
            }
            running = sorted(self.running() - stopped)
            if len(running) <= 2 and kind in ('crash', 'leave'):
                kind = 'join'
            at = round(now - started, 2)
            if kind in ('crash', 'pause', 'leave', 'reweight') and running:
                name = rnd.choice(running)
                self.plan.append((at, kind, name))
                if kind == 'crash':
                    self.kill(name)
                    pending.append((now + rnd.uniform(0, 5), 'start', name))
                elif kind == 'pause':
                    self.procs[name].send_signal(signal.SIGSTOP)
                    self.stopped[self.current[name]] = time.monotonic()
                    pending.append((now + rnd.uniform(0.1, 5), 'cont', name))
                elif kind == 'leave':
                    self.procs[name].send_signal(signal.SIGTERM)
                    pending.append((now + 15, 'reap', name))
                else:
                    self.procs[name].send_signal(signal.SIGUSR1)
            elif kind == 'join':
                gone = sorted(n for n in self.current if n not in self.procs)
                name = f'svc-{len(self.current) + 1}'
                if gone and rnd.random() < 0.5:
                    name = rnd.choice(gone)
                self.plan.append((at, kind, name))
                self.launch(name)
            elif kind in ('freeze', 'restart', 'wipe') and now > busy_until:
                lasts = rnd.uniform(0.3, 6)
                self.plan.append((at, kind, round(lasts, 2)))
                busy_until = now + lasts
                if kind == 'freeze':
                    self.server.freeze()
                    pending.append((busy_until, 'thaw', None))
                else:
                    self.server.stop()
                    if kind == 'wipe' and getattr(self.server, 'data', None):
                        shutil.rmtree(self.server.data, ignore_errors=True)
                        self.server.prepare()
                    pending.append((busy_until, 'serve', None))
            time.sleep(rnd.uniform(0.1, 3))
        for when, action, name in sorted(pending):
            time.sleep(max(0.0, when - time.monotonic()))
            self.act(action, name)
        try:
            self.wait_converged('the chaos')
        finally:
            self.check()

    def act(self, action, name):
        if action == 'start' and name not in self.procs:
            self.launch(name)
        elif action == 'cont' and name in self.procs:
            self.procs[name].send_signal(signal.SIGCONT)
            self.go_on(self.current[name], time.monotonic())
        elif action == 'reap' and name in self.procs:
            try:
                self.procs[name].wait(30)
            except subprocess.TimeoutExpired:
                self.kill(name)  # a leave that did not end: a crash
            else:
                del self.procs[name]
        elif action == 'thaw':
            self.server.thaw()
        elif action == 'serve':
            self.server.start()

    def check(self):
        for name in list(self.procs):
            self.kill(name)
        spans = {
            inc: fleet.intervals(path, self.killed.get(inc, 0.0))
            for inc, path in self.logs.items()
            if os.path.exists(path)  # killed before it logged
        }
        found = [
            o
            for o in fleet.overlaps(spans)
            if not self.stopped_then(*o, spans=spans)
        ]
        if found:
            kept = os.path.join(self.keep, f'{self.backend}-{self.seed}')
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(self.dir, kept)
            print(
                f'{len(found)} overlaps, first {found[:3]}; plan '
                f'{self.plan}; stopped {self.paused}; kept in {kept}',
                file=sys.stderr,
            )
        self.assertEqual([], found[:10])

    def stopped_then(self, node, a, b, since, until, spans):
        """Tell whether a or b was stopped through all the double care.

        From the start of the later of the two taking calls to the
        overlap's end, every moment falls in a stop of one of the two, or
        after it until its first call begun after it went on (it acts on
        its last answer until then, and a call in flight through the stop
        answers from what it read before).  One that kept the node past
        that call is covered only by a stop of the other, which must let
        go in its turn: a member keeps what a peer took from it if that
        peer is dead (or stopped) by the time it reads.
        """
        held = max(s for s, e in spans[a][node] if s <= since < e)
        covered = max(self.call_began(a, held), self.call_began(b, since))
        stops = sorted(
            (stop, self.first_call(inc, cont))
            for inc in (a, b)
            for stop, cont in self.paused.get(inc, ())
        )
        for stop, answered in stops:
            if covered >= until or stop > covered:
                break
            covered = max(covered, answered)
        return covered >= until

    def call_began(self, inc, at):
        """Return when the call of inc that answered at ``at`` began."""
        began, answered = self.calls(inc)
        i = bisect.bisect_left(answered, at)
        return began[i] if i < len(answered) and answered[i] == at else at

    def first_call(self, inc, after):
        """Return when inc's first call begun after ``after`` answered."""
        began, answered = self.calls(inc)
        i = bisect.bisect_right(began, after)
        return answered[i] if i < len(began) else float('inf')

    def calls(self, inc):
        """Return when an incarnation's calls began, and answered.

        Two lists in order (one call at a time, so both ascend), read
        from its log once: the checker asks them for every overlap.
        """
        if inc not in self.call_log:
            began, answered = [], []
            with open(self.logs[inc]) as log:
                for line in log:
                    when, what, *rest = line.split()
                    if what == 'call':
                        began.append(float(rest[0]))
                        answered.append(float(when))
            self.call_log[inc] = (began, answered)
        return self.call_log[inc]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backend', choices=sorted(BACKENDS), required=True)
    parser.add_argument('--seeds', default='1-5', help='N or N-M')
    parser.add_argument('--events', type=int, default=25)
    parser.add_argument(
        '--restarts',
        action='store_true',
        help='restart the server too (and wipe it, for tooz)',
    )
    parser.add_argument('--keep', default='chaos-failures')
    parser.add_argument(
        '--nodes',
        type=int,
        default=3000,
        help='nodes the services share (the functional tests: 10,000)',
    )
    args = parser.parse_args(argv)
    fleet.NODES = args.nodes
    first, _, last = args.seeds.partition('-')
    failed = []
    for seed in range(int(first), int(last or first) + 1):
        case = type(
            'Chaos',
            (Chaos,),
            {
                'backend': args.backend,
                'seed': seed,
                'events': args.events,
                'restarts': args.restarts,
                'keep': os.path.abspath(args.keep),
            },
        )('test_chaos')
        result = unittest.TestResult()
        began = time.monotonic()
        case.run(result)
        problems = result.failures + result.errors
        verdict = 'ok' if not problems else 'FAILED'
        print(
            f'{args.backend} seed {seed}: {verdict} '
            f'({time.monotonic() - began:.0f} s)',
            flush=True,
        )
        for _, trace in problems:
            print(trace[-3000:], file=sys.stderr)
            failed.append(seed)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
