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
from hashring import lint
from hashring import manager
from hashring.tests import base
from hashring.tests import test_manager


class FindingsTestCase(base.TestCase):
    def test_all_is_well(self):
        self.assertEqual(
            [], lint.findings(['c1', 'c2:8089', 'c3.example.org'], 3)
        )

    def test_case_and_white_space(self):
        found = lint.findings(['Host-1', 'host-1', ' HOST-1', 'host-2'])
        self.assertEqual(
            [
                "members ' HOST-1', 'Host-1', 'host-1' differ only by case or "
                'white space: one host under several names?'
            ],
            found,
        )

    def test_host_and_port(self):
        found = lint.findings(['Host-1', 'host-1:8089', 'host-2:x'])
        self.assertEqual(
            [
                "members 'host-1' and 'host-1:8089' are one host with and "
                'without a port: is one of them stale?'
            ],
            found,
        )

    def test_more_than_expected(self):
        self.assertEqual(
            ['3 members, more than the 2 expected'],
            lint.findings(['a', 'b', 'c'], 2),
        )
        self.assertEqual([], lint.findings(['a', 'b'], 2))


class CheckTestCase(base.TestCase):
    def test_logged_once_per_change(self):
        seen = {}
        with self.assertLogs('hashring.lint', 'WARNING') as logs:
            found = lint.check('g', ['a', 'A'], None, seen)
        self.assertEqual(1, len(found))
        self.assertIn('Group g: members', logs.output[0])
        with self.assertNoLogs('hashring.lint', 'WARNING'):
            self.assertEqual([], lint.check('g', ['A', 'a'], None, seen))
        # Another group, or a change, is checked again.
        with self.assertLogs('hashring.lint', 'WARNING'):
            lint.check('h', ['a', 'A'], None, seen)
        self.assertEqual([], lint.check('g', ['a'], None, seen))
        with self.assertLogs('hashring.lint', 'WARNING'):
            lint.check('g', ['a', 'A'], None, seen)


class ManagerLintTestCase(base.TestCase):
    def test_host_and_port_and_more_than_expected(self):
        source = test_manager.FakeSource()
        source.set(**{'c1': 'up', 'c1:8089': 'up', 'c2': 'up'})
        mgr = manager.RingManager(source, reset_interval=0, expected_members=2)
        with self.assertLogs('hashring.lint', 'WARNING') as logs:
            mgr.get_ring()
        text = '\n'.join(logs.output)
        self.assertIn("'c1' and 'c1:8089' are one host", text)
        self.assertIn('3 members, more than the 2 expected', text)
        # Once per change: the same members log nothing more.
        with self.assertNoLogs('hashring.lint', 'WARNING'):
            mgr.refresh()

    def test_bad_expected_members(self):
        for bad in (0, -1, 2.0, 'many'):
            with self.subTest(expected=bad):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    manager.RingManager,
                    test_manager.FakeSource(),
                    expected_members=bad,
                )
                self.assertIn(repr(bad), str(err))
