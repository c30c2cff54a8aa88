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

"""The examples under examples/, driven as services would run them.

Several services share one membership, SQLite always and PostgreSQL too
(required in CI); services join, leave, crash and come back, and instances
are created and deleted while a service is down.  After every service has
refreshed, each node is managed by exactly one live service, a node whose
instance has a live service stays with it, and every orphan is reported.
"""

import os
import threading
import time
import uuid

import fixtures

from hashring.tests import base
from hashring.tests import invariants
from hashring.tests.membership import servers
from hashring.tests.membership import sqlservers

EXAMPLES = base.ROOT / 'examples'


def load_example(name):
    return base.load_script(EXAMPLES / f'{name}.py', name)


nova = load_example('nova_compute')
ironic = load_example('ironic_conductor')


class NovaScenario:
    """Mixed into a TestCase that sets self.connection."""

    driver = 'sql'

    def setUp(self):
        super().setUp()
        self.group = f'nova-{uuid.uuid4().hex[:8]}'
        self.cloud = nova.Cloud(400)
        self.services = {}

    def service(self, host):
        service = nova.ComputeService(
            host,
            self.cloud,
            self.connection,
            group=self.group,
            driver=self.driver,
            **nova.TIMING,
        )
        self.addCleanup(service.source.close)
        self.services[host] = service
        return service

    def live(self):
        return [s for s in self.services.values() if s.source.member_id]

    def rounds(self):
        """Let every live service refresh until each node has one owner.

        With the handoff protocol a node changes hands over a few rounds
        (its new owner announces, the old one lets go, the new one
        takes); no round may give a node to two services.  Services that
        start together take their nodes once settled (``settle_after``):
        the rounds go on, a moment apart, for ten times dead_after at most.
        """
        deadline = time.monotonic() + 10 * nova.TIMING['dead_after']
        while True:
            owned = {}
            for service in self.live():
                for node_id in service.get_available_nodes():
                    owned.setdefault(node_id, []).append(service.host)
            twice = {n: o for n, o in owned.items() if len(o) > 1}
            self.assertEqual({}, twice)
            agreed = self.live()[0].rings.convergence(self.group).fingerprint
            if len(owned) == len(self.cloud.nodes) and agreed is not None:
                self.assertEqual(
                    {agreed}, {s.last.fingerprint for s in self.live()}
                )
                return owned
            if time.monotonic() > deadline:
                return owned
            time.sleep(nova.TIMING['heartbeat_interval'] / 4)

    def check(self):
        """Assert the invariants once every live service has refreshed."""
        live = self.live()
        alive = {s.host for s in live}
        owned = self.rounds()
        orphans = set()
        for node in self.cloud.nodes:
            owners = owned.get(node['uuid'], [])
            self.assertEqual(1, len(owners), (node, owners))
            instance = node['instance_uuid']
            host = self.cloud.host_of(instance) if instance else None
            if host in alive:
                self.assertEqual([host], owners, node)
            elif instance:
                orphans.add(node['uuid'])
        for service in live:
            self.assertEqual(orphans, set(service.last.orphans))
        # All services act on one ring.
        self.assertEqual(1, len({s.last.fingerprint for s in live}))
        return owned

    def wait_dead(self):
        time.sleep(nova.TIMING['dead_after'] * 1.6)

    def test_lifecycle(self):
        for i in range(1, 5):
            self.service(f'compute-{i}').start()
        owned = self.check()
        # Each service boots instances on some of its nodes.
        for node in self.cloud.nodes[:120:3]:
            self.cloud.boot(node, owned[node['uuid']][0])
        self.check()

        self.service('compute-5').start()  # a join
        self.check()

        leaver = self.services['compute-2']  # a graceful leave:
        leaver.source.drain()  # off the ring, still managing ...
        self.check()  # ... until its peers took its nodes
        self.assertTrue(leaver.stop())  # they acknowledged: it leaves
        self.check()

        crashed = self.services['compute-3']
        crashed.crash()
        self.wait_dead()
        owned = self.check()
        lost = [
            n
            for n in self.cloud.nodes
            if n['instance_uuid']
            and self.cloud.host_of(n['instance_uuid']) == 'compute-3'
        ]
        self.assertTrue(lost)
        # Delete one of its instances while it is down, boot another
        # elsewhere.
        gone = lost[0]['instance_uuid']
        self.cloud.delete_instance(gone)
        free = next(n for n in self.cloud.nodes if not n['instance_uuid'])
        self.cloud.boot(free, owned[free['uuid']][0])
        self.check()

        # It comes back under the same name: its instances return to it,
        # and the node of the deleted one stays an orphan, still reported.
        back = self.service('compute-3')
        back.start()
        owned = self.check()
        for node in lost[1:]:
            self.assertEqual(['compute-3'], owned[node['uuid']])
        self.assertIn(lost[0]['uuid'], back.last.orphans)

    def test_lookups_while_the_membership_changes(self):
        for i in range(1, 4):
            self.service(f'compute-{i}').start()
        readers = [self.services['compute-1'], self.services['compute-2']]
        errors = []
        stop = threading.Event()

        def look(service):
            try:
                while not stop.is_set():
                    ring = service.rings.get_ring(self.group)
                    invariants.check(ring)
                    result = service.filter.filter(self.cloud.list_nodes(), [])
                    if result.ring_generation < ring.generation:
                        errors.append('decision on an older ring')
            except Exception as exc:
                errors.append(repr(exc))

        threads = [
            threading.Thread(target=look, args=(s,))
            for s in readers
            for _ in range(3)
        ]
        for t in threads:
            t.start()
        for i in range(4, 8):
            extra = self.service(f'compute-{i}')
            extra.start()
            time.sleep(0.1)
            extra.stop()
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual([], errors)
        self.check()


class NovaSQLiteTestCase(NovaScenario, base.TestCase):
    def setUp(self):
        path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.sqlite'
        )
        self.connection = f'sqlite:///{path}'
        super().setUp()


class NovaPostgreSQLTestCase(NovaScenario, base.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connection = servers.shared(
            sqlservers.PostgresServer, 'POSTGRESQL'
        ).url


class NovaMariaDBTestCase(NovaScenario, base.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connection = servers.shared(sqlservers.MariaDBServer, 'MYSQL').url


class NovaZooKeeperTestCase(NovaScenario, base.TestCase):
    driver = 'tooz'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.connection = servers.shared(
            servers.ZooKeeperServer, 'ZOOKEEPER'
        ).url


class IronicTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'conductors.sqlite'
        )
        self.connection = f'sqlite:///{path}'

    def conductor(self, host, group, hardware_types):
        conductor = ironic.Conductor(
            host, group, hardware_types, self.connection
        )
        self.addCleanup(conductor.source.close)
        conductor.start()
        return conductor

    def test_rings_per_group_and_hardware_type(self):
        conductors = [
            self.conductor('cond-1', '', ['ipmi', 'redfish']),
            self.conductor('cond-2', '', ['ipmi']),
            self.conductor('cond-3', 'rack-a', ['ipmi', 'redfish']),
            self.conductor('cond-4', 'rack-a', ['redfish']),
        ]
        nodes = ironic.make_nodes(90)
        managed = {}
        for conductor in conductors:
            for node in conductor.iter_nodes(nodes):
                managed.setdefault(node['uuid'], []).append(conductor.host)
        for node in nodes:
            owners = managed[node['uuid']]
            self.assertEqual(1, len(owners), node)
            # Every conductor routes the node to the one that manages it.
            for conductor in conductors:
                self.assertEqual(
                    f'{ironic.TOPIC}.{owners[0]}',
                    conductor.get_topic_for(node),
                )
            hosts = {
                ('', 'ipmi'): {'cond-1', 'cond-2'},
                ('', 'redfish'): {'cond-1'},
                ('rack-a', 'ipmi'): {'cond-3'},
                ('rack-a', 'redfish'): {'cond-3', 'cond-4'},
            }[(node['conductor_group'], node['driver'])]
            self.assertIn(owners[0], hosts)

    def test_a_leaving_conductor_hands_its_nodes_over(self):
        one = self.conductor('cond-1', '', ['ipmi'])
        two = self.conductor('cond-2', '', ['ipmi'])
        nodes = [
            n for n in ironic.make_nodes(90) if n['conductor_group'] == ''
        ]
        nodes = [n for n in nodes if n['driver'] == 'ipmi']
        before = {n['uuid'] for n in two.iter_nodes(nodes)}
        self.assertTrue(before)
        two.stop()
        self.assertEqual(
            {n['uuid'] for n in nodes},
            {n['uuid'] for n in one.iter_nodes(nodes)},
        )
