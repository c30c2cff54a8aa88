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

import copy
import operator

from hashring import compat
from hashring import exception
from hashring import ring
from hashring import ringvalue
from hashring.tests import base

FOO_BAR_BAZ = ['foo', 'bar', 'baz']


class RingValueTestCase(base.TestCase):
    """What a ring tells of itself, and how it behaves as a value."""

    def test_attributes(self):
        r = ring.HashRing({'b': 2, 'a': 1}, 7, 'sha256')
        self.assertEqual({'a': 1, 'b': 2}, dict(r.members))
        self.assertEqual(['a', 'b'], list(r.members))
        self.assertEqual(7, r.partition_exponent)
        self.assertEqual('sha256', r.hash_function)
        self.assertEqual(2, len(r))
        self.assertIn('members=2', repr(r))

    def test_read_only(self):
        r = ring.HashRing(FOO_BAR_BAZ)
        for name in (
            'members',
            'partition_exponent',
            'hash_function',
            'fingerprint',
        ):
            self.assertRaises(AttributeError, setattr, r, name, 1)
        self.assertRaises(TypeError, operator.setitem, r.members, 'x', 1)
        self.assertRaises(AttributeError, setattr, r, 'anything', 1)

    def test_input_is_copied(self):
        members = {'a': 1, 'b': 1}
        r = ring.HashRing(members)
        members['c'] = 5
        self.assertEqual({'a': 1, 'b': 1}, dict(r.members))

    def test_default_parameters(self):
        r = ring.HashRing(FOO_BAR_BAZ)
        self.assertEqual(5, r.partition_exponent)
        self.assertEqual('md5', r.hash_function)
        self.assertEqual(96, r._count)

    def test_membership_by_name(self):
        r = ring.HashRing([b'foo', 'bar', b'baz'])
        # 'x' and b'x' are one member, whichever the ring was given.
        for name in (b'foo', 'foo', 'bar', b'bar', 'baz'):
            self.assertIn(name, r)
        # Not a name at all: not a member, rather than an error.
        for other in ('nope', b'', 42, None, ['foo']):
            self.assertNotIn(other, r)
        self.assertNotIn('foo', ring.HashRing([]))

    def test_points_and_exponent(self):
        self.assertEqual(128, ring.HashRing(FOO_BAR_BAZ, 7).points)
        r = ring.HashRing(FOO_BAR_BAZ, points=200)
        self.assertEqual(200, r.points)
        # No exponent gives 200 points.
        self.assertIsNone(r.partition_exponent)

    def test_generation_only_from_a_manager(self):
        r = ring.HashRing(FOO_BAR_BAZ)
        self.assertIsNone(r.generation)
        self.assertIsNone(r.with_members(['foo']).generation)

    def test_fingerprint_is_measured_once(self):
        r = ring.HashRing(FOO_BAR_BAZ)
        first = r.fingerprint
        self.assertIs(first, r.fingerprint)
        self.assertEqual(16, len(first))
        self.assertNotEqual(first, ring.HashRing(['foo', 'bar']).fingerprint)

    def test_repr_names_the_parameters(self):
        r = ring.HashRing({'a': 2, 'b': 1}, 3, 'sha1')
        self.assertEqual(
            '<HashRing members=2 points=8 hash_function=sha1>', repr(r)
        )

    def test_copies_are_the_ring(self):
        r = ring.HashRing(FOO_BAR_BAZ)
        self.assertIs(r, copy.copy(r))
        self.assertIs(r, copy.deepcopy(r))
        holder = copy.deepcopy({'ring': r, 'list': [1]})
        self.assertIs(r, holder['ring'])


class CheckedTestCase(base.TestCase):
    def test_a_ring_passes_and_anything_else_is_named(self):
        two = ring.HashRing(['a', 'b'])
        self.assertIs(two, ringvalue.checked('ring', two))
        for value in (compat.ToozHashRing(['a']), ['a', 'b'], None):
            err = self.assertRaises(
                exception.InvalidArgumentError,
                ringvalue.checked,
                'old_ring',
                value,
            )
            self.assertIn(
                f'old_ring must be a hashring.HashRing, not '
                f'{type(value).__name__}',
                str(err),
            )
