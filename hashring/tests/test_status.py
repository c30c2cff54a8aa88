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

import os

import fixtures

import hashring
from hashring import balance
from hashring import manager
from hashring import membership
from hashring import ownership
from hashring import simulation
from hashring import status
from hashring.tests import base

KEYS = simulation.keys(40)


class Services:
    """Services running the protocol over one SQLite membership."""

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.url = f'sqlite:///{os.path.join(tmp, "members.sqlite")}'
        self.filters = {}

    def start(self, name, group='default'):
        source = membership.load('sql', connection=self.url, group=group)
        self.addCleanup(source.close)
        source.join(name)
        rings = manager.RingManager(source, host=name, reset_interval=0)
        self.filters[name] = ownership.OwnershipFilter(name, manager=rings)

    def rounds(self, count=3):
        nodes = [{'id': k, 'instance_id': None} for k in KEYS]
        for _ in range(count):
            for flt in self.filters.values():
                flt.filter(nodes, [])

    def snapshot(self, group='default'):
        reader = membership.load('sql', connection=self.url)
        self.addCleanup(reader.close)
        return reader.get_members(group)


class StatusTestCase(Services, base.TestCase):
    def test_a_converged_group(self):
        for name in ('c-1', 'c-2', 'c-3'):
            self.start(name)
        self.rounds()
        found = status.group_status(self.snapshot(), keys=KEYS)
        ring = hashring.HashRing(['c-1', 'c-2', 'c-3'])
        self.assertEqual(ring.fingerprint, found.fingerprint)
        self.assertEqual(ring.fingerprint, found.converged)
        self.assertIsNotNone(found.since)
        self.assertEqual({'up': 3}, found.states)
        self.assertEqual(
            {ring.fingerprint}, {m.applied for m in found.members}
        )
        loads = simulation.balance(dict(ring.members), KEYS, 5)
        self.assertEqual(round(loads.peak_to_mean, 4), found.peak_to_mean)
        self.assertEqual(40, found.balance_keys)
        self.assertEqual([], found.warnings)
        exact = status.group_status(self.snapshot())
        self.assertEqual(
            round(balance.peak_to_mean(ring), 4), exact.peak_to_mean
        )
        self.assertEqual(0, exact.balance_keys)
        served = status.group_status(
            self.snapshot(), stats={'stale_seconds': 42.0}
        )
        self.assertIn(
            'served for 42s through a membership outage', served.warnings[0]
        )

    def test_a_moving_group_and_its_warnings(self):
        for name in ('c-1', 'c-2', 'C-2:8089'):
            self.start(name)
        self.rounds()
        self.filters['c-1'].manager.source.drain()
        self.filters['c-1'].filter([{'id': 'k', 'instance_id': None}], [])
        found = status.group_status(
            self.snapshot(), keys=KEYS, expected_members=1
        )
        self.assertEqual({'up': 2, 'draining': 1}, found.states)
        self.assertIsNone(found.converged)
        self.assertIsNone(found.since)
        text = ' '.join(found.warnings)
        self.assertIn('do not apply one ring', text)
        self.assertIn("'C-2:8089'", text)  # one host, with and without port
        self.assertIn('more than the 1 expected', text)
