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

"""Outages of a membership backend, for the drivers' tests.

A test module mixes :class:`Freeze` (a backend it can freeze and thaw:
a server's processes stopped with SIGSTOP, or a :class:`FrozenLockHolder`
of a file-based backend's lock) or :class:`Outage` (a server it can also
stop and start) into a test case; the same fault tests then run against
every driver and backend.
"""

import json
import signal
import subprocess
import sys
import time

from hashring import exception
from hashring import manager
from hashring import ownership
from hashring.tests.membership import contract
from hashring.tests.membership import processes


#: A process that takes a lock and holds it until it is killed.
LOCK_HOLDER = {
    'sqlite': """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute('BEGIN EXCLUSIVE')
print('locked', flush=True)
time.sleep(3600)
""",
    'file': """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print('locked', flush=True)
time.sleep(3600)
""",
}

#: A member that says when its heartbeat has waited for the backend for a
#: while, then, for each line read, whether it saw a silence and whether
#: a heartbeat is under way.
MEMBER = """
from hashring import membership
import json, sys, time
options = json.loads(sys.argv[1])
source = membership.load(options.pop('driver'), **options)
source.join('node-a', sys.argv[2])
print('joined', flush=True)
deadline = time.monotonic() + 10
while (
    source._trying_since is None
    or source._clock() - source._trying_since < 0.2
) and time.monotonic() < deadline:
    time.sleep(0.01)
print('trying' if source._trying_since else 'not trying', flush=True)
for line in sys.stdin:
    print(json.dumps([
        source.last_silence() is not None, source._trying_since is not None
    ]), flush=True)
"""


class FrozenLockHolder:
    """An outage of a file-based backend: a frozen process holds its lock.

    ``freeze()`` starts a process that takes the lock, then stops it dead
    (SIGSTOP), as a process frozen mid-write would be; ``thaw()`` kills it,
    which releases the lock.
    """

    def __init__(self, test, kind, path):
        self.test, self.kind, self.path = test, kind, path
        self.proc = None

    def freeze(self):
        self.proc = subprocess.Popen(
            [sys.executable, '-c', LOCK_HOLDER[self.kind], self.path],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.test.addCleanup(self.thaw)
        self.test.assertEqual('locked\n', self.proc.stdout.readline())
        processes.stop_dead(self.proc.pid)

    def thaw(self):
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc.stdout.close()
            self.proc = None


class Freeze:
    """Fault tests against a backend the test can freeze and thaw.

    A test case sets ``self.srv`` to something with ``freeze()`` and
    ``thaw()``: a server of servers.py (SIGSTOP on its processes), or a
    FrozenLockHolder.
    """

    #: the outage tests' timings: dead_after is exceeded twice over, and
    #: members take up to an interval to beat again after it while readers
    #: refresh every 0.1 s, so that readers look while members are silent
    TIMINGS = {
        'heartbeat_interval': 0.5,
        'dead_after': 1.0,
        'read_timeout': 1.0,
    }

    def outage_source(self, **overrides):
        return self.source(**{**self.TIMINGS, **overrides})

    def options(self):
        """Return the options that name the test's backend."""
        raise NotImplementedError

    source = contract.Contract.source

    def test_a_stop_while_a_heartbeat_waits_is_a_silence(self):
        # A member's heartbeat waits for the frozen backend, past the
        # lapse bound (0.875 s): tried, no silence.  Its process is then
        # stopped for as long: when it goes on, the heartbeat still under
        # way, that was a silence (its peers could have judged it dead),
        # and stays one once the heartbeat ends.
        options = {
            'driver': self.driver,
            **self.options(),
            **contract.FAST,
            **self.TIMINGS,
            'heartbeat_interval': 0.25,
            'read_timeout': 8.0,
        }
        member = subprocess.Popen(
            [sys.executable, '-c', MEMBER, json.dumps(options), self.group],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

        def end():
            member.kill()
            member.communicate()

        self.addCleanup(end)

        def report():
            member.stdin.write('report\n')
            member.stdin.flush()
            return json.loads(member.stdout.readline())

        self.assertEqual('joined\n', member.stdout.readline())
        self.srv.freeze()
        self.assertEqual('trying\n', member.stdout.readline())
        time.sleep(1.2)
        self.assertEqual([False, True], report())
        processes.stop_dead(member.pid)
        time.sleep(1.2)
        member.send_signal(signal.SIGCONT)
        self.assertEqual([True, True], report())
        self.srv.thaw()
        self.assertTrue(
            contract.eventually(lambda: report() == [True, False], 8)
        )

    def test_a_frozen_backend_answers_in_bounded_time(self):
        bound = self.TIMINGS['read_timeout'] + 1.5
        node = self.outage_source()
        node.join('node-a', self.group)
        reader = self.outage_source()
        self.assertEqual({'node-a': 1}, reader.get_members(self.group).up())
        self.srv.freeze()
        # Each call answers or fails within the bound: the file driver's
        # reads need no lock and answer; every other read fails.
        for name, call, error in (
            (
                'get_members',
                lambda: reader.get_members(self.group),
                exception.MembershipUnavailable,
            ),
            (
                'get_ring',
                lambda: manager.RingManager(reader).get_ring(self.group),
                exception.RingUnavailable,
            ),
            ('heartbeat', node.heartbeat, exception.MembershipUnavailable),
        ):
            with self.subTest(call=name):
                started = time.monotonic()
                try:
                    call()
                except error:
                    pass
                else:
                    self.assertNotEqual('heartbeat', name)
                    self.assertEqual('file', self.driver)
                self.assertLess(time.monotonic() - started, bound)
        started = time.monotonic()
        try:
            node.leave()
        except exception.MembershipUnavailable:
            pass
        # The heartbeat in flight, then the removal: each bounded.
        self.assertLess(time.monotonic() - started, 2 * bound)
        started = time.monotonic()
        reader.close()
        self.assertLess(time.monotonic() - started, bound)

    def test_a_manager_of_many_groups_waits_for_one_read(self):
        # Each group due a refresh read the frozen backend on its own,
        # under the manager's lock: four groups, four read_timeouts.
        groups = [f'{self.group}-{i}' for i in range(4)]
        node = self.outage_source()
        for group in groups:
            node.join('node-a', group)
        rings = manager.RingManager(
            self.outage_source(), reset_interval=0.2, max_stale=60
        )
        first = {g: rings.get_ring(g) for g in groups}
        self.srv.freeze()
        time.sleep(0.3)  # every ring due a refresh
        started = time.monotonic()
        for group in groups:
            self.assertEqual(
                first[group].fingerprint, rings.get_ring(group).fingerprint
            )
        self.assertLess(
            time.monotonic() - started, self.TIMINGS['read_timeout'] + 1.5
        )

    def test_an_outage_longer_than_dead_after_kills_no_one(self):
        # Three members, each with a manager and an ownership filter, as
        # three services; c crashes while the backend is out.
        services = {}
        for name in ('a', 'b', 'c'):
            source = self.outage_source()
            source.join(name, self.group)
            ring_manager = manager.RingManager(
                source, host=name, reset_interval=0.1, max_stale=60
            )
            services[name] = (source, ring_manager)
        nodes = [{'id': f'node-{i}', 'instance_id': None} for i in range(300)]
        self.assertTrue(
            contract.eventually(
                lambda: all(
                    set(m.get_ring(self.group).members) == {'a', 'b', 'c'}
                    for _, m in services.values()
                )
            )
        )
        outsider = manager.RingManager(
            self.outage_source(), reset_interval=0.1, max_stale=60
        )
        self.assertEqual(
            {'a', 'b', 'c'}, set(outsider.get_ring(self.group).members)
        )
        self.srv.freeze()
        frozen_at = time.monotonic()
        services['c'][0].stop()  # the crash: no leave, no more heartbeats
        while time.monotonic() - frozen_at < 2.5 * self.TIMINGS['dead_after']:
            for _, ring_manager in services.values():
                ring_manager.get_ring(self.group)  # stale, never raises
            time.sleep(0.2)
        self.srv.thaw()
        thawed_at = time.monotonic()
        live = ('a', 'b')
        gone_at = None
        readers = [services[n][1] for n in live] + [outsider]
        while time.monotonic() - thawed_at < 8:
            rings = [r.get_ring(self.group) for r in readers]
            for ring in rings:
                # No live member ever drops off any reader's ring.
                self.assertLessEqual(set(live), set(ring.members))
            owned = [
                ownership.OwnershipFilter(
                    name, manager=services[name][1], group=self.group
                )
                .filter(nodes, [])
                .owned
                for name in live
            ]
            ids = [n['id'] for o in owned for n in o]
            self.assertEqual(len(ids), len(set(ids)), 'a node managed twice')
            if all('c' not in ring.members for ring in rings):
                gone_at = time.monotonic()
                break
            time.sleep(0.1)
        # The crash is still found: within dead_after, a refresh and the
        # readers' first reads after the outage.
        self.assertIsNotNone(gone_at, 'the crashed member never left')
        self.assertLess(gone_at - thawed_at, 6)
        for source, _ in services.values():
            source.close()

    def test_changes_the_outage_refused_are_written_after_it(self):
        # A drain and a new weight, refused while the backend is out: the
        # first heartbeat after it writes both to every group's record
        # (the drain wrote none, or only the first group's, and
        # heartbeats only refreshed the records, which stayed up).
        groups = (self.group, f'{self.group}-other')
        node = self.outage_source(heartbeat_interval=60, dead_after=120)
        for group in groups:
            node.join('node-a', group)
        reader = self.outage_source()
        self.srv.freeze()
        self.assertRaises(exception.MembershipUnavailable, node.drain)
        self.assertRaises(
            exception.MembershipUnavailable,
            node.join,
            'node-a',
            groups[1],
            weight=3,
        )
        self.srv.thaw()

        def written():
            try:
                node.heartbeat()
                found = [
                    reader.get_members(g).members['node-a'] for g in groups
                ]
            except exception.MembershipUnavailable:
                return None  # the backend is still coming back
            return [(m.state.value, m.weight) for m in found]

        self.assertTrue(contract.eventually(written, 30))
        self.assertEqual([('draining', 3)] * 2, written())


class Outage(Freeze):
    """Fault tests against a server the test can also stop and start.

    A test case names the ``driver``, the option that takes the server's
    URL (``url_option``) and the server's fixture (``server_class``, of
    servers.py), which each test starts afresh.
    """

    url_option: str

    def setUp(self):
        super().setUp()
        self.srv = self.useFixture(self.server_class())
        self.group = 'outage'
        self.reader = self.source()

    def source(self, **overrides):
        return super().source(**{'read_timeout': 2.0, **overrides})

    read = contract.Contract.read

    def options(self):
        return {self.url_option: self.srv.url}

    def test_outage_is_unavailable_never_empty(self):
        node = self.source()
        node.join('node-a', self.group)
        self.assertEqual({'node-a': 1}, self.read().up())
        self.srv.stop()
        started = time.monotonic()
        err = self.assertRaises(exception.MembershipUnavailable, self.read)
        self.assertLess(
            time.monotonic() - started, contract.FAST['read_timeout'] + 5
        )
        self.assertIn(self.driver, str(err))
        # It says why, though some errors have no message.
        self.assertNotEqual('', str(err).rsplit(': ', 1)[-1].strip())
        # The heartbeat thread fails, and keeps going.
        self.assertTrue(contract.eventually(lambda: node.beat_failures >= 2))
        self.assertTrue(node._thread.is_alive())
        self.srv.start()
        back = contract.eventually(
            lambda: self._try_up() == {'node-a': 1}, timeout=60, step=0.5
        )
        self.assertTrue(back)
        self.assertTrue(contract.eventually(lambda: node.beat_failures == 0))

    def _try_up(self):
        try:
            return self.read().up()
        except exception.MembershipUnavailable:
            return None
