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

"""Changes of many points merged by NumPy, against fresh builds."""

import random

from tooz import hashring as tooz_hashring

from hashring import _arcs
from hashring import _fast
from hashring import _members
from hashring import _merge
from hashring import _table
from hashring import balance
from hashring import ring
from hashring.tests import base
from hashring.tests import invariants
from hashring.tests import test_fast
from hashring.tests import test_ring_updates


@test_fast.with_numpy
class MergeTestCase(base.TestCase):
    """Changes merged by NumPy (:func:`_merge.merge`) match fresh builds."""

    KEYS = test_ring_updates.WithMembersTestCase.KEYS
    assert_same = test_ring_updates.WithMembersTestCase.assert_same

    def setUp(self):
        super().setUp()
        self.merged = 0
        merge = _merge.merge

        def counted(*args):
            found = merge(*args)
            self.merged += found is not None
            return found

        self.patch(_merge, 'merge', counted)

    def refills(self):
        """Count the merges' refills (:func:`_merge._refilled`).

        :returns: a list to which each call appends whether it refilled.
        """
        refilled = _merge._refilled
        calls = []

        def counted(*args):
            found = refilled(*args)
            calls.append(found is not None)
            return found

        self.patch(_merge, '_refilled', counted)
        return calls

    def merge_at_random(self, seed):
        """Merge or patch each change at random, at any size.

        :returns: the random generator that decides, seeded.
        """
        self.patch(_fast, 'MIN_POINTS', 1)
        self.patch(_merge, 'MIN_POINTS', 1)
        rng = random.Random(seed)
        self.patch(
            _merge, 'merges', lambda points, changed: rng.random() < 0.5
        )
        return rng

    def test_random_changes_merged_or_patched_match_a_fresh_build(self):
        # Either way at random, so that merges follow patches (and drop
        # their dead points) and patches follow merges.
        rng = self.merge_at_random(5)
        dropped = 0
        merged = 0
        for before, current, fresh in test_ring_updates.random_updates(
            rng, 25
        ):
            with self.subTest(members=dict(fresh.members)):
                self.assert_same(current, fresh)
                self.assertEqual(
                    balance.shares(fresh), balance.shares(current)
                )
                if self.merged > merged:
                    # Nothing dead, and the index a build's.
                    self.assertEqual(frozenset(), current._table.dead)
                    self.assertEqual(fresh._offsets, current._offsets)
                    self.assertEqual(fresh._span, current._span)
                    dropped += bool(before._table.dead)
            merged = self.merged
            invariants.check(before)
        self.assertGreater(self.merged, 60)
        self.assertGreater(dropped, 10)

    def test_a_merge_fills_again_the_index_entries_that_change(self):
        # Whatever share of the points changes, so that every merge of a
        # table without dead points starts from its index.
        rng = self.merge_at_random(17)
        self.patch(_merge, 'REFILL_SHARE', 1)
        calls = self.refills()
        merged = 0
        for before, current, fresh in test_ring_updates.random_updates(
            rng, 25
        ):
            with self.subTest(members=dict(fresh.members)):
                self.assert_same(current, fresh)
                if self.merged > merged:
                    # Entry by entry, a build's index: the same buckets
                    # occupied, the same owners of the others.
                    self.assertEqual(index_of(fresh), index_of(current))
            merged = self.merged
        self.assertGreater(sum(calls), 40)

    def test_a_merge_of_few_points_fills_again_only_their_entries(self):
        names = [f'compute-{i}' for i in range(30)]
        calls = self.refills()
        first = ring.HashRing(names[1:], 10)
        # A thirtieth of the points changes: the entries before theirs.
        joined = first.with_members(names)
        left = joined.with_members(names[1:])
        self.assertEqual([True, True], calls)
        for each in (joined, left):
            fresh = ring.HashRing(each.members, 10)
            self.assertEqual(index_of(fresh), index_of(each))
            self.assert_same(each, fresh)
        # A tenth of them: every entry, unless the share allows it.
        ten = ring.HashRing(names[:10], 10)
        ten.with_members(names[:9])
        self.assertEqual([True, True], calls)
        self.patch(_merge, 'REFILL_SHARE', 5)
        self.assert_same(
            ten.with_members(names[:9]), ring.HashRing(names[:9], 10)
        )
        self.assertEqual([True, True, True], calls)
        self.assertEqual(4, self.merged)

    def test_large_changes_are_merged_and_small_ones_patched(self):
        names = [f'compute-{i}' for i in range(10)]
        hashes = ('md5', 'sha1', 'sha224', 'blake2b')
        for hash_function in hashes:
            small = ring.HashRing(names, 8, hash_function)
            joined = small.with_members(names + ['compute-new'])
            left = small.with_members(names[1:])
            for each in (joined, left):
                with self.subTest(hash=hash_function):
                    fresh = ring.HashRing(each.members, 8, hash_function)
                    self.assertEqual(fresh._offsets, each._offsets)
                    self.assertEqual(frozenset(), each._table.dead)
                    self.assert_same(each, fresh)
        self.assertEqual(2 * len(hashes), self.merged)
        # One of a hundred members: a patch costs less.
        names = [f'compute-{i}' for i in range(100)]
        patched = ring.HashRing(names, 5).with_members(names[1:])
        self.assertEqual(2 * len(hashes), self.merged)
        self.assertEqual(32, len(patched._table.dead))
        self.assertTrue(_merge.merges(100 * 32, -(-100 * 32 // _merge.SHARE)))
        self.assertFalse(_merge.merges(100 * 32, 1))
        self.assertFalse(_merge.merges(_merge.MIN_POINTS - 1, 10**6))

    def test_arcs_are_measured_as_merged(self):
        self.patch(_fast, 'MIN_POINTS', 1)
        self.patch(_merge, 'MIN_POINTS', 1)
        self.patch(_merge, 'SHARE', 10**6)
        first = ring.HashRing(['a-1', 'b-2'], 6)
        balance.shares(first)
        both = first.with_members(['a-1', 'b-2', 'c-3'])
        alone = both.with_members(['c-3'])
        self.assertEqual(2, self.merged)
        for each in (both, alone):
            self.assertEqual(_arcs.of(each._table), each._table.arcs)
        # An owner of every point owns the whole space, which 64-bit
        # arithmetic wraps to nothing.
        self.assertEqual({'c-3': 1.0}, balance.shares(alone))
        self.assertEqual(3, len(alone._table.arcs))

    def test_points_that_share_their_top_bits_are_built_afresh(self):
        self.patch(_fast, 'MIN_POINTS', 1)
        self.patch(_merge, 'MIN_POINTS', 1)
        self.patch(_merge, 'SHARE', 10**6)
        point = b'\x10' * 16 + _table.tag(0)
        same = b'\x10' * 8 + b'\x11' * 8 + _table.tag(1)
        other = b'\x20' * 16 + _table.tag(1)
        self.assertIsNone(
            _merge.merge([point], [], [same], ['a', 'b'], 16, False)
        )
        self.assertIsNone(
            _merge.merge(
                [point], [], [other, same, other], ['a', 'b'], 16, False
            )
        )
        points, owners, direct, span, arcs, words, offsets = _merge.merge(
            [point], [], [other], ['a', 'b'], 16, False
        )
        self.assertIsNone(words)
        self.assertEqual([point, other], points)
        self.assertEqual(['a', 'b'], owners)
        # 'aa' hashes to points of 'a': the change is built afresh, which
        # drops them.
        merged = self.merged
        r = ring.HashRing(['a', 'b'], 4).with_members(['a', 'aa', 'b'])
        self.assertEqual(merged, self.merged)
        self.assert_same(r, ring.HashRing(['a', 'aa', 'b'], 4))

    def test_numbers_of_members_gone_do_not_pile_up(self):
        self.patch(_fast, 'MIN_POINTS', 1)
        self.patch(_merge, 'MIN_POINTS', 1)
        self.patch(_merge, 'SHARE', 10**6)
        names = [f'm{i}' for i in range(4)]
        current = ring.HashRing(names, 4)
        most = 0
        for i in range(60):
            current = current.with_members(names + [f'new-{i}'])
            most = max(most, len(current._table.numbered))
        self.assertGreater(self.merged, 40)
        self.assertEqual(2 * 5 + _members.SPARE_NUMBERS + 1, most)
        self.assert_same(current, ring.HashRing(current.members, 4))

    def test_a_member_back_with_fewer_points_keeps_them_through_a_merge(self):
        # x leaves and comes back with less weight, both patched: its
        # first points live again, the others stay dead, all with its
        # number; a merge after that dropped every point of the number.
        self.patch(_fast, 'MIN_POINTS', 1)
        self.patch(_merge, 'MIN_POINTS', 1)
        merging = False
        self.patch(_merge, 'merges', lambda points, changed: merging)
        members = {f'm{i}': 1 for i in range(10)}
        back = {**members, 'x': 1}
        current = (
            ring.HashRing({**members, 'x': 3}, 5)
            .with_members(members)
            .with_members(back)
        )
        self.assertEqual(64, len(current._table.dead))
        merging = True
        for after in ({**back, 'y': 1}, {**back, 'x': 2}, members):
            with self.subTest(after=after):
                updated = current.with_members(after)
                self.assert_same(updated, ring.HashRing(after, 5))
                self.assertFalse(updated._table.dead)

    def test_members_that_come_and_go_match_tooz_merged_or_patched(self):
        # Few names and weights that go down as well as up, so that
        # members return with more or fewer points than they left with,
        # while their points are dead, and at times every member goes;
        # each update merged or patched at random.
        rng = self.merge_at_random(13)
        names = [f'svc-{i}' for i in range(6)]
        keys = [k.encode() for k in self.KEYS[:300]]
        for _ in range(60):
            exponent = rng.choice([2, 4, 6])
            members = {n: rng.randint(1, 3) for n in rng.sample(names, 3)}
            current = ring.HashRing(members, exponent)
            for _ in range(10):
                if rng.random() < 0.1:
                    members = {n: 2 for n in names if n not in members} or {
                        names[0]: 1
                    }
                else:
                    members = dict(members)
                    name = rng.choice(names)
                    if name in members and len(members) > 1:
                        del members[name]
                    else:
                        members[name] = rng.randint(1, 3)
                current = current.with_members(members)
                theirs = tooz_hashring.HashRing([], partitions=2**exponent)
                for name, weight in members.items():
                    theirs.add_node(name, weight=weight)
                with self.subTest(members=members):
                    invariants.check(current)
                    self.assertEqual(
                        [theirs.get_nodes(k, replicas=2) for k in keys],
                        [set(current.get_nodes(k, replicas=2)) for k in keys],
                    )


def index_of(r):
    """Return a ring's index, with owners for their numbers.

    None where a bucket holds points: an updated ring may count their
    first point from elsewhere, which the invariants check.
    """
    return [None if e < 0 else r._numbered[e] for e in r._direct]
