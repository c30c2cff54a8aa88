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
import hashlib
import os

from hashring import _table
from hashring import hashing
from hashring.tests import base

MD5 = hashing.hash_constructor('md5')


def members(count, points):
    return [(f'm{i}'.encode(), f'm{i}', points) for i in range(count)]


class BuildTestCase(base.TestCase):
    def test_points_are_sorted_digests_with_their_owners(self):
        table = _table.build(members(5, 8), MD5)
        self.assertEqual(40, table.npoints)
        expected = {}
        for i in range(5):
            name = f'm{i}'.encode()
            for r in range(8):
                expected[hashlib.md5(name * (r + 2)).digest()] = f'm{i}'
        self.assertEqual(sorted(expected), table.points[: table.npoints])
        self.assertEqual(
            [expected[p] for p in sorted(expected)],
            table.owners[: table.npoints],
        )

    def test_index_answers_as_a_full_bisect(self):
        for count, points in ((1, 1), (2, 1), (3, 32), (50, 8), (7, 300)):
            table = _table.build(members(count, points), MD5)
            real = table.points[: table.npoints]
            for _ in range(3000):
                digest = os.urandom(16)
                expected = table.owners[
                    bisect.bisect_right(real, digest) % table.npoints
                ]
                entry = table.direct[
                    int.from_bytes(digest, 'big') >> table.shift
                ]
                if entry.__class__ is int:
                    hi = entry + table.span
                    got = table.owners[
                        bisect.bisect_right(table.points, digest, entry, hi)
                    ]
                else:
                    got = entry
                self.assertEqual(expected, got)

    def test_sentinels_close_every_window(self):
        table = _table.build(members(4, 16), MD5)
        self.assertGreaterEqual(table.span, 1)
        sentinels = table.points[table.npoints :]
        self.assertEqual(table.span, len(sentinels))
        self.assertTrue(
            all(s > table.points[table.npoints - 1] for s in sentinels)
        )
        self.assertTrue(
            all(o is table.owners[0] for o in table.owners[table.npoints :])
        )

    def test_bucket_index_size(self):
        table = _table.build(members(10, 32), MD5)
        # 320 points: at least 4 buckets per point.
        self.assertGreaterEqual(len(table.direct), 4 * 320)
        self.assertEqual(
            128 - (len(table.direct).bit_length() - 1), table.shift
        )

    def test_buckets_are_the_top_bits(self):
        table = _table.build(members(20, 16), MD5)
        points = table.points[: table.npoints]
        for bits in (0, 1, 8, 13, 22, 32):
            self.assertEqual(
                [int.from_bytes(p, 'big') >> (128 - bits) for p in points],
                list(_table.buckets(points, bits)),
            )
        # Digests whose size is not a multiple of four, or more bits than
        # a 32-bit word holds, are read another way, to the same effect.
        odd = [b'\x01\x02\x03', b'\x80\x00\x01']
        self.assertEqual([0, 4], list(_table.buckets(odd, 3)))
        self.assertEqual(
            [int.from_bytes(p, 'big') >> 88 for p in points],
            list(_table.buckets(points, 40)),
        )
        self.assertEqual([], list(_table.buckets([], 8)))

    def test_empty(self):
        table = _table.build([], MD5)
        self.assertEqual(0, table.npoints)
        self.assertEqual([], table.points)
        self.assertEqual(1, len(table.direct))
