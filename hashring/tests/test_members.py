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
from hashring import exception
from hashring.tests import base


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
