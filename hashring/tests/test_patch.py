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
from hashring import _merge
from hashring import _patch
from hashring import _sizing
from hashring import _table
from hashring.tests import base
from hashring.tests import test_table

MD5 = test_table.MD5
members = test_table.members


class UpdateTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        # Patched, never merged by NumPy (test_fast.MergeTestCase).
        self.patch(_merge, 'SHARE', 0)
        self.table = _table.build(members(20, 16), MD5)

    def test_a_new_point_on_a_live_one_asks_for_a_fresh_build(self):
        # b'm0' hashes to the points of 'm0', which are still there.
        name, member, count = members(20, 16)[0]
        self.assertIsNone(
            _patch.update(self.table, set(), 0, [(name, b'm0', 0, 16)], MD5)
        )

    def test_a_member_back_revives_its_dead_points(self):
        name, member, count = members(20, 16)[0]
        gone = _patch.update(self.table, {member}, count, [], MD5)
        self.assertEqual(count, len(gone.dead))
        self.assertNotIn(member, gone.owners)
        back = _patch.update(gone, set(), 0, [(name, member, 0, count)], MD5)
        self.assertEqual(frozenset(), back.dead)
        self.assertEqual(self.table.points, back.points)
        self.assertEqual(self.table.owners, back.owners)
        self.assertEqual(self.table.direct, back.direct)

    def test_an_index_taking_more_buckets_per_point_is_built_afresh(self):
        table = _table.build(members(2, 8000), MD5)
        self.assertEqual(2, table.direct.itemsize)
        self.assertEqual(17, table.bits)  # 6 to 12 buckets per point
        # Past 32,768 points, a build takes 8 to 16 buckets per point:
        # there, two bits more.
        self.assertIsNone(
            _patch.update(table, set(), 0, [(b'new', 'new', 0, 17000)], MD5)
        )
        kept = _patch.update(table, set(), 0, [(b'new', 'new', 0, 500)], MD5)
        self.assertEqual(table.bits, kept.bits)

    def test_members_outgrowing_two_byte_numbers_are_built_afresh(self):
        table = _table.build(members(_sizing.SHORT_LIMIT - 1, 1), MD5)
        # Within two bytes, an update keeps them.
        kept = _patch.update(table, set(), 0, [(b'new', 'new', 0, 1)], MD5)
        self.assertEqual(_sizing.SHORT_LIMIT, len(kept.numbered))
        self.assertEqual(_sizing.SHORT, kept.direct.typecode)
        self.assertIsNone(
            _patch.update(kept, set(), 0, [(b'new2', 'new2', 0, 1)], MD5)
        )

    def test_too_many_dead_points_ask_for_a_fresh_build(self):
        # 7 of 20 gone: 112 dead points to 208 live ones, too many.
        gone = {m for _, m, _ in members(20, 16)[:7]}
        self.assertIsNone(_patch.update(self.table, gone, 7 * 16, [], MD5))
        gone.discard('m0')
        updated = _patch.update(self.table, gone, 6 * 16, [], MD5)
        self.assertEqual(6 * 16, len(updated.dead))

    def windows(self, table):
        """Each occupied bucket's window start, its first point, and end."""
        shift = table.shift + 8 * _table.TAG
        found = {}
        for i, point in enumerate(table.points[: table.npoints]):
            found.setdefault(int.from_bytes(point, 'big') >> shift, [i, i])
            found[int.from_bytes(point, 'big') >> shift][1] = i + 1
        for bucket, (first, stop) in sorted(found.items()):
            low = ~table.direct[bucket]
            low += table.offsets[bucket >> _table.OFFSET_BITS]
            yield low, first, stop, low + table.span

    def test_points_inserted_widen_the_window_by_their_block(self):
        # 128 points in 8 blocks of the index: the entries of a block
        # leave out the points inserted before it.
        added = [(b'new-%d' % i, f'new-{i}', 0, 16) for i in range(8)]
        updated = _patch.update(self.table, set(), 0, added, MD5)
        self.assertEqual(8, len(updated.offsets))
        self.assertEqual(0, updated.offsets[0])
        self.assertEqual(list(updated.offsets), sorted(set(updated.offsets)))
        self.assertLess(updated.span, self.table.span + 40)
        for low, first, stop, end in self.windows(updated):
            self.assertLessEqual(low, first)
            self.assertLessEqual(stop, end)
        # With the offsets from before, the entries are no lower bound.
        blind = updated._replace(offsets=self.table.offsets)
        self.assertFalse(
            all(stop <= end for _, _, stop, end in self.windows(blind))
        )

    def test_a_wide_window_is_anchored_again(self):
        # 640 points, about 80 in each of 8 blocks, would widen the window
        # past the cap.
        added = [(b'new-%d' % i, f'new-{i}', 0, 80) for i in range(8)]
        updated = _patch.update(self.table, set(), 0, added, MD5)
        self.assertLessEqual(updated.span, _patch.MAX_UPDATED_SPAN)
        self.assert_anchored(updated)
        # A ring of 8 runs of the index, anchored on any insertion.
        self.patch(_patch, 'MAX_UPDATED_SPAN', 1)
        table = _table.build(members(64, 512), MD5)
        added = [(b'new', 'new', 0, 512)]
        updated = _patch.update(table, set(), 0, added, MD5)
        self.assertEqual(table.bits, updated.bits)
        self.assertEqual(8, len(set(updated.offsets)))
        self.assert_anchored(updated)

    def assert_anchored(self, table):
        # Each window starts at its bucket's first point again, and each
        # block's offset is its run's first point, as in a build.
        for low, first, _, _ in self.windows(table):
            self.assertEqual(first, low)
        self.assertEqual(test_table.run_starts(table), list(table.offsets))

    def test_an_entry_outgrowing_two_bytes_asks_for_a_fresh_build(self):
        # One run of 32,768 points, anchored again on any insertion: the
        # entries past the run's 32,768th point do not fit.
        self.patch(_patch, 'MAX_UPDATED_SPAN', 1)
        self.patch(_table, 'RUN_BITS', 32)
        table = _table.build(members(512, 64), MD5)
        self.assertEqual(_sizing.SHORT, table.direct.typecode)
        self.assertEqual({0}, set(table.offsets))
        added = [(b'new', 'new', 0, 64)]
        self.assertIsNone(_patch.update(table, set(), 0, added, MD5))
        self.patch(_table, 'RUN_BITS', 15)
        table = _table.build(members(512, 64), MD5)
        self.assertIsNotNone(_patch.update(table, set(), 0, added, MD5))

    def test_arcs_are_carried_as_measured(self):
        measured = self.table._replace(arcs=_arcs.of(self.table))
        name, member, count = members(20, 16)[4]
        steps = [
            ({member}, count, []),  # a leave
            (set(), 0, [(name, member, 0, count)]),  # back: revived
            (set(), 0, [(b'new', 'new', 0, 16)]),  # a join
            (set(), 0, [(b'm7', 'm7', 16, 24)]),  # more weight
            ({'m1', 'new'}, 32, [(b'other', 'other', 0, 16)]),
        ]
        table = measured
        for removed, lost, added in steps:
            table = _patch.update(table, removed, lost, added, MD5)
            with self.subTest(removed=removed, added=added):
                self.assertIsNotNone(table.arcs)
                self.assertEqual(_arcs.of(table), table.arcs)
                for gone in removed:
                    self.assertEqual(0, table.arcs[table.numbered.index(gone)])

    def test_a_point_that_moves_twice_carries_its_arc_once(self):
        # A point of b just before a point of a: with a gone, b's point
        # goes to the owner after a's dead point; when b leaves as a comes
        # back, it goes to the next live owner, then to a.
        owners = self.table.owners[: self.table.npoints]
        a, b = next(
            (owners[i], owners[i - 1])
            for i in range(1, len(owners))
            if owners[i] != owners[i - 1]
        )
        name, _, count = next(m for m in members(20, 16) if m[1] == a)
        measured = self.table._replace(arcs=_arcs.of(self.table))
        gone = _patch.update(measured, {a}, count, [], MD5)
        back = _patch.update(gone, {b}, 16, [(name, a, 0, count)], MD5)
        self.assertEqual(_arcs.of(back), back.arcs)
        fresh = _table.build([m for m in members(20, 16) if m[1] != b], MD5)
        self.assertEqual(
            dict(zip(fresh.numbered, _arcs.of(fresh))),
            {m: arc for m, arc in zip(back.numbered, back.arcs) if m != b},
        )

    def test_a_member_back_as_another_object_takes_its_tags(self):
        # 'a' for b'a': the same name, another member, under a new number
        # that the revived points' tags must name, as arcs() reads them.
        table = _table.build(members(3, 16) + [(b'a', b'a', 16)], MD5)
        measured = table._replace(arcs=_arcs.of(table))
        gone = _patch.update(measured, {b'a'}, 16, [], MD5)
        back = _patch.update(gone, set(), 0, [(b'a', 'a', 0, 16)], MD5)
        self.assertEqual(frozenset(), back.dead)
        self.assertEqual(test_table.digests(table), test_table.digests(back))
        self.assertEqual(_arcs.of(back), back.arcs)
        number = back.numbered.index('a')
        self.assertNotEqual(table.numbered.index(b'a'), number)
        self.assertEqual(
            16,
            sum(p.endswith(_table.tag(number)) for p in back.points),
        )

    def test_arcs_not_measured_are_not_carried(self):
        updated = _patch.update(
            self.table, set(), 0, [(b'new', 'new', 0, 16)], MD5
        )
        self.assertIsNone(updated.arcs)


class LeaveTestCase(base.TestCase):
    def test_a_leave_takes_the_dead_points_of_the_member_gone(self):
        self.patch(_merge, 'SHARE', 0)
        table = _table.build(members(20, 16), MD5)
        once = _patch.update(table, {'m3'}, 16, [], MD5)
        # m3's dead points went to the next live points' owners; m4 takes
        # some, and they go on with m4's own.
        took = [
            i
            for i, o in enumerate(once.owners[: once.npoints])
            if o == 'm4' and once.points[i] in once.dead
        ]
        self.assertTrue(took)
        twice = _patch.update(once, {'m4'}, 16, [], MD5)
        fresh = _table.build(
            [m for m in members(20, 16) if m[1] not in ('m3', 'm4')], MD5
        )
        for i in took:
            self.assertNotEqual('m4', twice.owners[i])
        live = [
            (p[: -_table.TAG], o)
            for p, o in zip(twice.points, twice.owners[: twice.npoints])
            if p not in twice.dead
        ]
        built = zip(fresh.points[: fresh.npoints], fresh.owners)
        self.assertEqual([(p[: -_table.TAG], o) for p, o in built], live)
        # Every dead point goes to the next live point's owner.
        for i in range(twice.npoints):
            if twice.points[i] in twice.dead:
                j = next(
                    j
                    for j in range(i, twice.npoints)
                    if twice.points[j] not in twice.dead
                )
                self.assertEqual(twice.owners[j], twice.owners[i])
