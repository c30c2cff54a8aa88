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

"""The NumPy path of builds against the pure one, and every ring test again
on the pure path where NumPy is installed (elsewhere the pure path is the
only one, and the tests run on it anyway)."""

import random
import unittest

from hashring import _arcs
from hashring import _bulk
from hashring import _fast
from hashring import _patch
from hashring import _sizing
from hashring import _table
from hashring import hashing
from hashring import ring
from hashring.tests import base
from hashring.tests import test_arcs
from hashring.tests import test_balance
from hashring.tests import test_compat
from hashring.tests import test_compat_tooz
from hashring.tests import test_movement
from hashring.tests import test_patch
from hashring.tests import test_ring
from hashring.tests import test_ring_input
from hashring.tests import test_ring_tooz
from hashring.tests import test_ring_updates
from hashring.tests import test_table
from hashring.tests import test_walks

MD5 = hashing.hash_constructor('md5')

with_numpy = unittest.skipIf(
    _fast.np is None, 'NumPy is not installed: builds take the pure path'
)


@with_numpy
class FastBuildTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        # Small rings too, which builds leave to the pure path.
        self.patch(_fast, 'MIN_POINTS', 1)

    def tables(self, members, hash_function):
        ctor = hashing.hash_constructor(hash_function)
        self.patch(_fast, 'ENABLED', True)
        fast = _table.build(members, ctor)
        self.patch(_fast, 'ENABLED', False)
        pure = _table.build(members, ctor)
        return fast, pure

    def test_the_same_table_as_the_pure_path(self):
        rng = random.Random(3)
        for hash_function in ('md5', 'sha1', 'sha224', 'sha256', 'blake2b'):
            for size in (1, 2, 3, 10, 300):
                names = [f'node-{rng.random()}' for _ in range(size)]
                count = rng.choice([1, 3, 8, 64, 100])
                members = [
                    (n.encode(), n, count * rng.randint(1, 3)) for n in names
                ]
                fast, pure = self.tables(members, hash_function)
                with self.subTest(hash=hash_function, members=size):
                    self.assertEqual(pure, fast)
                    self.assertEqual(
                        pure.direct.typecode, fast.direct.typecode
                    )

    def test_widened_as_the_pure_path_widens(self):
        # One run of the index for all 38,400 points: more than two-byte
        # entries count.
        self.patch(_table, 'RUN_BITS', 32)
        fast, pure = self.tables(test_table.members(600, 64), 'md5')
        self.assertEqual(_sizing.WIDE, fast.direct.typecode)
        self.assertEqual(_sizing.WIDE, pure.direct.typecode)
        self.assertEqual(pure, fast)

    def test_the_numpy_path_is_taken(self):
        low = b'\x00' * 16 + _table.tag(1)
        high = b'\x80' * 16 + _table.tag(0)
        points = [high, low]
        found = _fast.index(points, ['a', 'b'], 16, 3, 'h')
        self.assertIsNotNone(found)
        ordered, owners, direct, span, words, offsets = found
        self.assertEqual([low, high], ordered)
        self.assertIsNone(words)  # a small ring keeps none
        self.assertIs(low, ordered[0])  # the same objects
        self.assertEqual([], points)
        self.assertEqual(['b', 'a'], owners)
        # Buckets 0 and 4 hold points 0 and 1; those between go to the
        # owner of point 1 above them (number 0), those past it round to
        # point 0's (number 1).
        self.assertEqual([~0, 0, 0, 0, ~1, 1, 1, 1], list(direct))
        self.assertEqual([0], list(offsets))  # one block
        self.assertEqual(1, span)
        # Two points in a bucket make a span of two.
        points = [high, low, b'\x81' * 16 + _table.tag(2)]
        ordered, owners, direct, span, *_ = _fast.index(
            points, ['a', 'b', 'c'], 16, 3, 'h'
        )
        self.assertEqual(['b', 'a', 'c'], owners)
        self.assertEqual(2, span)

    def test_chunks_of_runs_and_indexes_fill_the_same_index(self):
        members = [(f'm{i}'.encode(), f'm{i}', 40) for i in range(30)]
        whole, pure = self.tables(members, 'md5')
        self.assertEqual(pure, whole)
        self.patch(_fast, '_CHUNK', 7)
        self.patch(_fast, '_PICKED', 5)
        for objects in (10**6, 0):
            # Points and members picked out of arrays of them, 5 at a
            # time, then through their indexes as ints, 7 at a time.
            self.patch(_fast, '_OBJECTS', objects)
            fast, _ = self.tables(members, 'md5')
            with self.subTest(objects=objects):
                self.assertEqual(pure, fast)

    def test_arcs_as_the_pure_path_measures_them(self):
        table = _table.build(test_table.members(30, 40), MD5)
        gone = _patch.update(table, {'m2'}, 40, [], MD5)
        # The points read 7 at a time, and all at once.
        for chunk in (7, 10**6):
            self.patch(_fast, '_CHUNK', chunk)
            for each in (table, gone):
                with self.subTest(chunk=chunk, dead=len(each.dead)):
                    found = _arcs.of(each)
                    self.patch(_fast, 'ENABLED', False)
                    self.assertEqual(_arcs.of(each), found)
                    self.patch(_fast, 'ENABLED', True)
        self.assertIsNone(_fast.arcs([], None, 0))

    def test_gather_picks_items_of_short_sequences_as_objects(self):
        indexes = _fast.np.array([3, 0, 3, 1, 2], dtype=_fast.np.int32)
        names = ['d', 'a', 'b', 'c']
        points = [b'\x00' * 20, b'\x01' * 20, b'\x02' * 20, b'\x03' * 20]
        self.patch(_fast, '_PICKED', 2)
        for objects in (4, 3):
            self.patch(_fast, '_OBJECTS', objects)
            with self.subTest(objects=objects):
                self.assertEqual(
                    ['c', 'd', 'c', 'a', 'b'], _fast.gather(names, indexes)
                )
                found = _fast.gather(points, indexes)
                self.assertEqual([points[i] for i in indexes], found)
                # The very objects, not copies: the ring keeps them.
                self.assertIs(points[3], found[0])
        # Fewer indexes than items (a few keys on a ring of many members)
        # take ints, not an array of every item.
        through = []
        self.patch(
            _bulk,
            'gather',
            lambda s, i: through.append(i) or [s[n] for n in i],
        )
        self.patch(_fast, '_OBJECTS', 4)
        self.assertEqual(['a', 'b'], _fast.gather(names, indexes[3:]))
        self.assertEqual([[1, 2]], through)
        # As many indexes as items, or more: the array.
        self.assertEqual(5, len(_fast.gather(names, indexes)))
        self.assertEqual([[1, 2]], through)

    def test_points_that_share_their_top_bits_take_the_pure_path(self):
        # 'a' and 'aa' share points: the pure path drops the later ones.
        members = [(b'a', 'a', 4), (b'aa', 'aa', 4), (b'b', 'b', 4)]
        fast, pure = self.tables(members, 'md5')
        self.assertEqual(pure, fast)
        # 'aaaa' is the third point of 'a' and the first of 'aa'.
        self.assertEqual(11, fast.npoints)
        same = [b'\x01' * 16 + _table.tag(n) for n in (0, 1)]
        kept = list(same)
        self.assertIsNone(_fast.index(same, 'ab', 16, 5, 'h'))
        # Nothing was lost on the way.
        self.assertEqual(kept, same)

    def test_off_empty_or_small_takes_the_pure_path(self):
        points = [b'\x01' * 16 + _table.tag(0)]
        self.assertIsNone(_fast.index([], [], 16, 3, 'h'))
        self.patch(_fast, 'MIN_POINTS', 2)
        self.assertIsNone(_fast.index(points, 'a', 16, 3, 'h'))
        self.patch(_fast, 'MIN_POINTS', 1)
        self.patch(_fast, 'ENABLED', False)
        self.assertIsNone(_fast.index(points, 'a', 16, 3, 'h'))
        self.assertEqual(1, len(points))


@with_numpy
class ThresholdTestCase(base.TestCase):
    """Which builds take the NumPy path, at the library's own threshold."""

    def test_rings_from_640_points_take_the_numpy_path(self):
        # Twenty members at exponent 5; one fewer take the pure path.
        taken = []
        index = _fast.index

        def counted(points, *args):
            found = index(points, *args)
            taken.append(found is not None)
            return found

        self.patch(_fast, 'index', counted)
        names = [f'compute-{i}' for i in range(20)]
        fresh = ring.HashRing(names, 5)
        ring.HashRing(names[:19], 5)
        self.assertEqual([True, False], taken)
        self.patch(_fast, 'ENABLED', False)
        self.assertEqual(fresh._table, ring.HashRing(names, 5)._table)


def _pure(case):
    """Return a copy of a test case that builds on the pure path."""

    class Pure(case):
        def setUp(self):
            super().setUp()
            self.patch(_fast, 'ENABLED', False)

    Pure.__name__ = Pure.__qualname__ = f'Pure{case.__name__}'
    return with_numpy(Pure)


for _module in (
    test_arcs,
    test_balance,
    test_compat,
    test_compat_tooz,
    test_movement,
    test_patch,
    test_ring,
    test_ring_input,
    test_ring_tooz,
    test_ring_updates,
    test_table,
    test_walks,
):
    for _name, _case in vars(_module).items():
        if (
            isinstance(_case, type)
            and issubclass(_case, base.TestCase)
            and _case.__module__ == _module.__name__
        ):
            globals()[f'Pure{_name}'] = _pure(_case)
