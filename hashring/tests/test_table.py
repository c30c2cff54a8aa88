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
import gc
import hashlib
import os

from hashring import _fast
from hashring import _merge
from hashring import _patch
from hashring import _sizing
from hashring import _table
from hashring import _walks
from hashring import hashing
from hashring.tests import base

MD5 = hashing.hash_constructor('md5')


def members(count, points):
    return [(f'm{i}'.encode(), f'm{i}', points) for i in range(count)]


def digests(table):
    """The table's real points without their tags."""
    return [p[: -_table.TAG] for p in table.points[: table.npoints]]


def run_starts(table):
    """A build's offsets: per block of the index, its run's first point."""
    real = table.points[: table.npoints]
    shift = table.shift + 8 * _table.TAG
    found = []
    for block in range(max(1, len(table.direct) >> _table.OFFSET_BITS)):
        run = (block << _table.OFFSET_BITS) >> _table.RUN_BITS
        start = run << (_table.RUN_BITS + shift)
        found.append(bisect.bisect_left(real, start.to_bytes(20, 'big')))
    return found


class BuildTestCase(base.TestCase):
    def test_points_are_sorted_digests_with_their_owners(self):
        table = _table.build(members(5, 8), MD5)
        self.assertEqual(40, table.npoints)
        expected = {}
        for i in range(5):
            name = f'm{i}'.encode()
            for r in range(8):
                expected[hashlib.md5(name * (r + 2)).digest()] = f'm{i}'
        self.assertEqual(sorted(expected), digests(table))
        self.assertEqual(
            [expected[p] for p in sorted(expected)],
            table.owners[: table.npoints],
        )
        # Each tag numbers the point's owner, and numbers go by name.
        self.assertEqual(['m0', 'm1', 'm2', 'm3', 'm4'], table.numbered)
        self.assertEqual(
            [table.numbered.index(o) for o in table.owners[:40]],
            [
                int.from_bytes(p[-_table.TAG :], 'big')
                for p in table.points[:40]
            ],
        )

    def test_digests_are_tooz_points_with_a_suffix(self):
        name = b'compute-1'
        plain = [hashlib.md5(name * (r + 2)).digest() for r in range(3, 9)]
        self.assertEqual(plain, _table.digests(name, 3, 9, MD5))
        tag = _table.tag(7)
        self.assertEqual(
            [d + tag for d in plain], _table.digests(name, 3, 9, MD5, tag)
        )

    def test_a_key_on_a_point_goes_past_it(self):
        # tooz gives a key the first point strictly above its hash; the
        # key 'm1' * 2 hashes exactly to the first point of 'm1'.
        table = _table.build(members(3, 4), MD5)
        digest = hashlib.md5(b'm1' * 2).digest()
        i = digests(table).index(digest)
        self.assertEqual(
            i + 1, bisect.bisect_right(table.points, digest + _table.PAD)
        )
        self.assertEqual(i, bisect.bisect_right(table.points, digest))

    def test_index_answers_as_a_full_bisect(self):
        for count, points in ((1, 1), (2, 1), (3, 32), (50, 8), (7, 300)):
            table = _table.build(members(count, points), MD5)
            real = digests(table)
            for _ in range(3000):
                digest = os.urandom(16)
                expected = table.owners[
                    bisect.bisect_right(real, digest) % table.npoints
                ]
                bucket = int.from_bytes(digest, 'big') >> table.shift
                entry = table.direct[bucket]
                if entry < 0:
                    lo = _walks.window(table, entry, bucket)
                    got = table.owners[
                        bisect.bisect_right(
                            table.points,
                            digest + _table.PAD,
                            lo,
                            lo + table.span,
                        )
                    ]
                else:
                    got = table.numbered[entry]
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

    def test_rings_from_the_dense_size_have_six_buckets_per_point(self):
        # 1,000 members at exponent 5: 8 buckets a point, not 4.
        table = _table.build(members(1000, 32), MD5)
        self.assertEqual(1 << 18, len(table.direct))
        self.assertEqual(128 - 18, table.shift)

    def test_entries_count_from_their_run_in_two_bytes(self):
        small = _table.build(members(2, 16384), MD5)
        large = _table.build(members(2, 16385), MD5)
        for table in (small, large):
            self.assertEqual(2, table.direct.itemsize)
            real = digests(table)
            self.assertEqual(len(table.direct) >> 8, len(table.offsets))
            self.assertEqual(run_starts(table), list(table.offsets))
            self.assertGreater(len(set(table.offsets)), 1)
            # The last point's bucket still finds its first point, which
            # lies far past what two bytes count.
            bucket = int.from_bytes(real[-1], 'big') >> table.shift
            first = min(
                i
                for i, d in enumerate(real)
                if int.from_bytes(d, 'big') >> table.shift == bucket
            )
            entry = table.direct[bucket]
            self.assertEqual(first, _walks.window(table, entry, bucket))
        self.assertGreater(len(real), _sizing.SHORT_LIMIT)
        # Past 32,768 points, twice the buckets per point, in as many
        # bytes as four-byte entries took.
        self.assertEqual(2 * 4, len(small.direct) // 32768)
        self.assertEqual(2 * 8, len(large.direct) // 32768)

    def test_a_run_of_more_points_than_two_bytes_count_widens_them(self):
        # md5 puts at most 4,096 points in a run of the index, on average;
        # one run of all 38,400 holds more than two-byte entries count.
        self.patch(_table, 'RUN_BITS', 32)
        table = _table.build(members(600, 64), MD5)
        self.assertEqual(_sizing.WIDE, table.direct.typecode)
        self.assertEqual({0}, set(table.offsets))
        real = digests(table)
        bucket = int.from_bytes(real[-1], 'big') >> table.shift
        entry = table.direct[bucket]
        self.assertLess(entry, -_sizing.SHORT_LIMIT)
        self.assertEqual(
            bucket,
            int.from_bytes(real[_walks.window(table, entry, bucket)], 'big')
            >> table.shift,
        )

    def test_entries_of_more_members_than_two_bytes_count(self):
        limit = _sizing.SHORT_LIMIT
        many = [(b'%d' % i, str(i), 1) for i in range(limit + 99)]
        table = _table.build(many, MD5)
        self.assertEqual(4, table.direct.itemsize)
        # No more buckets per point than four-byte entries had.
        self.assertEqual(
            1 << (table.npoints.bit_length() + _sizing.BUCKET_SLACK_BITS),
            len(table.direct),
        )
        # Members numbered past what two bytes count own empty buckets.
        self.assertGreaterEqual(max(table.direct), _sizing.SHORT_LIMIT)

    def test_empty(self):
        table = _table.build([], MD5)
        self.assertEqual(0, table.npoints)
        self.assertEqual((), table.points)
        self.assertEqual(1, len(table.direct))
        # Negative: the empty window whose bisect raises the ring's error.
        self.assertLess(table.direct[0], 0)


class AssembleTestCase(base.TestCase):
    def test_points_are_a_tuple_the_collector_stops_tracking(self):
        # A list of a ring's points would cost every full collection a
        # cache miss per point.
        table = _table.build(members(20, 64), MD5)
        added = [(b'new', 'new', 0, 64)]
        patched = _patch.update(table, {'m3'}, 64, added, MD5)
        self.assertTrue(patched.dead)
        tables = [table, patched]
        if _fast.ENABLED:
            self.patch(_merge, 'SHARE', 10**6)
            self.patch(_fast, 'MIN_POINTS', 1)
            self.patch(_merge, 'MIN_POINTS', 1)
            merged = _patch.update(table, {'m3'}, 64, added, MD5)
            self.assertFalse(merged.dead)
            tables.append(merged)
        gc.collect()
        for each in tables:
            self.assertIsInstance(each.points, tuple)
            self.assertFalse(gc.is_tracked(each.points))
            self.assertEqual(
                each.npoints + each.span, len(each.points), each.span
            )
            self.assertGreater(
                each.points[each.npoints], each.points[each.npoints - 1]
            )

    def test_a_leave_shares_the_points(self):
        # It moves no point: only owners, dead points and the index change.
        table = _table.build(members(20, 64), MD5)
        left = _patch.update(table, {'m3'}, 64, [], MD5)
        self.assertTrue(left.dead)
        self.assertIs(table.points, left.points)
        self.assertNotEqual(table.owners, left.owners)
        # A member back with its name revives its points in place.
        back = _patch.update(left, set(), 0, [(b'm3', 'm3', 0, 64)], MD5)
        self.assertFalse(back.dead)
        self.assertIs(table.points, back.points)
        self.assertEqual(table.owners, back.owners)

    def test_a_list_of_points_is_emptied(self):
        points = sorted(b'%016d' % i + _table.tag(0) for i in range(5))
        given = list(points)
        empty = _table.build([], MD5)
        table = _table.assemble(
            given, ['a'] * 5, empty.direct, ['a'], 2, 16, empty.offsets
        )
        self.assertEqual([], given)
        self.assertEqual(tuple(points), table.points[:5])
        self.assertEqual(7, len(table.points))


class WordsTestCase(base.TestCase):
    """Rings of many points keep each point's first word (Table.words)."""

    def setUp(self):
        super().setUp()
        # 20 members of 64 points: 1,280, over the threshold.
        self.patch(_table, 'WORDS_MIN_POINTS', 1000)

    def check(self, table):
        self.assertIsNotNone(table.words)
        self.assertEqual(_table.WORD, table.words.typecode)
        self.assertEqual(len(table.points), len(table.words))
        self.assertEqual(
            [int.from_bytes(p[:4], 'big') for p in table.points],
            list(table.words),
        )
        self.assertEqual(
            [0xFFFFFFFF] * table.span, list(table.words[-table.span :])
        )

    def test_builds_keep_words_from_the_threshold(self):
        # On the NumPy path where it is there; test_fast runs these on
        # the pure path.
        self.check(_table.build(members(20, 64), MD5))
        self.assertIsNone(_table.build(members(15, 64), MD5).words)

    def test_colliding_points_are_dropped_from_the_words(self):
        # 'a' * 2 is 'aa' * 1: their points collide, and a build drops
        # them (the pure path sorts those out).
        names = [b'a', b'aa'] + [f'm{i}'.encode() for i in range(20)]
        table = _table.build([(n, n, 64) for n in names], MD5)
        self.assertLess(table.npoints, 22 * 64)
        self.check(table)

    def test_updates_keep_the_words(self):
        table = _table.build(members(20, 64), MD5)
        left = _patch.update(table, {'m3'}, 64, [], MD5)
        self.assertIs(table.points, left.points)
        self.assertIs(table.words, left.words)  # shared, as the points
        joined = _patch.update(left, set(), 0, [(b'new', 'new', 0, 64)], MD5)
        # Back under its name as bytes: its points change their tags.
        back = _patch.update(left, set(), 0, [(b'm3', b'm3', 0, 64)], MD5)
        self.assertIsNot(table.points, back.points)
        for each in (left, joined, back):
            self.check(each)
        if _fast.ENABLED:
            self.patch(_merge, 'SHARE', 10**6)
            self.patch(_fast, 'MIN_POINTS', 1)
            self.patch(_merge, 'MIN_POINTS', 1)
            merged = _patch.update(
                table, {'m3'}, 64, [(b'new', 'new', 0, 64)], MD5
            )
            self.assertFalse(merged.dead)
            self.check(merged)

    def test_an_update_across_the_threshold(self):
        small = _table.build(members(15, 64), MD5)
        self.assertIsNone(small.words)
        added = [(f'n{i}'.encode(), f'n{i}', 0, 64) for i in range(5)]
        grown = _patch.update(small, set(), 0, added, MD5)
        self.check(grown)  # read from the points
        # A leave keeps the points, dead, and their words.
        shrunk = _patch.update(grown, {'n0', 'n1'}, 128, [], MD5)
        self.assertIs(grown.words, shrunk.words)
