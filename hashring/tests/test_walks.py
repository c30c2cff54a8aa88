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

from hashring import _merge
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
        owners = table.owners[:count]
        self.check_starts(table, walks)
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

    def check_starts(self, table, walks):
        count = table.npoints
        points = table.points[:count]
        size = len(points[0]) - _table.TAG
        self.assertEqual(len(table.direct), len(walks.after))
        blocks = max(1, len(table.direct) >> _walks.BLOCK_BITS)
        self.assertEqual(blocks, len(walks.base))
        for bucket, start in enumerate(walks.after):
            low = (bucket << table.shift).to_bytes(size, 'big')
            # Past the last point, the first sentinel: a walk wraps.
            first = bisect.bisect_left(points, low)
            block = walks.base[bucket >> _walks.BLOCK_BITS]
            if not bucket % (1 << _walks.BLOCK_BITS):
                self.assertEqual(first, block)
            if (
                first < count
                and int.from_bytes(points[first][:size], 'big') >> table.shift
                == bucket
            ):
                # It holds points: a walk bisects them.
                self.assertEqual(0, start)
                continue
            self.assertEqual(first, (start >> _walks.RUN_BITS) + block)
            run = min(walks.distinct[first], _walks.RUN_MAX)
            self.assertEqual(run, start & _walks.RUN_MAX)

    def test_walk_starts_take_a_byte_a_bucket_where_they_fit(self):
        table = _table.build(members(2, 32768), MD5)
        walks = _walks.walks(table)
        self.assertEqual(1, walks.after.itemsize)
        self.check_starts(table, walks)
        # A block of 32 points or more (a hash far from uniform): the
        # starts, with their runs, are wider.
        self.patch(_walks, 'BLOCK_BITS', 12)
        walks = _walks.walks(table)
        self.assertEqual(2, walks.after.itemsize)
        self.check_starts(table, walks)
        self.patch(_walks, 'BLOCK_BITS', 30)
        walks = _walks.walks(table)
        self.assertEqual(4, walks.after.itemsize)
        self.check_starts(table, walks)

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

    def test_walks_of_a_table_with_words(self):
        # Their buckets are read from the words (Table.words).
        self.patch(_table, 'WORDS_MIN_POINTS', 0)
        table = _table.build(members(20, 16), MD5)
        self.assertIsNotNone(table.words)
        self.check(table)

    def test_empty(self):
        walks = _walks.walks(_table.build([], MD5))
        self.assertEqual([0], list(walks.after))
        self.assertEqual([0], list(walks.base))
        self.assertEqual({}, walks.short)


class WalkTestCase(base.TestCase):
    def test_window_adds_the_block_offset(self):
        table = _table.build(members(20, 16), MD5)
        self.patch(_merge, 'SHARE', 0)
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


class Unread:
    """Points that must not be read."""

    def __getitem__(self, i):
        raise AssertionError(f'point {i} read')

    def __len__(self):
        return 0


class AboveTestCase(base.TestCase):
    def tables(self):
        self.patch(_table, 'WORDS_MIN_POINTS', 0)
        self.patch(_merge, 'SHARE', 0)  # patched: offsets, dead
        table = _table.build(members(20, 16), MD5)
        added = [(b'new-%d' % i, f'new-{i}', 0, 16) for i in range(2)]
        joined = _patch.update(table, {'m3'}, 16, added, MD5)
        self.assertIsNotNone(joined.offsets)
        self.assertTrue(joined.dead)
        return table, joined

    def near(self, point):
        """Digests of a point's word: below it, on it, above it."""
        value = int.from_bytes(point[:16], 'big')
        word = value >> 96
        for each in (
            value - 1,
            value,
            value + 1,
            word << 96,
            (word + 1 << 96) - 1,
        ):
            yield each.to_bytes(16, 'big')

    def windows(self, table, digests):
        for digest in digests:
            bucket = int.from_bytes(digest, 'big') >> table.shift
            entry = table.direct[bucket]
            if entry < 0:
                yield digest, _walks.window(table, entry, bucket)

    def test_above_answers_as_a_bisect_of_the_points(self):
        for table in self.tables():
            self.assertIsNotNone(table.words)
            count = table.npoints
            digests = [d for p in table.points[:count] for d in self.near(p)]
            checked = 0
            for digest, lo in self.windows(table, digests):
                self.assertEqual(
                    bisect.bisect_right(
                        table.points,
                        digest + _table.PAD,
                        lo,
                        lo + table.span,
                    ),
                    _walks.above(table, digest, lo),
                    digest.hex(),
                )
                checked += 1
            self.assertEqual(count * 5, checked)

    def test_above_answers_over_the_whole_ring(self):
        # As walk() searches where the key's bucket holds no point.
        for table in self.tables():
            count = table.npoints
            digests = [d for p in table.points[:count] for d in self.near(p)]
            for digest in [bytes(16), b'\xff' * 16, *digests]:
                self.assertEqual(
                    bisect.bisect_right(
                        table.points, digest + _table.PAD, 0, count
                    ),
                    _walks.above(table, digest, 0, count),
                    digest.hex(),
                )

    def test_a_walk_from_an_empty_bucket_reads_the_words(self):
        for table in self.tables():
            count = table.npoints
            owners = table.owners[:count]
            words = set(table.words)
            unread = table._replace(points=Unread())
            walked = 0
            for w in range(0, 1 << 32, 1 << 20):
                digest = (w << 96 | 1 << 95).to_bytes(16, 'big')
                bucket = int.from_bytes(digest, 'big') >> table.shift
                if table.direct[bucket] < 0 or w in words:
                    continue
                i = bisect.bisect_right(
                    table.points, digest + _table.PAD, 0, count
                )
                order = list(dict.fromkeys(owners[i:] + owners[:i]))
                self.assertEqual(
                    order[:3], _walks.walk(unread, digest, 3, set())
                )
                walked += 1
            self.assertGreater(walked, 100)

    def test_words_decide_unless_a_point_shares_the_keys_word(self):
        for table in self.tables():
            words = set(table.words)
            unread = table._replace(points=Unread())
            others = [
                (w << 96 | 1 << 95).to_bytes(16, 'big')
                for w in range(0, 1 << 32, 1 << 22)
            ]
            found = 0
            for digest, lo in self.windows(table, others):
                if int.from_bytes(digest[:4], 'big') in words:
                    continue
                above = _walks.above(unread, digest, lo)
                self.assertGreater(table.points[above], digest)
                self.assertLess(table.points[above - 1], digest)
                found += 1
            self.assertGreater(found, 0)
