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

from hashring import _arcs
from hashring import _patch
from hashring import _table
from hashring.tests import base
from hashring.tests import test_table

MD5 = test_table.MD5
members = test_table.members
digests = test_table.digests


class ArcsTestCase(base.TestCase):
    def test_each_point_owns_the_arc_from_the_point_before_it(self):
        table = _table.build(members(7, 9), MD5)
        found = _arcs.of(table)
        # The same arcs, from each point's whole top 64 bits as an int.
        starts = [int.from_bytes(d[:8], 'big') for d in digests(table)]
        expected = [0] * 7
        for i, start in enumerate(starts):
            owner = table.numbered.index(table.owners[i])
            expected[owner] += (start - starts[i - 1]) % 2**64
        self.assertEqual(expected, found)
        self.assertEqual(2**_table.ARC_BITS, sum(found))

    def test_one_point_owns_the_whole_ring(self):
        table = _table.build([(b'x', 'x', 1)], MD5)
        self.assertEqual([2**64], _arcs.of(table))

    def test_a_dead_point_counts_for_its_live_owner(self):
        table = _table.build(members(5, 8), MD5)
        gone = _patch.update(table, {'m2'}, 8, [], MD5)
        found = _arcs.of(gone)
        self.assertEqual(0, found[2])
        self.assertEqual(2**64, sum(found))
        # The arcs of m2's points went to the owners of the points after.
        before = _arcs.of(table)
        grown = [a - b for a, b in zip(found, before)]
        del grown[2]
        self.assertTrue(all(g >= 0 for g in grown))
        self.assertEqual(before[2], sum(grown))
