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

"""A manager's rings of many groups, read at once."""

from hashring import exception
from hashring import manager
from hashring.membership import base as membership_base
from hashring.tests import base
from hashring.tests import test_manager


class GroupsSource(test_manager.FakeSource):
    """A FakeSource that reads every group in one round trip."""

    def __init__(self, **overrides):
        super().__init__(**overrides)
        self.round_trips = 0

    def _read_groups(self, groups):
        self.round_trips += 1
        if self.down:
            raise exception.MembershipUnavailable(self.backend, 'switched off')
        names = sorted(self.data) if groups is None else groups
        return {
            g: [
                membership_base.Record(n, s, 1, {}, None)
                for n, s in self.data.get(g, {}).items()
            ]
            for g in names
        }, membership_base.utcnow()


class GetRingsTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.source = GroupsSource()
        self.source.set('g1:ipmi', a='up', b='up')
        self.source.set('g1:redfish', a='up')
        self.source.set('g2:ipmi', c='up', d='draining')
        self.source.set('empty', d='down')
        self.clock = test_manager.Clock()
        self.mgr = manager.RingManager(
            self.source, reset_interval=15, max_stale=60, clock=self.clock
        )

    def test_one_read_many_rings(self):
        rings = self.mgr.get_rings()
        self.assertEqual(1, self.source.round_trips)
        self.assertEqual(['g1:ipmi', 'g1:redfish', 'g2:ipmi'], sorted(rings))
        self.assertEqual({'a', 'b'}, set(rings['g1:ipmi'].members))
        self.assertEqual({'c'}, set(rings['g2:ipmi'].members))
        # Served from the cache, ring by ring and all at once.
        self.assertIs(rings['g1:redfish'], self.mgr.get_ring('g1:redfish'))
        self.assertEqual(rings, self.mgr.get_rings())
        self.assertEqual(1, self.source.round_trips)
        self.assertEqual(0, self.source.reads)
        self.assertRaises(exception.NoMembersError, self.mgr.get_ring, 'empty')

    def test_an_empty_read_is_not_cached_for_ever(self):
        source = GroupsSource()
        mgr = manager.RingManager(source, reset_interval=0)
        self.assertEqual({}, mgr.get_rings())
        source.set('g', a='up')
        self.assertEqual(['g'], list(mgr.get_rings()))
        self.assertEqual(2, source.round_trips)
        # And one that found groups is as fresh as its read.
        self.clock.now += 1
        self.assertEqual(
            ['g1:ipmi', 'g1:redfish', 'g2:ipmi'], sorted(self.mgr.get_rings())
        )
        self.source.set('g3:ipmi', e='up')
        self.assertEqual(3, len(self.mgr.get_rings()))
        self.clock.now += 15
        self.assertEqual(4, len(self.mgr.get_rings()))

    def test_named_groups_and_expiry(self):
        rings = self.mgr.get_rings(['g1:ipmi', 'g2:ipmi', 'g2:ipmi'])
        self.assertEqual(['g1:ipmi', 'g2:ipmi'], sorted(rings))
        self.source.set('g2:ipmi', c='up', e='up')
        self.clock.now += 15
        again = self.mgr.get_rings(['g1:ipmi', 'g2:ipmi'])
        self.assertEqual(2, self.source.round_trips)
        self.assertIs(rings['g1:ipmi'], again['g1:ipmi'])
        self.assertEqual({'c', 'e'}, set(again['g2:ipmi'].members))
        self.assertEqual(2, again['g2:ipmi'].generation)

    def test_a_single_group_name_is_refused_not_spelled_out(self):
        # 'g1:ipmi' read as the groups 'g', '1', ':'... returned no ring.
        for groups in ('g1:ipmi', b'g1:ipmi'):
            err = self.assertRaises(
                exception.InvalidArgumentError, self.mgr.get_rings, groups
            )
            self.assertIn('groups must be a collection', str(err))
        err = self.assertRaises(
            exception.InvalidArgumentError, self.mgr.get_rings, [['g1']]
        )
        self.assertIn("Invalid group name ['g1']", str(err))
        # A list for one group raised TypeError (unhashable) from the cache.
        for call in (
            self.mgr.get_ring,
            self.mgr.refresh,
            self.mgr.alive,
            self.mgr.stats,
            self.mgr.convergence,
        ):
            err = self.assertRaises(
                exception.InvalidArgumentError, call, ['g1']
            )
            self.assertIn("Invalid group name ['g1']", str(err))
        self.assertEqual(0, self.source.round_trips)

    def test_outage_serves_the_last_rings(self):
        first = self.mgr.get_rings()
        self.source.down = True
        self.clock.now += 30
        with self.assertLogs('hashring.manager', 'WARNING'):
            self.assertEqual(first, self.mgr.get_rings())
        self.clock.now += 60
        self.assertRaises(exception.RingUnavailable, self.mgr.get_rings)

    def test_an_outage_costs_one_read_not_one_per_group(self):
        # Each group's refresh waited read_timeout of its own, under the
        # manager's lock: 200 rings (Ironic's shape) waited 200 of them.
        first = self.mgr.get_rings()
        groups = sorted(first)
        self.source.down = True
        self.clock.now += 20  # every ring due a refresh
        trips = self.source.round_trips
        with self.assertLogs('hashring.manager', 'WARNING'):
            for group in groups:
                self.assertIs(first[group], self.mgr.get_ring(group))
        self.assertEqual(trips + 1, self.source.round_trips)
        for group in groups:
            self.assertEqual(1, self.mgr.stats(group)['outages'])
        # An explicit refresh still tries the backend.
        with self.assertLogs('hashring.manager', 'WARNING'):
            self.mgr.refresh(groups[0])
        self.assertEqual(trips + 2, self.source.round_trips)
        # Back: a read that works lets every group read again when due.
        self.source.down = False
        self.clock.now += 20
        for group in groups:
            self.mgr.get_ring(group)
        self.assertEqual(trips + 2 + len(groups), self.source.round_trips)
        for group in groups:
            self.assertEqual(0.0, self.mgr.stats(group)['stale_seconds'])

    def test_a_failure_older_than_reset_interval_is_tried_again(self):
        self.mgr.get_rings()
        self.source.down = True
        self.clock.now += 20
        with self.assertLogs('hashring.manager', 'WARNING'):
            self.mgr.get_ring('g1:ipmi')
        self.clock.now += 16  # past reset_interval (15) since the failure
        self.source.down = False
        trips = self.source.round_trips
        self.mgr.get_ring('g2:ipmi')
        self.assertEqual(trips + 1, self.source.round_trips)
        self.assertEqual(0.0, self.mgr.stats('g2:ipmi')['stale_seconds'])

    def test_outage_before_any_read(self):
        self.source.down = True
        err = self.assertRaises(exception.RingUnavailable, self.mgr.get_rings)
        self.assertIn('switched off', str(err))
        self.assertNotIsInstance(err, exception.NoMembersError)

    def test_reset(self):
        first = self.mgr.get_rings()
        self.mgr.reset()
        again = self.mgr.get_rings()
        self.assertEqual(2, self.source.round_trips)
        # Same members: a new ring object, but the same placement.
        self.assertEqual(
            first['g1:ipmi'].fingerprint, again['g1:ipmi'].fingerprint
        )

    def test_a_driver_that_cannot_list_groups(self):
        mgr = manager.RingManager(test_manager.FakeSource())
        err = self.assertRaises(exception.InvalidArgumentError, mgr.get_rings)
        self.assertIn('name the groups', str(err))
