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

import random

from hashring import _rules
from hashring.membership import identity
from hashring import ring
from hashring.tests import base
from hashring.tests import test_handoff

HOSTS = ['Compute-1', 'compute-2', 'compute-3']


class RulesTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.ring = ring.HashRing(HOSTS)
        self.id_of = {h: identity.canonical_of(h) for h in HOSTS}
        rng = random.Random(7)
        self.ids = [f'node-{i}' for i in range(300)]
        self.instances = [
            rng.choice([None, None, 'mine-1', 'mine-2', 'other'])
            for _ in self.ids
        ]
        self.owners = self.ring.map_keys(self.ids)

    def test_decided_apart_applies_the_rules_node_by_node(self):
        has = [i is not None for i in self.instances]
        rule, keep, found = _rules.decided_apart(
            self.ring,
            self.id_of,
            'compute-1',
            self.ids,
            self.instances,
            has,
            {'mine-1', 'mine-2'},
        )
        self.assertEqual(frozenset({'Compute-1'}), rule.mine)
        # Only the nodes without an instance were looked up.
        self.assertEqual([o for o, h in zip(self.owners, has) if not h], found)
        expected = [
            inst in ('mine-1', 'mine-2')
            if inst is not None
            else owner == 'Compute-1'
            for inst, owner in zip(self.instances, self.owners)
        ]
        self.assertEqual(expected, keep)
        self.assertIn(True, keep)
        self.assertIn(False, keep)

    def test_by_ring_without_a_protocol_keeps_what_the_ring_gives(self):
        alive = frozenset({'compute-9'})
        rule, keep, now = _rules.by_ring(
            self.ring,
            self.id_of,
            'compute-2',
            None,
            self.owners,
            self.ids,
            None,
            alive,
        )
        self.assertEqual([o == 'compute-2' for o in self.owners], keep)
        self.assertEqual(frozenset(), rule.held_back)
        self.assertIs(alive, now)


class ByRingWithAProtocolTestCase(test_handoff.OverASource):
    def test_a_newcomer_holds_back_what_a_peer_still_holds(self):
        self.rounds(3)
        newcomer = test_handoff.Live(self, 's-3', self.path)
        ring_ = newcomer.manager.get_ring()
        ids = [n['id'] for n in self.nodes]
        owners = ring_.map_keys(ids)
        rule, keep, alive = _rules.by_ring(
            ring_,
            {m: identity.canonical_of(m) for m in ring_.members},
            's-3',
            None,
            owners,
            ids,
            newcomer.protocol,
            newcomer.manager.alive(),
        )
        given = {i for i, o in zip(ids, owners) if o == 's-3'}
        self.assertTrue(given)
        # The peers still hold them under their rings: none is kept yet.
        self.assertEqual(given, set(rule.held_back))
        self.assertEqual([False] * len(ids), keep)
        self.assertEqual({'s-1', 's-2', 's-3'}, set(alive))
