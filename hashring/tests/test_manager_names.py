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

"""A manager's rings place members under their registered names."""

import os
import uuid

import fixtures
from tooz import hashring as tooz_hashring

from hashring import manager
from hashring import membership
from hashring import ownership
from hashring.tests import base


NAMES = [
    'Conductor-1.example.org',
    'conductor-2.example.org',
    'c\u00e9-3.example.org:8089',
    '\u00c9COLE-4',
    'conductor-5:8089',
]


class RegisteredNamesTestCase(base.TestCase):
    """Rings place members under their names, exactly as tooz does."""

    def setUp(self):
        super().setUp()
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'm')
        self.sources = []
        for name in NAMES:
            source = membership.load(
                'file', membership_file=path, heartbeat_interval=5
            )
            self.addCleanup(source.close)
            source.join(name)
            self.sources.append(source)
        self.reader = membership.load('file', membership_file=path)

    def test_ring_is_toozs_ring_of_the_names(self):
        keys = [str(uuid.uuid4()).encode() for _ in range(10000)]
        for exponent in (0, 5, 7):
            with self.subTest(exponent=exponent):
                ours = manager.RingManager(
                    self.reader, partition_exponent=exponent
                ).get_ring()
                theirs = tooz_hashring.HashRing(NAMES, 2**exponent)
                self.assertEqual(set(NAMES), set(ours.members))
                self.assertEqual(
                    [next(iter(theirs.get_nodes(k))) for k in keys],
                    ours.map_keys(keys),
                )
                owned = [k for k in keys if NAMES[0] in ours.get_nodes(k)]
                self.assertGreater(len(owned), 1000)

    def test_ids_are_canonical_names_exact(self):
        snapshot = self.reader.get_members()
        self.assertEqual(
            sorted(membership.canonical_id(n) for n in NAMES),
            list(snapshot.members),
        )
        self.assertEqual({n: 1 for n in NAMES}, snapshot.placed())
        self.assertEqual('conductor-1.example.org', self.sources[0].member_id)
        self.assertEqual(NAMES[0], self.sources[0].member_name)

    def test_host_in_any_case_finds_its_nodes(self):
        mgr = manager.RingManager(self.reader, host='CONDUCTOR-1.example.org')
        ring = mgr.get_ring()
        nodes = [
            {'id': str(uuid.uuid4()), 'instance_id': None} for _ in range(3000)
        ]
        result = ownership.OwnershipFilter(
            'conductor-1.EXAMPLE.org', manager=mgr
        ).filter(nodes, [])
        theirs = tooz_hashring.HashRing(NAMES)
        expected = [
            n
            for n in nodes
            if theirs.get_nodes(n['id'].encode()) == {NAMES[0]}
        ]
        self.assertEqual(expected, result.owned)
        self.assertGreater(len(expected), 300)
        # The host is listed (in another case): it is not added twice.
        self.assertEqual(len(NAMES), len(ring))

    def test_unlisted_host_is_placed_under_its_name(self):
        ring = manager.RingManager(self.reader, host='New-Host:1').get_ring()
        self.assertIn('New-Host:1', ring.members)
        self.assertNotIn('new-host:1', ring.members)

    def test_changes_report_the_host_under_its_name(self):
        mgr = manager.RingManager(
            self.reader, host='conductor-1.example.org', reset_interval=0
        )
        keys = [f'k{i}' for i in range(2000)]
        changes = []
        mgr.subscribe(changes.append, keys)
        mgr.get_ring()
        self.sources[1].leave()
        mgr.get_ring()
        self.assertEqual(2, len(changes))
        first, second = changes
        self.assertGreater(len(first.gained), 200)
        self.assertTrue(second.gained)
        self.assertTrue(
            all(v == 'conductor-2.example.org' for v in second.gained.values())
        )

    def test_leave_and_drain_by_the_exact_name(self):
        self.sources[0].drain()
        self.assertNotIn(NAMES[0], self.reader.get_members().placed())
        self.sources[0].undrain()
        self.sources[0].leave()
        self.assertNotIn(
            'conductor-1.example.org', self.reader.get_members().members
        )
        self.assertEqual(len(NAMES) - 1, len(self.reader.get_members()))
