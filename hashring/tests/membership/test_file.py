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

import datetime
import json
import os

import fixtures

from hashring import exception
from hashring import membership
from hashring.membership import base
from hashring.tests import base as test_base
from hashring.tests.membership import contract
from hashring.tests.membership import contract_claims
from hashring.tests.membership import contract_outages
from hashring.tests.membership import outages


class FileContractTestCase(
    contract_claims.OperatorStates,
    contract_outages.PublishedOutages,
    contract.Contract,
    test_base.TestCase,
):
    driver = 'file'

    def setUp(self):
        self.path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.json'
        )
        membership.load('file', membership_file=self.path).create()
        super().setUp()

    def options(self):
        return {'membership_file': self.path}

    def forget(self, group, member_id):
        source = self.source()
        with source._update() as data:
            del data['groups'][group][member_id]


class FileSourceMixin:
    """Sources over the test's file, with the contract's fast timings."""

    driver = 'file'

    def options(self):
        return {'membership_file': self.path}

    source = contract.Contract.source


class FileOutageTestCase(FileSourceMixin, outages.Freeze, test_base.TestCase):
    """A process frozen while it holds the lock is the file's outage."""

    def setUp(self):
        super().setUp()
        self.path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.json'
        )
        membership.load('file', membership_file=self.path).create()
        self.srv = outages.FrozenLockHolder(self, 'file', self.path + '.lock')
        self.group = 'outage'


class FileTestCase(FileSourceMixin, test_base.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'members.json')

    def write(self, text):
        with open(self.path, 'w') as f:
            f.write(text)

    def test_bad_files_are_errors_never_empty(self):
        self.source().join('a')
        good = open(self.path).read()
        for text, message in (
            (good[: len(good) // 2], 'not valid JSON'),
            ('', 'not valid JSON'),
            ('[]', 'not a hashring-membership file'),
            ('{"groups": {}}', 'not a hashring-membership file'),
            (
                '{"format": "hashring-membership", "version": 9, '
                '"groups": {}}',
                'version 9 is not 1',
            ),
            (
                '{"format": "hashring-membership", "version": 1, "groups": '
                '{"default": []}}',
                "group 'default' is not a mapping",
            ),
            ('[' * 100_000, 'maximum recursion depth'),
        ):
            with self.subTest(text=text[:30]):
                self.write(text)
                reader = self.source()
                err = self.assertRaises(
                    exception.MembershipUnavailable, reader.get_members
                )
                self.assertIn(message, str(err))
                self.assertIn(self.path, str(err))
                # A writer neither overwrites it nor raises anything else
                # (it raised TypeError on a group that is a list, and
                # RecursionError on JSON nested too deeply).
                err = self.assertRaises(
                    exception.MembershipUnavailable, self.source().join, 'b'
                )
                self.assertIn(message, str(err))
                with open(self.path) as f:
                    self.assertEqual(text, f.read())

    def test_missing_file_is_an_error(self):
        err = self.assertRaises(
            exception.MembershipUnavailable, self.source().get_members
        )
        self.assertIn('does not exist', str(err))
        self.source().create()
        self.assertEqual(0, len(self.source().get_members()))

    def test_a_bad_record_is_left_out_and_logged(self):
        now = base.utcnow().isoformat()
        good = {'state': 'up', 'weight': 1, 'heartbeat': now}
        self.write(
            json.dumps(
                {
                    'format': 'hashring-membership',
                    'version': 1,
                    'groups': {
                        'default': {
                            'a': good,
                            'b': {'state': 'sleepy'},
                            'c': {**good, 'weight': 5000},
                            'd': {**good, 'heartbeat': 'yesterday'},
                        }
                    },
                }
            )
        )
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            self.assertEqual({'a': 1}, self.source().get_members().up())
        text = '\n'.join(logs.output)
        for name in ("'b'", "'c'", "'d'", self.path):
            self.assertIn(name, text)

    def test_a_claim_mends_a_state_that_does_not_read(self):
        # A claim keeps the state stored (an operator's drain), but not
        # one that would leave the member's record unread.
        node = self.source()
        node.join('a')
        for stored, read in (
            ('sleepy', base.State.UP),
            (['up'], base.State.UP),
            ('disabled', base.State.DISABLED),
        ):
            with node._update() as data:
                data['groups']['default']['a']['state'] = stored
            node.publish('default', None)
            self.assertEqual(
                read, self.source().get_members().members['a'].state
            )

    def test_colliding_records(self):
        now = base.utcnow().isoformat()
        record = {'state': 'up', 'weight': 1, 'heartbeat': now}
        self.write(
            json.dumps(
                {
                    'format': 'hashring-membership',
                    'version': 1,
                    'groups': {'default': {'Host': record, 'host': record}},
                }
            )
        )
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            self.assertEqual(
                ['host'], list(self.source().get_members().members)
            )
        self.assertIn("same member as record 'host'", logs.output[0])

    def test_writes_replace_the_file_whole(self):
        a = self.source()
        a.join('a')
        inode = os.stat(self.path).st_ino
        a.heartbeat()
        self.assertNotEqual(inode, os.stat(self.path).st_ino)
        leftovers = [n for n in os.listdir(self.dir) if n.startswith('.')]
        self.assertEqual([], leftovers)

    def test_cleanup_after_retention(self):
        # No heartbeat in the test's time: the first would clean up too.
        a = self.source(heartbeat_interval=30, dead_after=60)
        a.join('a')
        old = (base.utcnow() - datetime.timedelta(days=30)).isoformat()
        with a._update() as data:
            data['groups'].setdefault('g', {})['gone'] = {
                'state': 'up',
                'weight': 1,
                'heartbeat': old,
            }
        self.assertIn('gone', self.source().get_members('g'))
        self.assertEqual(1, a.cleanup())
        self.assertNotIn('gone', self.source().get_members('g'))
        self.assertIn('a', self.source().get_members())

    def test_self_is_never_dead_from_its_own_stale_record(self):
        a = self.source(heartbeat_interval=60, dead_after=120)
        a.join('a')
        old = (base.utcnow() - datetime.timedelta(hours=1)).isoformat()
        with a._update() as data:
            data['groups']['default']['a']['heartbeat'] = old
        self.assertEqual({'a': 1}, a.get_members().up())
        other = self.source(heartbeat_interval=60, dead_after=120)
        self.assertEqual({}, other.get_members().up())


class FileSecurityTestCase(test_base.TestCase):
    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'members.json')

    def test_modes_are_the_documented_ones(self):
        old = os.umask(0)
        self.addCleanup(os.umask, old)
        membership.load('file', membership_file=self.path).create()
        for name in (self.path, self.path + '.lock'):
            self.assertEqual(0o600, os.stat(name).st_mode & 0o777)
        shared = os.path.join(self.dir, 'shared.json')
        membership.load(
            'file', membership_file=shared, membership_file_mode='0660'
        ).create()
        self.assertEqual(0o660, os.stat(shared).st_mode & 0o777)
        err = self.assertRaises(
            exception.InvalidArgumentError,
            membership.load,
            'file',
            membership_file=shared,
            membership_file_mode='0666',
        )
        self.assertIn('every user write the lock', str(err))

    def test_a_symlinked_lock_is_refused(self):
        victim = os.path.join(self.dir, 'victim')
        with open(victim, 'w') as f:
            f.write('secret')
        os.chmod(victim, 0o600)
        os.symlink(victim, self.path + '.lock')
        source = membership.load('file', membership_file=self.path)
        err = self.assertRaises(exception.MembershipUnavailable, source.create)
        self.assertIn('symbolic link', str(err))
        self.assertEqual(0o600, os.stat(victim).st_mode & 0o777)
