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

import itertools
import random

from hashring import exception
from hashring import shards
from hashring.tests import base


def peak(counts, weights, count):
    mean = count / sum(weights.values())
    return max(counts.get(s, 0) / w for s, w in weights.items()) / mean


def optimum(nodes, weights, tolerance):
    """The best balance and the fewest moves, by trying every plan."""
    names = sorted(weights)
    count = len(nodes)
    best = min(
        peak(
            {s: a.count(s) for s in names},
            weights,
            count,
        )
        for a in itertools.product(names, repeat=count)
    )
    fewest = None
    for a in itertools.product(names, repeat=count):
        if (
            peak({s: a.count(s) for s in names}, weights, count)
            > best * (1 + tolerance) + 1e-9
        ):
            continue
        if any(
            n.get('instance_id')
            and n.get('shard') in weights
            and s != n['shard']
            for n, s in zip(nodes, a)
        ):
            continue  # a node with an instance stays in a kept shard
        moved = sum(1 for n, s in zip(nodes, a) if n.get('shard') != s)
        fewest = moved if fewest is None else min(fewest, moved)
    return best, fewest


class PlanTestCase(base.TestCase):
    def test_balance_and_moves_are_optimal_on_small_cases(self):
        rng = random.Random(11)
        for case in range(150):
            weights = {
                f's{i}': rng.randint(1, 3) for i in range(rng.randint(1, 3))
            }
            old = [*weights, 'gone', None]
            nodes = [
                {
                    'id': f'n{i}',
                    'shard': rng.choice(old),
                    'instance_id': 'i' if rng.random() < 0.2 else None,
                }
                for i in range(rng.randint(1, 7))
            ]
            tolerance = rng.choice([0.0, 0.01, 0.2])
            with self.subTest(case=case, nodes=nodes, weights=weights):
                best, fewest = optimum(nodes, weights, tolerance)
                found = shards.plan(nodes, weights, tolerance=tolerance)
                self.assertAlmostEqual(best, found.ideal)
                if fewest is None:
                    # Instances pin more than balance allows: it says so.
                    self.assertTrue(found.warnings)
                    continue
                self.assertLessEqual(
                    found.peak_to_mean, best * (1 + tolerance) + 1e-9
                )
                self.assertEqual(fewest, len(found.moves))
                self.assertEqual(len(nodes), sum(found.after.values()))

    def test_deterministic_whatever_the_order(self):
        nodes = [{'id': f'node-{i}', 'shard': f's{i % 3}'} for i in range(500)]
        weights = {'s0': 1, 's1': 1, 's3': 2, 's4': 1}
        first = shards.plan(nodes, weights)
        shuffled = list(nodes)
        random.Random(2).shuffle(shuffled)
        again = shards.plan(shuffled, dict(reversed(weights.items())))
        self.assertEqual(first.assignment, again.assignment)
        self.assertEqual(
            sorted(first.moves, key=lambda m: m.node),
            sorted(again.moves, key=lambda m: m.node),
        )

    def test_instances_stay_unless_told(self):
        nodes = [
            {'id': f'n{i}', 'shard': 'a', 'instance_id': f'i{i}'}
            for i in range(10)
        ]
        kept = shards.plan(nodes, {'a': 1, 'b': 1})
        self.assertEqual([], kept.moves)
        self.assertIn(
            'shard a keeps 10 nodes with instances', kept.warnings[0]
        )
        moved = shards.plan(nodes, {'a': 1, 'b': 1}, move_instances=True)
        self.assertEqual({'a': 5, 'b': 5}, moved.after)
        self.assertTrue(all(m.instance for m in moved.moves))
        lines = shards.commands(moved, {'b': 'compute-b'})
        self.assertEqual(5, sum(1 for x in lines if x.startswith('baremetal')))
        self.assertEqual(
            5,
            sum(
                1
                for x in lines
                if x.startswith('nova-manage db ironic_compute_node_move')
                and x.endswith('--destination-host compute-b')
            ),
        )
        self.assertTrue(any('forced down' in x for x in lines))

    def test_bad_input_is_refused_by_name(self):
        for nodes, weights, bad in (
            ([{'id': 'a'}], {}, 'needs shards'),
            ([{'id': 'a'}], {'s': 0}, '0'),
            ([{'uuid': 'a'}], {'s': 1}, "'uuid'"),
            ([{'id': 'a'}, {'id': 'a'}], {'s': 1}, "'a' is listed twice"),
            ('nodes', {'s': 1}, 'nodes'),
            # Each raised AttributeError from inside.
            ([{'id': 'a'}], True, 'shards must be a mapping, not bool True'),
            ([{'id': 'a'}], ['s'], "shards must be a mapping, not list ['s']"),
        ):
            with self.subTest(bad=bad):
                error = self.assertRaises(
                    exception.InvalidArgumentError,
                    shards.plan,
                    nodes,
                    weights,
                )
                self.assertIn(bad, str(error))
        made = shards.plan([{'id': 'a', 'instance_id': 'i'}], {'s': 1})
        for hosts in ('s=h', ['s']):
            error = self.assertRaises(
                exception.InvalidArgumentError, shards.commands, made, hosts
            )
            self.assertIn('compute_hosts must be a mapping', str(error))
