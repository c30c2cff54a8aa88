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

from hashring import _batch
from hashring import _bulk
from hashring import _fast
from hashring import _fastbatch
from hashring import _merge
from hashring import _table
from hashring import exception
from hashring import hashing
from hashring import ring
from hashring.tests import base
from hashring.tests import test_ring


class OwnersTestCase(base.TestCase):
    def rings(self):
        fresh = ring.HashRing([f'm{i}' for i in range(40)], 6)
        # Patched, not merged: block offsets and dead points.
        self.patch(_merge, 'SHARE', 0)
        updated = fresh.with_members([f'm{i}' for i in range(1, 42)])
        self.assertIsNotNone(updated._table.offsets)
        self.assertTrue(updated._table.dead)
        return fresh, updated

    def test_owners_are_those_of_single_lookups(self):
        keys = test_ring.uuids(3000)
        for enabled in (True, False):
            self.patch(_fast, 'ENABLED', enabled and _fast.np is not None)
            for each in self.rings():
                digests = hashing.digests(each._base, each._plain, keys)
                self.assertEqual(
                    [each.get_node(k) for k in keys],
                    _batch.owners(each._table, digests),
                )

    def test_a_few_digests_are_looked_up_one_at_a_time(self):
        keys = test_ring.uuids(_batch.FEW - 1)
        self.patch(_fast, 'ENABLED', True)
        # Neither path's passes: a call of them costs more than the keys.
        self.patch(_fastbatch, 'owners', None)
        self.patch(_bulk, 'owners', None)
        self.patch(_table, 'WORDS_MIN_POINTS', 100)
        for each in (*self.rings(), ring.HashRing(['a', 'b'], 5)):
            with self.subTest(words=each._table.words is not None):
                digests = hashing.digests(each._base, each._plain, keys)
                self.assertEqual(
                    [each.get_node(k) for k in keys],
                    _batch.owners(each._table, digests),
                )

    def test_no_digest_no_owner(self):
        table = ring.HashRing(['a', 'b'])._table
        self.assertEqual([], _batch.owners(table, []))
        empty = ring.HashRing([])._table
        self.assertEqual([], _batch.owners(empty, []))

    def test_empty_table_raises(self):
        empty = ring.HashRing([])._table
        self.assertRaises(
            exception.EmptyRingError,
            _batch.owners,
            empty,
            [bytes(16)],
        )
