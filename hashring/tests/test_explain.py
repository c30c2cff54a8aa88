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
from hashring import exception
from hashring import explain
from hashring import manager
from hashring import membership
from hashring import ownership
from hashring import simulation
from hashring.tests import base

KEYS = simulation.keys(30)


class ExplainTestCase(base.TestCase):
    def test_owner_successors_and_partition_are_the_ring_s(self):
        ring = hashring.HashRing({'a': 1, 'b': 2, 'c': 1})
        for e in explain.explain(ring, KEYS):
            self.assertEqual(ring.get_nodes(e.key, replicas=3), e.owners)
            self.assertEqual(ring.get_node(e.key), e.owners[0])
            self.assertEqual(
                hashring.partition_of(e.key, ring.partition_exponent),
                e.partition,
            )
            self.assertEqual(ring.fingerprint, e.fingerprint)
            self.assertEqual(
                {'a': 1, 'b': 2, 'c': 1},
                {m.name: m.weight for m in e.members},
            )
            self.assertIsNone(e.reason)
            self.assertIsNone(e.acknowledged)

    def test_the_rule_that_decides_is_the_filter_s(self):
        ring = hashring.HashRing(['a', 'b', 'c'])
        elsewhere = next(k for k in KEYS if ring.get_node(k) != 'b')
        orphan = next(k for k in KEYS if k != elsewhere)
        nodes = {k: {'instance_id': None} for k in KEYS}
        nodes[elsewhere] = {'instance_id': 'i-1', 'instance_host': 'B'}
        nodes[orphan] = {'instance_id': 'i-2', 'instance_host': 'gone'}
        found = {e.key: e for e in explain.explain(ring, KEYS, nodes=nodes)}
        self.assertEqual('b', found[elsewhere].managed_by)
        self.assertEqual('own instance', found[elsewhere].reason)
        self.assertEqual('b', found[elsewhere].instance_host)
        self.assertEqual('orphan', found[orphan].reason)
        self.assertEqual(ring.get_node(orphan), found[orphan].managed_by)
        plain = next(k for k in KEYS if k not in (elsewhere, orphan))
        self.assertEqual('ring', found[plain].reason)
        self.assertEqual(ring.get_node(plain), found[plain].managed_by)
        # With orphans reported, nobody manages the orphan.
        (reported,) = explain.explain(
            ring, [orphan], nodes=nodes, orphan_policy='report'
        )
        self.assertIsNone(reported.managed_by)
        self.assertEqual('orphan', reported.reason)

    def test_bad_keys_are_refused_by_name(self):
        ring = hashring.HashRing(['a'])
        error = self.assertRaises(
            exception.InvalidArgumentError, explain.explain, ring, 'node-1'
        )
        self.assertIn('keys', str(error))
        self.assertRaises(
            exception.InvalidKeyError, explain.explain, ring, [3]
        )


class ExplainMembershipTestCase(base.TestCase):
    """Against a real membership of services running the protocol."""

    def test_states_and_acknowledgements_come_from_the_membership(self):
        path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.sqlite'
        )
        url = f'sqlite:///{path}'
        filters = {}
        for name in ('c-1', 'c-2', 'c-3'):
            source = membership.load('sql', connection=url)
            self.addCleanup(source.close)
            source.join(name)
            rings = manager.RingManager(source, host=name, reset_interval=0)
            filters[name] = ownership.OwnershipFilter(name, manager=rings)
        nodes = [{'id': k, 'instance_id': None} for k in KEYS]
        for _ in range(3):
            for flt in filters.values():
                flt.filter(nodes, [])
        filters['c-3'].manager.source.drain()
        reader = membership.load('sql', connection=url)
        self.addCleanup(reader.close)
        snapshot = reader.get_members()
        ring = hashring.HashRing(snapshot.placed())
        (e,) = explain.explain(ring, KEYS[:1], snapshot)
        states = {m.name: m.state for m in e.members}
        self.assertEqual({'c-1': 'up', 'c-2': 'up', 'c-3': 'draining'}, states)
        # The services still apply the ring of three: the new ring of two
        # is not acknowledged by its owner yet.
        self.assertIs(False, e.acknowledged)
        applied = {m.applied for m in e.members}
        self.assertEqual(1, len(applied))
        self.assertNotIn(ring.fingerprint, applied)
        old = hashring.HashRing(['c-1', 'c-2', 'c-3'])
        (before,) = explain.explain(old, KEYS[:1], snapshot)
        self.assertIs(True, before.acknowledged)
