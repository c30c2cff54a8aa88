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

import hashlib
import json

from hashring import _pure
from hashring import _table
from hashring import exception
from hashring import ring
from hashring.tests import base
from hashring.tests import invariants
from hashring.tests import test_table

MD5 = test_table.MD5


def point(digest, number):
    return digest + _table.tag(number)


class IndexTestCase(base.TestCase):
    def test_colliding_points_are_dropped_and_the_rest_indexed_again(self):
        low, mid, high = b'\x10' * 16, b'\x50' * 16, b'\x90' * 16
        points = [point(low, 0), point(mid, 1), point(high, 0), point(high, 1)]
        members = [(b'a', 'a', 2), (b'b', 'b', 2)]
        with self.assertLogs('hashring._pure', 'WARNING') as logs:
            owners, direct, span, words, offsets = _pure.index(
                points, members, ['a', 'b'], 16
            )
        self.assertIn('1 ring points collide', logs.output[0])
        # The lower number keeps the point.
        self.assertEqual(
            [point(low, 0), point(mid, 1), point(high, 0)], points
        )
        self.assertEqual(['a', 'b', 'a'], owners)
        self.assertIsNone(words)
        self.assertEqual(1, span)
        self.assertEqual(3, sum(1 for e in direct if e < 0))
        self.assertEqual([0], list(offsets))

    def test_a_member_left_without_points_is_refused(self):
        points = [point(b'\x10' * 16, 0), point(b'\x10' * 16, 1)]
        members = [(b'a', 'a', 1), (b'b', 'b', 1)]
        with self.assertLogs('hashring._pure', 'WARNING'):
            self.assertRaises(
                exception.InvalidMemberError,
                _pure.index,
                points,
                members,
                ['a', 'b'],
                16,
            )

    def test_anchored_as_a_build_indexes(self):
        # Sixteen runs of the index, and every entry of a point cleared.
        table = _table.build(test_table.members(2, 16385), MD5)
        self.assertEqual(16, len(set(table.offsets)))
        direct = table.direct[:]
        for bucket, entry in enumerate(direct):
            if entry < 0:
                direct[bucket] = 0
        span, offsets = _pure.anchor(
            table.points[: table.npoints], direct, table.bits
        )
        self.assertEqual(table.direct, direct)
        self.assertEqual(table.offsets, offsets)
        self.assertEqual(table.span, span)

    def test_words_from_the_threshold(self):
        points = sorted(
            point(bytes([i]) * 16, i % 2) for i in range(1, 200, 3)
        )
        members = [(b'a', 'a', 34), (b'b', 'b', 33)]
        self.patch(_table, 'WORDS_MIN_POINTS', len(points))
        _, _, _, words, _ = _pure.index(list(points), members, ['a', 'b'], 16)
        self.assertEqual(
            [int.from_bytes(p[:4], 'big') for p in points], list(words)
        )
        self.patch(_table, 'WORDS_MIN_POINTS', len(points) + 1)
        _, _, _, words, _ = _pure.index(list(points), members, ['a', 'b'], 16)
        self.assertIsNone(words)


class CollisionTestCase(base.TestCase):
    def test_repeated_names_collide_and_the_lowest_name_wins(self):
        # 'a' has the points md5('a' * k) for k = 2..33, 'aa' has
        # md5('a' * 2k) for k = 2..33: 'a' * 4, 6, ..., 32 are shared.
        with self.assertLogs('hashring._pure', 'WARNING') as logs:
            r = ring.HashRing(['aa', 'a'])
        self.assertIn('15 ring points collide', logs.output[0])
        self.assertEqual(64 - 15, r._count)
        shared = hashlib.md5(b'a' * 4).digest()
        digests = [p[: -_table.TAG] for p in r._points[: r._count]]
        self.assertEqual('a', r._owners[digests.index(shared)])
        invariants.check(r)

    def test_a_member_whose_every_point_collides_is_refused(self):
        # 'a' has md5('a' * 2, 3, 4); 'aa' has md5('a' * 4) alone, which
        # the lower name keeps: 'aa' would own nothing.
        with self.assertLogs('hashring._pure', 'WARNING'):
            self.assertRaisesRegex(
                exception.InvalidMemberError,
                "'aa'.*every point of it collides",
                ring.HashRing,
                {'a': 3, 'aa': 1},
                0,
            )

    def test_collisions_do_not_depend_on_hash_seed(self):
        script = (
            'import json, hashring\n'
            "r = hashring.HashRing(['aa', 'a', 'aaa', 'b', 'bb'], 2)\n"
            "keys = ['a' * i for i in range(60)]\n"
            'print(json.dumps([r.fingerprint, r.map_keys(keys)]))\n'
        )
        outputs = set(
            base.under_hash_seeds(script, ('0', '1', '2', '12345', 'random'))
        )
        self.assertEqual(1, len(outputs), outputs)
        fingerprint, owners = json.loads(outputs.pop())
        self.assertEqual(
            ring.HashRing(['aa', 'a', 'aaa', 'b', 'bb'], 2).fingerprint,
            fingerprint,
        )
