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
