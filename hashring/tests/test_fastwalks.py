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

"""The NumPy path of the walk tables against the pure one."""

import unittest

from hashring import _bulk
from hashring import _fast
from hashring import _fastwalks
from hashring import _table
from hashring import _walks
from hashring import hashing
from hashring.tests import base
from hashring.tests import test_walks

MD5 = hashing.hash_constructor('md5')
members = test_walks.members

with_numpy = unittest.skipIf(
    _fast.np is None, 'NumPy is not installed: walks take the pure path'
)


@with_numpy
class FastWalksTestCase(test_walks.WalksTestCase):
    """Every walk-table test again on the NumPy path, small rings too.

    Wide blocks included (``BLOCK_BITS`` of 12 and 30): their starts take
    two and four bytes.
    """

    def setUp(self):
        super().setUp()
        self.patch(_fastwalks, 'MIN_POINTS', 0)
        self.patch(_fast, 'ENABLED', True)


@with_numpy
class SameTablesTestCase(base.TestCase):
    def both(self, table):
        self.patch(_fastwalks, 'MIN_POINTS', 0)
        self.patch(_fast, 'ENABLED', True)
        self.assertIsNotNone(
            _fastwalks.tables(
                table, _walks.BLOCK_BITS, _walks.RUN_BITS, _walks.SHORT_WALK
            )
        )
        fast = _walks.walks(table)
        self.patch(_fast, 'ENABLED', False)
        pure = _walks.walks(table)
        self.assertEqual(pure.after.typecode, fast.after.typecode)
        self.assertEqual(pure.after, fast.after)
        self.assertEqual(list(pure.base), list(fast.base))
        self.assertEqual(pure.distinct, fast.distinct)
        self.assertEqual(pure.short, fast.short)
        return fast

    def test_the_pure_path_s_very_tables(self):
        # Updated tables, words and wide blocks: FastWalksTestCase.
        for count, points in ((1, 8), (3, 8), (40, 4), (300, 32)):
            self.both(_table.build(members(count, points), MD5))

    def test_owners_of_more_than_two_bytes_of_numbers(self):
        # Owner numbers past 65,535 sort as they are, not by radix.
        table = _table.build(members(70000, 1), MD5)
        self.both(table)

    def test_words_that_are_no_array_take_the_pure_path(self):
        # As _bulk.words() reads words that are not four-byte aligned.
        table = _table.build(members(3, 8), MD5)
        self.patch(_fastwalks, 'MIN_POINTS', 0)
        self.patch(_fast, 'ENABLED', True)
        self.patch(_bulk, 'words', lambda points, width, *at: [[0] * 24])
        self.assertIsNone(
            _fastwalks.tables(
                table, _walks.BLOCK_BITS, _walks.RUN_BITS, _walks.SHORT_WALK
            )
        )

    def test_small_rings_and_the_pure_path_take_no_numpy(self):
        table = _table.build(members(3, 8), MD5)
        self.assertIsNone(
            _fastwalks.tables(
                table, _walks.BLOCK_BITS, _walks.RUN_BITS, _walks.SHORT_WALK
            )
        )
        self.patch(_fastwalks, 'MIN_POINTS', 0)
        self.patch(_fast, 'ENABLED', False)
        self.assertIsNone(
            _fastwalks.tables(
                table, _walks.BLOCK_BITS, _walks.RUN_BITS, _walks.SHORT_WALK
            )
        )
