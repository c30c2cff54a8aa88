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

import hashring
from hashring import simulation
from hashring.tests import base


class BalanceTestCase(base.TestCase):
    def test_balance_and_recommend(self):
        members = {'a': 1, 'b': 1, 'c': 2}
        keys = simulation.keys(4000)
        result = simulation.balance(members, keys, 6)
        self.assertEqual(4000, sum(result.loads.values()))
        owners = hashring.HashRing(members, 6).map_keys(keys)
        self.assertEqual(owners.count('c'), result.loads['c'])
        found = simulation.recommend(members, keys, 2.0)
        self.assertEqual(0, found.exponent)
        self.assertIsNone(simulation.recommend(members, keys, 0.5))

    def test_moved(self):
        old = hashring.HashRing(['a', 'b'])
        new = hashring.HashRing(['a', 'b', 'c'])
        keys = simulation.keys(1000)
        counts = simulation.moved(old, new, keys)
        self.assertEqual({'c'}, {to for _, to in counts})
        self.assertEqual(
            len(hashring.changes(old, new, keys)), sum(counts.values())
        )

    def test_keys_are_reproducible_and_bounded(self):
        self.assertEqual(simulation.keys(50), simulation.keys(100)[:50])
        self.assertEqual(100, len(set(simulation.keys(100))))
        # Ten billion keys took hours, where the caller meant ten million.
        for count in (simulation.MAX_KEYS + 1, None, -1, 2.5):
            err = self.assertRaises(
                hashring.exception.InvalidArgumentError, simulation.keys, count
            )
            self.assertIn(
                f'count must be an integer from 0 to {simulation.MAX_KEYS}, '
                f'not {count!r}',
                str(err),
            )

    def test_bad_members_and_targets_are_refused_by_name(self):
        keys = simulation.keys(10)
        err = self.assertRaises(
            hashring.exception.InvalidArgumentError,
            simulation.balance,
            ['a', 'b'],
            keys,
            5,
        )
        self.assertIn("members must be a mapping of name to weight", str(err))
        err = self.assertRaises(
            hashring.exception.InvalidArgumentError,
            simulation.recommend,
            {'a': 1},
            keys,
            None,
        )
        self.assertIn('target must be a finite number', str(err))
