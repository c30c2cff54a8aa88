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

import collections
import random

from hashring import _arcs
from hashring import _merge
from hashring import _patch
from hashring import _sizing
from hashring import _table
from hashring import balance
from hashring import ring
from hashring.tests import base
from hashring.tests import invariants
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


class WithMembersTestCase(base.TestCase):
    """A ring updated from another maps every key as one built afresh."""

    KEYS = [f'key-{i}' for i in range(2000)]

    def assert_same(self, updated, fresh):
        invariants.check(updated)
        self.assertEqual(
            fresh.map_keys(self.KEYS), updated.map_keys(self.KEYS)
        )
        self.assertEqual(
            fresh.map_keys(self.KEYS[:200]),
            [updated.get_node(k) for k in self.KEYS[:200]],
        )
        for key in self.KEYS[:50]:
            self.assertEqual(
                fresh.get_nodes(key, replicas=3),
                updated.get_nodes(key, replicas=3),
            )
            self.assertEqual(
                fresh.get_nodes(key, ['m1', 'm2'], replicas=2),
                updated.get_nodes(key, ['m1', 'm2'], replicas=2),
            )
        self.assertEqual(fresh.fingerprint, updated.fingerprint)
        self.assertEqual(dict(fresh.members), dict(updated.members))

    def test_random_changes_match_a_fresh_build(self):
        rng = random.Random(7)
        paths = collections.Counter()
        for before, current, fresh in random_updates(rng, 30):
            with self.subTest(members=dict(fresh.members)):
                self.assert_same(current, fresh)
                self.assertEqual(
                    balance.shares(fresh), balance.shares(current)
                )
            paths[
                'fresh'
                if not current._table.dead and current._span == fresh._span
                else 'updated'
            ] += 1
            # The ring it came from is untouched.
            invariants.check(before)
        # Both ways were taken, each many times.
        self.assertGreater(paths['updated'], 100)
        self.assertGreater(paths['fresh'], 20)

    def test_members_that_leave_and_come_back_match_a_fresh_build(self):
        # Few names, so that a member often returns while its points are
        # dead, at times as the first live point (the wrap round).
        rng = random.Random(11)
        names = [f'svc-{i}' for i in range(1, 7)]
        keys = self.KEYS[:500]
        revived = 0
        for _ in range(150):
            members = dict.fromkeys(names[:5], 1)
            current = ring.HashRing(members, rng.choice([3, 5]))
            for _ in range(8):
                members = dict(members)
                name = rng.choice(names)
                if name in members and len(members) > 1 and rng.random() < 0.4:
                    del members[name]
                else:
                    members[name] = max(
                        members.get(name, 1), rng.randint(1, 2)
                    )
                before = current
                balance.shares(before)
                # Names read afresh, as a manager reads them: equal
                # strings, other objects.
                current = current.with_members(
                    {n.encode().decode(): w for n, w in members.items()}
                )
                revived += len(before._table.dead) > len(current._table.dead)
                fresh = ring.HashRing(members, current.partition_exponent)
                with self.subTest(members=members):
                    invariants.check(current)
                    self.assertEqual(fresh.fingerprint, current.fingerprint)
                    self.assertEqual(
                        fresh.map_keys(keys), current.map_keys(keys)
                    )
        self.assertGreater(revived, 50)

    def test_an_update_keeps_the_points_of_members_kept(self):
        names = [f'compute-{i}' for i in range(50)]
        first = ring.HashRing(names, 7)
        grown = first.with_members(names + ['compute-new'])
        # Not hashed again: the very bytes objects of the first ring.
        kept = {id(p) for p in first._points[: first._count]}
        self.assertEqual(
            50 * 128,
            sum(id(p) in kept for p in grown._points[: grown._count]),
        )
        shrunk = grown.with_members(names[1:] + ['compute-new'])
        self.assertEqual(128, len(shrunk._table.dead))
        self.assertEqual(50 * 128, len(live_points(shrunk)))
        self.assert_same(shrunk, ring.HashRing(shrunk.members, 7))


#: Names that random changes draw from: 'aa' repeats points of 'a', and
#: b'a' is another member of the name of 'a'.
POOL = [f'm{i}' for i in range(30)] + ['a', 'aa', b'a']


def changed(rng, members):
    """Return members with one change at random.

    A join (or a new weight), a leave, more weight for one, or a leave and
    a join at once; never 'a' and b'a' together, which are one name.
    """
    members = dict(members)
    change = rng.random()
    if change < 0.35 or len(members) < 2:
        members[rng.choice(POOL)] = rng.randint(1, 3)
    elif change < 0.65:
        del members[rng.choice(list(members))]
    elif change < 0.85:
        members[rng.choice(list(members))] += 1
    else:
        del members[rng.choice(list(members))]
        members[rng.choice(POOL)] = 1
    if 'a' in members and b'a' in members:
        del members[b'a']
    return members


def random_updates(rng, rings):
    """Yield rings updated by random changes, one member at a time.

    :param rng: the random generator.
    :param rings: how many rings to start, of four members each, each
        then changed twelve times.
    :returns: per change, the ring before it, the ring updated from it
        (:meth:`~hashring.HashRing.with_members`), and a ring built afresh
        of the same members.
    """
    for _ in range(rings):
        exponent = rng.choice([0, 3, 5, 7])
        members = {m: rng.randint(1, 3) for m in rng.sample(POOL[:30], 4)}
        current = ring.HashRing(members, exponent)
        for _ in range(12):
            members = changed(rng, members)
            before = current
            # Measured, so that the update carries its arcs, which
            # invariants.check() measures again.
            balance.shares(before)
            current = current.with_members(members)
            yield before, current, ring.HashRing(members, exponent)


def live_points(r):
    """Return the live points of a ring, as tooz counts them."""
    return [p for p in r._points[: r._count] if p not in r._table.dead]
