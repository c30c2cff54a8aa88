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

from hashring import _validate
from hashring import exception
from hashring.tests import base


class IntegerTestCase(base.TestCase):
    def test_accepts(self):
        self.assertEqual(0, _validate.integer('n', 0, 0, 5))
        self.assertEqual(5, _validate.integer('n', 5, 0, 5))
        self.assertEqual(10**9, _validate.integer('n', 10**9, 1))

    def test_refuses_and_names_the_value(self):
        for value, bounds in (
            (-1, 'from 0 to 5'),
            (6, 'from 0 to 5'),
            (2.0, 'from 0 to 5'),
            ('3', 'from 0 to 5'),
            (None, 'from 0 to 5'),
            (True, 'from 0 to 5'),
        ):
            err = self.assertRaises(
                exception.InvalidArgumentError,
                _validate.integer,
                'count',
                value,
                0,
                5,
            )
            self.assertEqual(
                f'count must be an integer {bounds}, not {value!r}', str(err)
            )
        err = self.assertRaises(
            exception.InvalidArgumentError, _validate.integer, 'r', 0, 1
        )
        self.assertIn('of at least 1', str(err))


class PointsPerWeightTestCase(base.TestCase):
    def test_an_exponent_or_points_give_the_points(self):
        self.assertEqual(32, _validate.points_per_weight(None, None, 5, 16))
        self.assertEqual(1, _validate.points_per_weight(0, None, 5, 16))
        self.assertEqual(2**16, _validate.points_per_weight(16, None, 5, 16))
        self.assertEqual(200, _validate.points_per_weight(None, 200, 5, 16))
        self.assertEqual(64, _validate.points_per_weight(6, 64, 5, 16))

    def test_bad_values_are_refused_by_name(self):
        for exponent, points, message in (
            (17, None, 'partition_exponent must be an integer from 0 to 16'),
            (-1, None, 'partition_exponent must be an integer from 0 to 16'),
            (None, 0, 'points must be an integer from 1 to 65536, not 0'),
            (None, 2**16 + 1, 'points must be an integer from 1 to 65536'),
            (5, 64, 'points=64 and partition_exponent=5 disagree'),
        ):
            err = self.assertRaises(
                exception.InvalidArgumentError,
                _validate.points_per_weight,
                exponent,
                points,
                5,
                16,
            )
            self.assertIn(message, str(err))


class WeightTestCase(base.TestCase):
    def test_accepts_integers_of_at_least_one(self):
        self.assertEqual(1, _validate.weight('a', 1))
        self.assertEqual(7, _validate.weight('a', 7))

        class Count(int):
            pass

        # An int subclass is kept as a plain int.
        self.assertIs(int, type(_validate.weight('a', Count(3))))

    def test_refuses_and_names_member_and_value(self):
        for value, reason in (
            (0, 'weight 0 is below 1'),
            (-2, 'weight -2 is below 1'),
            (1.5, 'weight 1.5 is not an integer'),
            ('2', "weight '2' is not an integer"),
            (True, 'weight True is not an integer'),
            (None, 'weight None is not an integer'),
        ):
            with self.subTest(value=value):
                err = self.assertRaises(
                    exception.InvalidMemberError,
                    _validate.weight,
                    'node-a',
                    value,
                )
                self.assertIn(reason, str(err))
                self.assertIn('node-a', str(err))


class IdSetTestCase(base.TestCase):
    def test_hashable_items_make_a_set(self):
        self.assertEqual({'a', None}, _validate.id_set('ids', ['a', None]))
        self.assertTrue(_validate.hashable(('a', 1)))
        self.assertFalse(_validate.hashable(('a', [])))

    def test_an_item_that_cannot_be_hashed_is_named(self):
        for bad in ([1], bytearray(b'x'), {'id': 'a'}, ('a', [])):
            with self.subTest(bad=bad):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    _validate.id_set,
                    'instances',
                    ['a', bad],
                )
                self.assertIn(f'instances holds {bad!r}', str(err))
                self.assertIn(type(bad).__name__, str(err))
        err = self.assertRaises(
            exception.InvalidArgumentError, _validate.id_set, 'ids', 'ab'
        )
        self.assertIn('ids must be a collection', str(err))


class NumberTestCase(base.TestCase):
    def test_finite_numbers_at_least_low(self):
        self.assertEqual(1.5, _validate.number('bound', 1.5))
        self.assertIs(float, type(_validate.number('bound', 2, 1.0)))
        for value in (0.5, float('nan'), float('inf'), True, '2', None):
            with self.subTest(value=value):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    _validate.number,
                    'bound',
                    value,
                    1.0,
                )
                self.assertIn(
                    f'bound must be a finite number of at least 1, not '
                    f'{value!r}',
                    str(err),
                )


class MappingTestCase(base.TestCase):
    def test_a_mapping_passes_and_anything_else_is_named(self):
        weights = {'a': 1}
        self.assertIs(weights, _validate.mapping('shards', weights))
        err = self.assertRaises(
            exception.InvalidArgumentError,
            _validate.mapping,
            'members',
            ['a'],
            'a mapping of name to weight',
        )
        self.assertEqual(
            "members must be a mapping of name to weight, not list ['a']",
            str(err),
        )


class RepeatedTestCase(base.TestCase):
    def test_a_member_given_again_is_refused_naming_both(self):
        for member, earlier, said in (
            ('a', 'a', 'it is listed twice'),
            (b'x', 'x', "it is the same member as 'x'"),
            ('A', 'a', "it is the same member as 'a'"),
        ):
            with self.subTest(member=member, earlier=earlier):
                err = self.assertRaises(
                    exception.InvalidMemberError,
                    _validate.repeated,
                    member,
                    earlier,
                )
                self.assertEqual(member, err.member)
                self.assertIn(repr(member), str(err))
                self.assertIn(said, str(err))
