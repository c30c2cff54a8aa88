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

import bisect
import unittest

from hashring import _batch
from hashring import _fast
from hashring import _fastbatch
from hashring import _merge
from hashring import _table
from hashring import ring
from hashring.tests import base
from hashring.tests import test_ring

with_numpy = unittest.skipIf(
    _fast.np is None, 'NumPy is not installed: lookups take the pure path'
)


@with_numpy
class FastBatchTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.patch(_fast, 'ENABLED', True)

    def rings(self, hash_function='md5'):
        """A fresh ring, one merged and one patched (offsets, dead points)."""
        fresh = ring.HashRing(
            [f'm{i}' for i in range(40)], 6, hash_function=hash_function
        )
        later = [f'm{i}' for i in range(1, 45)]
        self.patch(_merge, 'SHARE', 48)
        merged = fresh.with_members(later)
        self.assertFalse(bool(merged._table.dead))
        self.patch(_merge, 'SHARE', 0)
        patched = fresh.with_members(later)
        self.assertIsNotNone(patched._offsets)
        self.assertTrue(bool(patched._table.dead))
        return fresh, merged, patched

    def test_windows_hold_the_first_point_above_each_digest(self):
        keys = [f'key-{i}'.encode() for i in range(3000)]
        for hash_function in ('md5', 'sha1'):
            for each in self.rings(hash_function):
                table = each._table
                index = (table.direct, table.bits, table.offsets)
                digests = each._digests(keys)
                found, spans, lows = _fastbatch.owners(
                    digests, *index, table.numbered
                )
                with self.subTest(hash=hash_function, dead=bool(table.dead)):
                    # Some keys land in buckets that hold points.
                    self.assertGreater(len(spans), 100)
                    for i, lo in zip(spans, lows):
                        # Each window starts at or below the first point
                        # above the key, and holds it.
                        first = bisect.bisect_right(
                            table.points, digests[i] + _table.PAD
                        )
                        self.assertLessEqual(lo, first)
                        self.assertLessEqual(first, lo + table.span)
                        found[i] = table.owners[first]
                    self.assertEqual([each.get_node(k) for k in keys], found)
                    # Fewer keys than members take the members one by
                    # one, not as an array of them all.
                    few = _fastbatch.owners(
                        digests[:30], *index, table.numbered
                    )
                    self.assertEqual(
                        [found[i] for i in range(30) if i not in few[1]],
                        [o for i, o in enumerate(few[0]) if i not in few[1]],
                    )

    def test_a_settler_settles_as_single_lookups(self):
        keys = test_ring.uuids(3000)
        for hash_function in ('md5', 'sha1'):
            for each in self.rings(hash_function):
                table = each._table
                settle = _fastbatch.settler(table)
                digests = each._digests(keys)
                index = (table.direct, table.bits, table.offsets)
                with self.subTest(hash=hash_function, dead=bool(table.dead)):
                    # Every point, sentinels included, and its owner.
                    self.assertEqual(len(table.points), len(settle.words))
                    self.assertEqual(
                        list(table.first_words()[: table.npoints]),
                        settle.words[: table.npoints].tolist(),
                    )
                    self.assertEqual(
                        table.owners,
                        [table.numbered[n] for n in settle.numbers.tolist()],
                    )
                    self.assertEqual('uint16', settle.numbers.dtype.name)
                    self.assertEqual(
                        [each.get_node(k) for k in keys],
                        _batch.owners(table, digests, settle),
                    )
                    # None left to Python (no first word repeats).
                    unsettled = _fastbatch.owners(
                        digests, *index, table.numbered, settle
                    )[1]
                    self.assertEqual([], unsettled)

    def test_a_digest_that_shares_a_point_s_first_word_is_bisected(self):
        each = ring.HashRing([f'm{i}' for i in range(10)], 5)
        table = each._table
        settle = _fastbatch.settler(table)
        index = (table.direct, table.bits, table.offsets)
        point = table.points[7][:16]
        tied = [
            point[:4] + bytes(12),  # below the point: its owner's
            point[:4] + b'\xff' * 12,  # above it: the next point's
            point,  # the point itself: the next point's, as tooz's
            b'\xff' * 16,  # the sentinels' word: the first point's
        ]
        # Among enough digests in occupied buckets to be settled.
        digests = tied + each._digests(test_ring.uuids(2000))
        found, unsettled, _ = _fastbatch.owners(
            digests, *index, table.numbered, settle
        )
        self.assertEqual([0, 1, 2, 3], unsettled)
        owners = _batch.owners(table, digests, settle)
        self.assertEqual(
            [table.owners[7], table.owners[8], table.owners[8]], owners[:3]
        )
        self.assertEqual(_batch.owners(table, digests), owners)
        self.assertEqual(table.owners[0], owners[3])
        # Too few to settle: every digest in an occupied bucket is left.
        few = digests[:40]
        occupied = [
            i
            for i, d in enumerate(few)
            if table.direct[int.from_bytes(d, 'big') >> table.shift] < 0
        ]
        self.assertLess(len(occupied), _fastbatch.SETTLE_MIN)
        self.assertLess(4, len(occupied))
        self.assertEqual(
            occupied,
            _fastbatch.owners(few, *index, table.numbered, settle)[1],
        )

    def test_a_ring_that_keeps_words_lends_them(self):
        self.patch(_table, 'WORDS_MIN_POINTS', 100)
        keys = test_ring.uuids(2000)
        for each in self.rings():
            table = each._table
            self.assertIsNotNone(table.words)
            settle = _fastbatch.settler(table)
            with self.subTest(dead=bool(table.dead)):
                self.assertEqual(list(table.words), settle.words.tolist())
                self.assertEqual(len(table.points), len(settle.numbers))
                self.assertEqual(
                    [each.get_node(k) for k in keys],
                    _batch.owners(table, each._digests(keys), settle),
                )

    def test_a_ring_settles_once_it_looked_up_as_many_keys_as_points(self):
        keys = test_ring.uuids(400)
        each = ring.HashRing([f'm{i}' for i in range(10)], 5)  # 320 points
        expected = [each.get_node(k) for k in keys]
        # Calls of a few keys, which a settler would not speed, count not.
        for _ in range(20):
            self.assertEqual(expected[:50], each.map_keys(keys[:50]))
        self.assertIsNone(each._settle)
        self.assertEqual(expected[:300], each.map_keys(keys[:300]))
        self.assertIsNone(each._settle)
        self.assertEqual(expected[300:], each.map_keys(keys[300:]))
        self.assertIsInstance(each._settle, _fastbatch.Settler)
        self.assertEqual(expected, each.map_keys(keys))
        # Without NumPy, it has none, and makes it once NumPy is there
        # (as benchmarks.run turns it off and on).
        self.patch(_fast, 'ENABLED', False)
        pure = ring.HashRing([f'm{i}' for i in range(10)], 5)
        self.assertEqual(expected, pure.map_keys(keys))
        self.assertIsNone(pure._settle)
        self.patch(_fast, 'ENABLED', True)
        self.assertEqual(expected, pure.map_keys(keys))
        self.assertIsInstance(pure._settle, _fastbatch.Settler)
        # A ring's next ring settles afresh.
        self.assertIsNone(each.with_members(['m1', 'm2'])._settle)

    def test_off_or_empty_takes_the_pure_path(self):
        each = ring.HashRing(['a'])
        self.assertIsNone(_fastbatch.settler(ring.HashRing([])._table))
        self.patch(_fast, 'ENABLED', False)
        self.assertIsNone(_fastbatch.settler(each._table))
        self.assertIsNone(
            _fastbatch.owners(
                [b'x' * 16], each._direct, 3, None, each._numbered
            )
        )
