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

"""hashring status, against a real SQL membership."""

from hashring import status
from hashring.tests import base
from hashring.tests.cmd import cli
from hashring.tests import test_status


class StatusCommandTestCase(test_status.Services, base.TestCase):
    def setUp(self):
        super().setUp()
        self.conf = cli.config(
            self, membership_driver='sql', connection=self.url
        )

    def test_every_group_is_the_library_s_answer(self):
        for name in ('c-1', 'c-2'):
            self.start(name, group='east')
        self.start('c-9', group='west')
        self.rounds()
        data = cli.run_json('status', '--config-file', self.conf)
        expected = [
            status.group_status(self.snapshot(g)).to_dict()
            for g in ('east', 'west')
        ]
        self.assertEqual(expected, data['groups'])
        table = cli.run('status', '--config-file', self.conf).stdout
        fingerprint = expected[0]['fingerprint']
        self.assertIn(
            f'group east: 2 up; ring {fingerprint}, converged', table
        )
        self.assertRegex(table, r'east +c-1 +up +1 +' + fingerprint)
        self.assertIn('group west: 1 up', table)

    def test_an_outage_is_an_error_not_an_empty_status(self):
        self.conf = cli.config(
            self,
            membership_driver='sql',
            read_timeout=1,
            connection='postgresql+psycopg2://127.0.0.1:1/x',
        )
        result = cli.run('status', '--config-file', self.conf, check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn('unavailable', result.stderr)
        self.assertEqual('', result.stdout)


class StatusLineTestCase(base.TestCase):
    def test_members_that_publish_no_ring_are_not_called_converged(self):
        # Convergence takes a member that publishes nothing to apply the
        # current ring; with none publishing it would be said of any group.
        table = cli.run('status', '--members', 'a,b:2').stdout
        self.assertIn('no member publishes the ring it applies', table)
        self.assertNotIn('converged', table)

    def test_a_group_with_no_member_up_has_no_ring(self):
        out = cli.run('status', '--config-file', cli.drained(self)).stdout
        self.assertIn(
            'group default: 1 draining; no member is up, so no ring', out
        )
        self.assertNotIn('peak-to-mean', out)
