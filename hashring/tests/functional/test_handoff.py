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

"""The handoff protocol across processes, against real backends.

Five services (``service.py``, one process each) share 10,000 nodes
through a real membership: SQLite, PostgreSQL, MariaDB, Redis, etcd and
ZooKeeper.
One run goes through every event - a join, a graceful leave, a re-weight,
a rolling change of exponent and a crash - and after each waits until
the services agree again.  Every service logs each change of its owned
set with the time its filter call returned; the checker then proves that
no node was managed by two services at any moment, and that the services
converged after every event.  Another run stops a service (SIGSTOP) until
its peers take its nodes: once it goes on, it lets go of them before it
takes them back.  On ZooKeeper, a crashed service restarts before its
session ends, and keeps its nodes when that session ends.
"""

import os
import signal
import time

import fixtures

from hashring import membership
from hashring import ring
from hashring.tests import base
from hashring.tests.functional import fleet
from hashring.tests.functional import service as service_mod
from hashring.tests.membership import servers
from hashring.tests.membership import sqlservers


class Scenario(fleet.Fleet):
    """Mixed into a TestCase that sets driver and url."""

    #: seconds after which the backend forgets a crashed service, where
    #: longer than dead_after (the least session a ZooKeeper server grants)
    forgets_after = 0.0

    def test_no_node_is_ever_managed_twice(self):
        names = [f'svc-{i}' for i in range(1, 6)]
        for name in names:
            self.start(name)
        self.wait_converged('the start')

        self.start('svc-6')
        self.wait_converged('a join')

        self.procs['svc-2'].send_signal(signal.SIGTERM)
        self.assertEqual(0, self.procs['svc-2'].wait(fleet.CONVERGE_WITHIN))
        held = self.wait_converged('a graceful leave')
        self.assertNotIn('svc-2', held)
        # It managed its nodes up to its exit, and its peers took them
        # all after it, at their next calls: not twice, and unmanaged
        # for moments, not for a refresh (the overlap check is below).
        left = fleet.holdings(self.log('svc-2'))
        with open(self.log('svc-2')) as log:
            exit_at = float(log.read().split()[-2])
        taken = {
            node: start
            for name in held
            for node, spans in fleet.intervals(self.log(name), 0.0).items()
            for start, _ in spans
            if node in left and start >= exit_at
        }
        self.assertTrue(left)
        self.assertEqual(left, set(taken))
        self.assertLess(max(taken.values()) - exit_at, 5.0)

        before = len(held['svc-3'])
        self.procs['svc-3'].send_signal(signal.SIGUSR1)  # weight 2

        def reweighted(state):
            # Every service applies the ring in which svc-3 weighs 2.
            ring_ = self.reader.get_ring(self.group)
            return (
                ring_.members['svc-3'] == 2
                and state.fingerprint == ring_.fingerprint
            )

        held = self.wait_converged('a re-weight', reweighted)
        self.assertGreater(len(held['svc-3']), before)

        for name in sorted(self.running()):  # a rolling exponent change
            self.procs[name].send_signal(signal.SIGUSR2)
            time.sleep(0.3)
        members = self.reader.get_ring(self.group).members
        moved = ring.HashRing(members, partition_exponent=6).fingerprint
        self.wait_converged(
            'an exponent change', lambda s: s.fingerprint == moved
        )

        lost = fleet.holdings(self.log('svc-4'))
        self.kill('svc-4')  # a crash
        held = self.wait_converged('a crash')
        self.assertEqual({'svc-1', 'svc-3', 'svc-5', 'svc-6'}, set(held))
        # Its nodes were unmanaged until it was judged dead, and a refresh.
        taken = {
            node: start
            for name in held
            for node, spans in fleet.intervals(self.log(name), 0.0).items()
            for start, _ in spans
            if node in lost and start > self.ended['svc-4']
        }
        self.assertEqual(lost, set(taken))
        unmanaged = max(taken.values()) - self.ended['svc-4']
        dead_after = self.timing['dead_after']
        forgotten = max(self.forgets_after, dead_after)
        self.assertLess(unmanaged, forgotten + dead_after + 2)

        spans = self.spans([*names, 'svc-6'])
        self.assertEqual(fleet.NODES, len(set().union(*spans.values())))
        self.assertEqual([], fleet.overlaps(spans)[:5])

    def test_a_paused_service_lets_go_of_what_its_peers_took(self):
        # A process stopped past dead_after (SIGSTOP, as a frozen virtual
        # machine or a long pause) is judged dead, and its peers take its
        # nodes.  When it goes on, it must not act on them as they do.
        self.pause_until_taken()


class SQLiteTestCase(Scenario, base.TestCase):
    driver = 'sql'

    def setUp(self):
        path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.sqlite'
        )
        self.url = f'sqlite:///{path}'
        super().setUp()

    def test_the_checker_finds_the_overlaps_of_the_plain_ring(self):
        # The same services without the protocol: the checker can fail.
        names = [f'svc-{i}' for i in range(1, 5)]
        # The old services refresh slowly, so that the newcomer acts on
        # its ring before they act on theirs, as rings converge.
        for name in names[:3]:
            self.start(name, '--no-handoff', '--reset-interval', '5')
        self.wait_converged('the start')
        self.start(names[3], '--no-handoff')
        self.wait_converged('a join')
        spans = self.spans(names)
        joined = [o for o in fleet.overlaps(spans) if 'svc-4' in o[1:3]]
        self.assertGreater(len(joined), 100)

    def test_an_operators_drain_moves_the_nodes_and_lasts(self):
        # "hashring drain --host" from another process: the member hands
        # its nodes over, and its claims (a join makes every member
        # publish one) do not put it back, until an undrain does.
        names = ['svc-1', 'svc-2', 'svc-3']
        for name in names:
            self.start(name)
        self.wait_converged('the start')
        operator = membership.load(
            self.driver,
            connection=self.url,
            group=self.group,
            **self.timing,
        )
        self.addCleanup(operator.close)
        operator.resume('svc-2')
        operator.drain()

        def applied(state):
            # Every service applies the ring of the membership as it is.
            return (
                state.fingerprint
                == self.reader.get_ring(self.group).fingerprint
            )

        def drained(state):
            ring_ = self.reader.get_ring(self.group)
            return applied(state) and 'svc-2' not in ring_.members

        held = self.wait_converged('a drain', drained)
        self.assertEqual(set(), held['svc-2'])
        self.start('svc-4')
        held = self.wait_converged(
            'a join', lambda s: drained(s) and 'svc-4' in s.applied
        )
        self.assertEqual(set(), held['svc-2'])
        self.assertEqual(
            membership.State.DRAINING,
            self.reader.source.get_members(self.group).members['svc-2'].state,
        )
        operator.undrain()
        held = self.wait_converged(
            'an undrain',
            lambda s: (
                applied(s)
                and 'svc-2' in self.reader.get_ring(self.group).members
            ),
        )
        self.assertTrue(held['svc-2'])
        spans = self.spans([*names, 'svc-4'])
        self.assertEqual([], fleet.overlaps(spans)[:5])

    def test_a_second_service_under_a_members_name_stops_the_first(self):
        # svc-2's name in another case, in a second service's
        # configuration: one member, whose first process stops.
        names = ['svc-1', 'svc-2', 'svc-3']
        for name in names:
            self.start(name)
        self.wait_converged('the start')
        self.start('SVC-2')
        self.assertEqual(
            service_mod.DUPLICATE,
            self.procs['svc-2'].wait(fleet.CONVERGE_WITHIN),
        )
        del self.procs['svc-2']
        held = self.wait_converged(
            'a second process as svc-2',
            lambda s: (
                'SVC-2' in self.reader.get_ring(self.group).members
                and s.fingerprint
                == self.reader.get_ring(self.group).fingerprint
            ),
        )
        self.assertEqual({'svc-1', 'svc-3', 'SVC-2'}, set(held))
        self.assertTrue(held['SVC-2'])
        with open(self.log('svc-2')) as log:
            lines = log.read().split('\n')
        stopped = float(lines[-2].split()[0])
        self.assertEqual('exit', lines[-2].split()[1])
        with open(self.log('SVC-2')) as log:
            started = float(log.readline().split()[0])
        spans = self.spans([*names, 'SVC-2'])
        # Until the first read the second's record, peers read the
        # member's claims from the second's, and may have taken nodes
        # the first still held; from then on, nothing overlapped.
        for node, a, b, since, until in fleet.overlaps(spans):
            self.assertIn('svc-2', {a, b})
            self.assertLessEqual(until, stopped)
        self.assertLess(stopped - started, 5.0)


class Served:
    """Services against a server the tests start, or CI's."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.url = servers.shared(cls.server, cls.env).url


class PostgreSQLTestCase(Served, Scenario, base.TestCase):
    driver, server, env = 'sql', sqlservers.PostgresServer, 'POSTGRESQL'


class MariaDBTestCase(Served, Scenario, base.TestCase):
    driver, server, env = 'sql', sqlservers.MariaDBServer, 'MYSQL'


class RedisTestCase(Served, Scenario, base.TestCase):
    driver, server, env = 'tooz', servers.RedisServer, 'REDIS'


class EtcdTestCase(Served, Scenario, base.TestCase):
    driver, server, env = 'tooz', servers.EtcdServer, 'ETCD'


class ZooKeeperTestCase(Served, Scenario, base.TestCase):
    """A record that ends with the session that made it."""

    driver, server, env = 'tooz', servers.ZooKeeperServer, 'ZOOKEEPER'
    # Two ticks of ZooKeeperServerMain's 3 s, as the tests and CI run it:
    # it grants no shorter session than that, whatever dead_after asks.
    forgets_after = 6.0

    def test_a_service_back_before_its_session_ended_keeps_its_nodes(self):
        # A crashed service restarted before ZooKeeper ended its session
        # found its record, a node of that session, which then went with
        # it: its peers took its nodes while it still managed them.
        names = ['svc-1', 'svc-2', 'svc-3']
        for name in names:
            self.start(name)
        self.wait_converged('the start')
        self.kill('svc-2')
        crashed = self.ended['svc-2']
        again = os.path.join(self.dir, 'svc-2-again.log')
        # Its heartbeats, which find a record gone, a second apart: its
        # peers read the group five times a second.
        self.start(
            'svc-2',
            '--log',
            again,
            '--heartbeat-interval=1',
            '--settle-after=2',
        )
        self.wait_converged('a restart')
        # ZooKeeper ends a session at most its timeout (at least two of
        # its ticks: 6 s for ZooKeeperServerMain's 3 s, 4 s for Debian's
        # zoo.cfg) and a tick after its last sign of life.
        time.sleep(max(0.0, crashed + 10 - time.monotonic()))
        held = self.wait_converged('the crashed session\'s end')
        self.assertTrue(held['svc-2'])
        self.kill_all()
        spans = {n: fleet.intervals(self.log(n), self.ended[n]) for n in names}
        spans['svc-2'] = fleet.intervals(self.log('svc-2'), crashed)
        spans['svc-2 again'] = fleet.intervals(again, self.ended['svc-2'])
        self.assertEqual([], fleet.overlaps(spans)[:5])
