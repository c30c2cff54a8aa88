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

from hashring import _bulk
from hashring import _fast
from hashring import _table
from hashring.tests import base
from hashring.tests import test_table


class BulkTestCase(base.TestCase):
    def test_buckets_are_the_top_bits(self):
        table = _table.build(test_table.members(20, 16), test_table.MD5)
        points = test_table.digests(table)
        for bits in (0, 1, 8, 13, 22, 32):
            self.assertEqual(
                [int.from_bytes(p, 'big') >> (128 - bits) for p in points],
                list(_bulk.buckets(points, bits)),
            )
        # Digests whose size is not a multiple of four, or more bits than
        # a 32-bit word holds, are read another way, to the same effect.
        odd = [b'\x01\x02\x03', b'\x80\x00\x01']
        self.assertEqual([0, 4], list(_bulk.buckets(odd, 3)))
        self.assertEqual(
            [int.from_bytes(p, 'big') >> 88 for p in points],
            list(_bulk.buckets(points, 40)),
        )
        self.assertEqual([], list(_bulk.buckets([], 8)))
        # A tagged point's buckets are its digest's.
        self.assertEqual(
            list(_bulk.buckets(points, 13)),
            list(_bulk.buckets(table.points[: table.npoints], 13)),
        )

    def test_words_are_read_in_chunks_and_odd_widths(self):
        points = [os.urandom(12) for _ in range(3 * 1000 + 7)]
        self.patch(_bulk, '_CHUNK', 100)
        columns = _bulk.words(points, 12, 0, 4, 8)
        for column in (0, 1, 2):
            self.assertEqual(
                [
                    int.from_bytes(p[4 * column : 4 * column + 4], 'big')
                    for p in points
                ],
                list(columns[column]),
            )
        odd = [b'\x00\x00\x01\x02\x03', b'\x80\x00\x00\x01\x07']
        (found,) = _bulk.words(odd, 5, 0)
        self.assertEqual([258, 2**31 + 1], list(found))
        # Words that are not aligned, as a tag after a digest of an odd
        # size would be.
        self.assertEqual(
            [[0x102, 0x80000001], [0x10203, 0x107]],
            _bulk.words(odd, 5, 0, 1),
        )

    def test_sort_orders_as_a_plain_sort(self):
        # Bucket by bucket from 512 points here: equal points and top
        # bits, buckets left empty, and the tagged points of a table.
        self.patch(_bulk, 'SORT_MIN_POINTS', 512)
        self.patch(_bulk, 'SORT_BUCKET', 8)
        table = _table.build(test_table.members(40, 64), test_table.MD5)
        tagged = list(table.points[: table.npoints])
        repeated = [os.urandom(8) for _ in range(300)]
        skewed = [b'\x00\x00' + os.urandom(6) for _ in range(600)]
        for points in (tagged, repeated * 3, skewed + repeated, tagged[:9]):
            with self.subTest(count=len(points)):
                shuffled = sorted(points, key=lambda p: p[::-1])
                _bulk.sort(shuffled)
                self.assertEqual(sorted(points), shuffled)
        odd = [os.urandom(6) for _ in range(600)]
        expected = sorted(odd)
        _bulk.sort(odd)
        self.assertEqual(expected, odd)

    def test_a_big_build_sorts_bucket_by_bucket_to_the_same_table(self):
        # The pure path's build, which is the one that sorts Python bytes.
        self.patch(_fast, 'ENABLED', False)
        self.patch(_bulk, 'SORT_MIN_POINTS', 1024)
        members = test_table.members(50, 64)
        table = _table.build(members, test_table.MD5)
        self.patch(_bulk, 'SORT_MIN_POINTS', 1 << 40)
        plain = _table.build(members, test_table.MD5)
        self.assertEqual(plain.points, table.points)
        self.assertEqual(plain.owners, table.owners)
        self.assertEqual(plain.direct, table.direct)

    def test_gather_gets_each_index_in_order(self):
        self.assertEqual(['c', 'a', 'c'], _bulk.gather('abc', [2, 0, 2]))
        # One index takes another path: itemgetter gives an item, not a
        # tuple, there.
        self.assertEqual(['b'], _bulk.gather(['a', 'b'], iter([1])))
        self.assertEqual([], _bulk.gather([1], []))

    def test_words64_joins_high_and_low_words(self):
        self.assertEqual(
            [2**32 + 2, 2**64 - 1],
            _bulk.words64([1, 2**32 - 1], [2, 2**32 - 1]),
        )


class PlacesTestCase(base.TestCase):
    def test_the_points_of_members_removed_in_order(self):
        names = [f'm{i}' for i in range(7)]
        owners = [names[(i * 5) % 7] for i in range(200)]
        # Equal objects that are not the table's own count as theirs;
        # bytes of the same text do not.
        for removed in (
            set(),
            {'m3'},
            {''.join(['m', '3'])},
            {'m3', 'm5'},
            {'m3', 'm5', 'm0'},
            {'m3', 'absent', b'm5'},
            set(names),
        ):
            expected = [i for i, o in enumerate(owners) if o in removed]
            self.assertEqual(expected, _bulk.places(owners, removed))
        self.assertEqual(2, _bulk.INDEX_PASSES)
