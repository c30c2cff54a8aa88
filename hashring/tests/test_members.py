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

from hashring import _members
from hashring import _table
from hashring import exception
from hashring import hashing
from hashring.tests import base

MD5 = hashing.hash_constructor('md5')


def live(table):
    # Each live point's digest and owner, in order.
    return [
        (p[: -_table.TAG], o)
        for p, o in zip(table.points[: table.npoints], table.owners)
        if p not in table.dead
    ]


class NormaliseTestCase(base.TestCase):
    def test_members_come_in_the_order_of_their_encoded_names(self):
        weights, names = _members.normalise({'b': 2, b'a': 1, 'c\u00e9': 3})
        self.assertEqual([b'a', 'b', 'c\u00e9'], list(weights))
        self.assertEqual({b'a': 1, 'b': 2, 'c\u00e9': 3}, weights)
        self.assertEqual(
            {b'a': b'a', b'b': 'b', 'c\u00e9'.encode(): 'c\u00e9'}, names
        )
        # Names alone weigh 1 each; their order does not matter.
        self.assertEqual(
            _members.normalise(['y', 'x']), _members.normalise(['x', 'y'])
        )
        self.assertEqual({'x': 1, 'y': 1}, _members.normalise(['y', 'x'])[0])

    def test_bad_members_are_refused_by_name(self):
        for members, named in (
            (['x', b'x'], "b'x'"),
            (['x', ''], "''"),
            ([3], '3'),
            ({'w': 0}, "'w'"),
            ({'w': 1.5}, "'w'"),
            (['\ud800'], "'\\ud800'"),
        ):
            with self.subTest(members=members):
                exc = self.assertRaises(
                    exception.InvalidMemberError, _members.normalise, members
                )
                self.assertIn(named, str(exc))
        for members in ('xy', b'xy', 5, None):
            with self.subTest(members=members):
                exc = self.assertRaises(
                    exception.InvalidArgumentError,
                    _members.normalise,
                    members,
                )
                self.assertIn(repr(members), str(exc))


class SameObjectsTestCase(base.TestCase):
    def test_equal_members_become_the_previous_objects(self):
        old = ''.join(['comp', 'ute-1'])
        kept = {b'compute-1': old, b'other': b'other'}
        fresh = ''.join(['compute', '-1'])
        self.assertIsNot(old, fresh)
        weights, names = _members.normalise({fresh: 2, 'new': 1, 'other': 1})
        weights, names = _members.same_objects(weights, names, kept)
        self.assertIs(old, names[b'compute-1'])
        self.assertIs(old, next(m for m in weights if m == 'compute-1'))
        self.assertEqual(2, weights[old])
        # Another class of the same name stays itself: 'other' is not
        # b'other'.
        self.assertIs(str, type(names[b'other']))
        self.assertEqual([b'compute-1', b'new', b'other'], list(names))
        # Nothing equal: the very dicts come back.
        w, n = _members.normalise(['a'])
        self.assertEqual((w, n), _members.same_objects(w, n, kept))
        self.assertIs(n, _members.same_objects(w, n, kept)[1])


class IgnoredTestCase(base.TestCase):
    def test_members_among_the_names(self):
        _, names = _members.normalise(['a', b'b', 'c'])
        self.assertEqual(
            {'a', b'b'},
            _members.ignored(names, [b'a', 'b', 'not-a-member']),
        )
        self.assertEqual(set(), _members.ignored(names, []))

    def test_bad_names_are_refused_by_name(self):
        _, names = _members.normalise(['a'])
        err = self.assertRaises(
            exception.InvalidMemberError, _members.ignored, names, ['a', 7]
        )
        self.assertEqual(7, err.member)
        for bad in ('a', b'a', 7, None):
            err = self.assertRaises(
                exception.InvalidArgumentError, _members.ignored, names, bad
            )
            self.assertIn(repr(bad), str(err))


class ChangedTableTestCase(base.TestCase):
    def table(self, weights, per_weight=16):
        w, names = _members.normalise(weights)
        return (
            _table.build(
                [(n, m, w[m] * per_weight) for n, m in names.items()], MD5
            ),
            w,
        )

    def changed(self, before, after, per_weight=16):
        table, old = self.table(before, per_weight)
        weights, names = _members.normalise(after)
        return table, _members.changed_table(
            table, old, weights, names, per_weight, MD5
        )

    def test_the_same_members_share_the_table(self):
        table, found = self.changed({'a': 1, 'b': 2}, {'b': 2, 'a': 1})
        self.assertIs(table, found)

    def test_a_change_is_the_table_of_a_build(self):
        before = {f'm{i}': 1 for i in range(10)}
        for after in (
            {**before, 'm3': 2},
            {**before, 'new': 1},
            {m: 1 for m in list(before)[1:]},
        ):
            _, found = self.changed(before, after)
            fresh, _ = self.table(after)
            self.assertEqual(live(fresh), live(found))

    def test_a_fresh_build_is_due(self):
        # A member losing weight.
        self.assertIsNone(self.changed({'a': 2, 'b': 1}, {'a': 1, 'b': 1})[1])
        # Colliding points ('a' repeats in 'aa').
        self.assertIsNone(self.changed(['a', 'aa'], ['a', 'aa', 'b'])[1])
        # Every member replaced: no live point left to own the dead ones.
        self.assertIsNone(self.changed(['x'], ['y', 'z'])[1])
        self.assertIsNone(self.changed({'x': 1}, {'y': 3})[1])
        # Too many numbers of members gone.
        table, old = self.table({'a': 1, 'b': 1})
        weights, names = _members.normalise(['a', 'b'])
        crowded = table._replace(
            numbered=table.numbered + [None] * (_members.SPARE_NUMBERS + 3)
        )
        self.assertIsNone(
            _members.changed_table(crowded, old, weights, names, 16, MD5)
        )


class TableOfTestCase(base.TestCase):
    def test_a_ring_over_the_limit_is_refused_with_its_size(self):
        weights, names = _members.normalise({'a': 3, 'b': 2})
        err = self.assertRaises(
            exception.InvalidArgumentError,
            _members.table_of,
            weights,
            names,
            16,
            MD5,
            79,
        )
        self.assertIn(
            'A ring of 80 points is too large (at most 79)', str(err)
        )
        table = _members.table_of(weights, names, 16, MD5, 80)
        self.assertEqual(80, table.live)

    def test_a_previous_ring_is_patched_where_it_can_be(self):
        before, names = _members.normalise([f'm{i}' for i in range(10)])
        table = _members.table_of(before, names, 16, MD5, 2**20)
        after, names = _members.normalise([*before, 'first'])
        patched = _members.table_of(
            after, names, 16, MD5, 2**20, (table, before)
        )
        fresh = _members.table_of(after, names, 16, MD5, 2**20)
        self.assertEqual(live(fresh), live(patched))
        # Patched, not built: the new member numbered after the others,
        # where a build numbers the members in name order.
        self.assertEqual('first', patched.numbered[-1])
        self.assertEqual('first', fresh.numbered[0])
        # Where no patch serves (a member losing weight), a build.
        less, names = _members.normalise({**before, 'm0': 1})
        heavier = {**before, 'm0': 2}
        heavy = _members.table_of(
            heavier, _members.normalise(heavier)[1], 16, MD5, 2**20
        )
        rebuilt = _members.table_of(
            less, names, 16, MD5, 2**20, (heavy, heavier)
        )
        self.assertEqual(
            live(_members.table_of(less, names, 16, MD5, 2**20)),
            live(rebuilt),
        )
        self.assertEqual(sorted(less), rebuilt.numbered)
