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

from hashring import exception
from hashring import membership
from hashring.membership import static
from hashring.tests import base


class StaticTestCase(base.TestCase):
    def test_members_and_weights(self):
        source = membership.load(
            'static', members=['Compute-1', 'compute-2:2']
        )
        snapshot = source.get_members()
        self.assertEqual({'compute-1': 1, 'compute-2': 2}, snapshot.up())
        self.assertEqual(snapshot.up(), source.get_members('shard-7').up())
        self.assertEqual(
            snapshot.generation, source.get_members('other').generation
        )

    def test_mapping_and_string(self):
        self.assertEqual(
            {'A': 3, 'b': 1}, static.parse_members({'A': 3, 'b': 1})
        )
        self.assertEqual({'a': 1, 'b': 2}, static.parse_members('a,b:2'))
        self.assertEqual({}, membership.load('static').get_members().up())

    def test_registration_is_not_supported(self):
        source = membership.load('static', members=['a'])
        for call in (
            lambda: source.join('a'),
            source.drain,
        ):
            err = self.assertRaises(exception.RegistrationNotSupported, call)
            self.assertIsInstance(err, NotImplementedError)
            self.assertIn('static', str(err))

    def test_bad_members(self):
        for members, bad, message in (
            (['a', 'A'], 'A', "same member as 'a'"),
            (['a', 'a:2'], 'a', 'it is listed twice'),
            (['a:0'], 'a', 'weight 0 is below 1'),
            (['a:x'], 'a:x', "weight 'x' is not an integer"),
            ([''], '', 'a member id is required'),
            (['a', b'b'], b'b', 'member ids must be str'),
            (['a', 5], 5, 'member ids must be str'),
        ):
            with self.subTest(members=members):
                err = self.assertRaises(
                    exception.InvalidMemberError,
                    membership.load,
                    'static',
                    members=members,
                )
                self.assertIn(message, str(err))
                self.assertIn(repr(bad), str(err))
