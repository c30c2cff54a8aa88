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

from hashring import _fast
from hashring import _patch
from hashring import _table
from hashring import _walks
from hashring import exception
from hashring import hashing
from hashring.tests import base
from hashring.tests import test_table

MD5 = hashing.hash_constructor('md5')
members = test_table.members


class WalksTestCase(base.TestCase):
    def check(self, table):
        walks = _walks.walks(table)
        count = table.npoints
        points, owners = table.points[:count], table.owners[:count]
        size = len(points[0]) - _table.TAG
        self.assertEqual(len(table.direct), len(walks.after))
        for bucket, start in enumerate(walks.after):
            low = (bucket << table.shift).to_bytes(size, 'big')
            first = bisect.bisect_left(points, low)
            self.assertEqual(0 if first == count else first, start)
        members = len(set(owners))
        for i in range(count + 1):
            walk = [owners[(i + j) % count] for j in range(count)]
            run = 1
            while run < len(walk) and walk[run] not in walk[:run]:
                run += 1
            # The runs stop at the sentinel after the last point.
            run = 1 if i == count else min(run, count + 1 - i, 255)
            self.assertEqual(run, walks.distinct[i])
            if run < _walks.SHORT_WALK:
                distinct = list(dict.fromkeys(walk))
                wanted = min(_walks.SHORT_WALK, members)
                self.assertEqual(tuple(distinct[:wanted]), walks.short[i])
            else:
                self.assertNotIn(i, walks.short)

    def test_walks_start_at_the_first_point_and_count_distinct_owners(self):
        self.check(_table.build(members(3, 8), MD5))
        self.check(_table.build(members(40, 4), MD5))

    def test_walks_of_an_updated_table(self):
        # Its index entries are lower bounds; the walks are exact.
        table = _table.build(members(20, 16), MD5)
        added = [(b'new-%d' % i, f'new-{i}', 0, 4) for i in range(3)]
        updated = _patch.update(table, {'m3'}, 16, added, MD5)
        self.assertTrue(updated.dead)
        self.check(updated)

    def test_empty(self):
        walks = _walks.walks(_table.build([], MD5))
        self.assertEqual([0], list(walks.after))
        self.assertEqual({}, walks.short)


class WalkTestCase(base.TestCase):
    def test_window_adds_the_block_offset(self):
        table = _table.build(members(20, 16), MD5)
        self.patch(_fast, 'MERGE_SHARE', 0)
        added = [(b'new-%d' % i, f'new-{i}', 0, 16) for i in range(2)]
        updated = _patch.update(table, set(), 0, added, MD5)
        self.assertIsNotNone(updated.offsets)
        for t in (table, updated):
            count = t.npoints
            points = t.points[:count]
            for bucket, entry in enumerate(t.direct):
                if entry < 0:
                    lo = _walks.window(t, entry, bucket)
                    low = (bucket << t.shift).to_bytes(16, 'big')
                    first = bisect.bisect_left(points, low)
                    self.assertLessEqual(lo, first)
                    self.assertLessEqual(first, lo + t.span)
                    if t.offsets is None:
                        self.assertEqual(first, lo)

    def test_walk_collects_distinct_owners_in_ring_order(self):
        table = _table.build(members(6, 8), MD5)
        count = table.npoints
        owners = table.owners[:count]
        points = table.points[:count]
        for i, point in enumerate(points):
            # From just below a point, the walk starts at it and wraps.
            digest = (int.from_bytes(point[:16], 'big') - 1).to_bytes(
                16, 'big'
            )
            order = list(dict.fromkeys(owners[i:] + owners[:i]))
            self.assertEqual(order[:4], _walks.walk(table, digest, 4, set()))
            taken = {order[0]}
            self.assertEqual(order[1:3], _walks.walk(table, digest, 2, taken))
            self.assertEqual(set(order[:3]), taken)
            # Where the first point is known, the walk starts there.
            self.assertEqual(order[:2], _walks.walk(table, b'', 2, set(), i))

    def test_walk_of_an_empty_table_raises(self):
        self.assertRaises(
            exception.EmptyRingError,
            _walks.walk,
            _table.build([], MD5),
            bytes(16),
            1,
            set(),
        )
