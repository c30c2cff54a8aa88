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

from concurrent import futures
import random

from hashring import decisions
from hashring import ownership
from hashring import ring
from hashring.tests import base
from hashring.tests import test_ownership

Reason = decisions.Reason
HOSTS = test_ownership.HOSTS
node_ids = test_ownership.node_ids


class RingRuleTestCase(base.TestCase):
    def test_the_batch_and_one_by_one_agree(self):
        ids = node_ids(400)
        owners = ring.HashRing(HOSTS).map_keys(ids)
        rng = random.Random(2)
        # Held back: keys the ring gives here, as the filter passes them.
        given = [i for i, o in zip(ids, owners) if o == 'compute-1']
        for held_back, over in (
            (frozenset(), frozenset()),
            (set(rng.sample(given, 60)), frozenset()),
            (frozenset(), frozenset(rng.sample(ids, 150))),
            (set(rng.sample(given, 60)), frozenset(rng.sample(ids, 150))),
        ):
            rule = decisions.RingRule({'compute-1'}, held_back, over)
            mapped = [o == 'compute-1' for o in owners]
            one_by_one = [rule.decide(i, o) for i, o in zip(ids, owners)]
            self.assertEqual(
                [d.owned for d in one_by_one], rule.owned_all(ids, mapped)
            )
            reasons = {d.reason for d in one_by_one}
            self.assertIn(Reason.RING, reasons)
            if held_back:
                self.assertIn(Reason.HANDOFF, reasons)
                self.assertFalse(
                    any(d.owned for d in one_by_one if d.node_id in held_back)
                )
            if over:
                self.assertIn(Reason.HANDING_OVER, reasons)


class PlaceTestCase(base.TestCase):
    def test_values_go_to_their_places_in_order(self):
        skipped = [True, False, False, True, False, True]
        self.assertEqual(
            [None, 'a', 'b', None, 'c', None],
            decisions.place(skipped, ['a', 'b', 'c']),
        )
        self.assertEqual(
            [1, 'a', 'b', 2, 'c', 3],
            decisions.place(skipped, iter('abc'), iter([1, 2, 3])),
        )
        self.assertEqual([], decisions.place([], []))

    def test_owners_placed_when_read_are_the_rings(self):
        ids = node_ids(200)
        ring_ = ring.HashRing(HOSTS)
        skipped = [n % 3 == 0 for n in range(len(ids))]
        found = ring_.map_keys([i for i, s in zip(ids, skipped) if not s])
        instances = [f'i{n}' if s else None for n, s in enumerate(skipped)]
        rule = decisions.RingRule({'compute-1'}, (), frozenset())
        made = decisions.Decisions(
            ids,
            found,
            instances,
            [False] * len(ids),
            {},
            {},
            rule,
            decisions.Mine({'i3'}, 'compute-1', ring_),
            skipped=skipped,
        )
        # Read from several threads at once: each places them, or finds
        # them placed.
        with futures.ThreadPoolExecutor(4) as pool:
            read = list(
                pool.map(lambda _: [made[i].ring_owner for i in ids], range(4))
            )
        for owners in read:
            self.assertEqual(ring_.map_keys(ids), owners)
        self.assertEqual((True, Reason.OWN_INSTANCE), made[ids[3]][1:3])
        self.assertEqual(Reason.INSTANCE_ELSEWHERE, made[ids[6]].reason)


class FilterDecisionsTestCase(base.TestCase):
    """The filter's answers against the three rules written plainly."""

    def reference(self, nodes, mine, alive, instance_host, policy, ring_):
        host = 'compute-1'
        decisions = {}
        for node in nodes:
            nid, instance = node['id'], node['instance_id']
            owner = ring_.get_node(nid)
            if instance is None:
                decisions[nid] = (
                    owner == host,
                    Reason.RING if owner == host else Reason.RING_ELSEWHERE,
                )
            elif instance in mine:
                decisions[nid] = (True, Reason.OWN_INSTANCE)
            elif instance_host is None or instance_host(instance) in alive:
                keep = instance_host is not None and (
                    instance_host(instance) == host
                )
                decisions[nid] = (
                    keep,
                    Reason.OWN_INSTANCE if keep else Reason.INSTANCE_ELSEWHERE,
                )
            else:
                decisions[nid] = (
                    policy == 'adopt' and owner == host,
                    Reason.ORPHAN,
                )
        return decisions

    def test_every_decision_is_the_rules_answer(self):
        rng = random.Random(5)
        ring_ = ring.HashRing(HOSTS)
        ids = node_ids(300)
        hosts = [*HOSTS, 'compute-9', None]
        for policy, lookup in (
            ('adopt', True),
            ('report', True),
            ('adopt', False),  # no instance_host: instances decided in C
        ):
            # Some ids twice: the last place decides.
            chosen = [rng.choice(ids) for _ in range(400)]
            nodes = [
                {
                    'id': nid,
                    'instance_id': rng.choice([None, f'i{n % 40}']),
                }
                for n, nid in enumerate(chosen)
            ]
            placed = {f'i{n}': rng.choice(hosts) for n in range(40)}
            mine = {i for i, h in placed.items() if h == 'compute-1'}
            mine = set(rng.sample(sorted(mine), len(mine) // 2))
            instance_host = placed.get if lookup else None
            flt = ownership.OwnershipFilter(
                'compute-1',
                ring=ring_,
                instance_host=instance_host,
                orphan_policy=policy,
            )
            # None among the instances is no instance: it keeps nothing.
            result = flt.filter(nodes, [*mine, None])
            expected = self.reference(
                nodes, mine, set(HOSTS), instance_host, policy, ring_
            )
            self.assertEqual(list(expected), list(result.decisions))
            self.assertEqual(len(expected), len(result.decisions))
            for nid, (keep, reason) in expected.items():
                decision = result.decisions[nid]
                self.assertEqual((keep, reason), decision[1:3], nid)
                self.assertEqual(ring_.get_node(nid), decision.ring_owner)
            # Each place is decided: the last place of an id as its
            # decision says.
            last = {n['id']: n for n in nodes}
            self.assertEqual(
                [
                    n
                    for n in nodes
                    if n is last[n['id']] and expected[n['id']][0]
                ],
                [n for n in result.owned if n is last[n['id']]],
            )
            self.assertEqual(
                sorted(n for n, (keep, _) in expected.items() if keep),
                sorted(result.tokens),
            )
            self.assertEqual(
                sum(r == Reason.ORPHAN for _, r in expected.values()),
                result.counts()[Reason.ORPHAN],
            )
            self.assertRaises(KeyError, result.decisions.__getitem__, 'x')
