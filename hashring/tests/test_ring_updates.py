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

"""Rings updated from others (with_members) map keys as fresh builds."""

import collections
import random

from hashring import balance
from hashring import ring
from hashring.tests import base
from hashring.tests import invariants


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

    def test_every_member_replaced_matches_a_fresh_build(self):
        # One member replaced by two (by members of at least twice its
        # points): the update raised StopIteration, finding no live point
        # left to own the points of the members gone.
        for exponent in (0, 5, 8, 11):
            for before, after in (
                (['x'], ['y', 'z']),
                (['a', 'b'], ['c', 'd', 'e', 'f']),
                ({'x': 1}, {'y': 3}),
            ):
                with self.subTest(exponent=exponent, before=before):
                    updated = ring.HashRing(before, exponent).with_members(
                        after
                    )
                    self.assert_same(updated, ring.HashRing(after, exponent))

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
