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


"""hashring members, join, heartbeat, drain and leave."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import fixtures
from tooz import hashring as tooz_hashring

import hashring
from hashring import handoff
from hashring import membership
from hashring.tests import base
from hashring.tests.cmd import cli


class MembershipCommandsTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.db = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.sqlite'
        )
        self.conf = cli.config(
            self,
            membership_driver='sql',
            connection=f'sqlite:///{self.db}',
            dead_after=600,
            heartbeat_interval=10,
        )

    def cli(self, *argv, **kwargs):
        return cli.run(*argv, '--config-file', self.conf, **kwargs)

    def test_join_members_drain_leave(self):
        self.cli('join', '--host', 'Compute-1', '--weight', '2')
        self.cli('join', '--host', 'compute-2')
        data = json.loads(self.cli('members', '--format', 'json').stdout)
        source = membership.load('sql', connection=f'sqlite:///{self.db}')
        self.addCleanup(source.close)
        snapshot = source.get_members()
        self.assertEqual(snapshot.generation, data['generation'])
        self.assertEqual(
            [
                ('compute-1', 'Compute-1', 'up', 2),
                ('compute-2', 'compute-2', 'up', 1),
            ],
            [
                (m['id'], m['name'], m['state'], m['weight'])
                for m in data['members']
            ],
        )
        self.assertIn('Compute-1  up', self.cli('members').stdout)
        self.assertTrue(all(m['age'] < 60 for m in data['members']))
        # Each join an incarnation of its own; a join again keeps it.
        first = [m['incarnation'] for m in data['members']]
        self.assertEqual(2, len(set(first) - {None}))
        self.cli('join', '--host', 'compute-1')
        data = json.loads(self.cli('members', '--format', 'json').stdout)
        self.assertEqual(first, [m['incarnation'] for m in data['members']])
        self.cli('drain', '--host', 'compute-2')
        self.cli('heartbeat', '--host', 'compute-2')
        self.assertEqual({'compute-1': 2}, source.get_members().up())
        table = self.cli('members').stdout
        self.assertIn('compute-2  draining', table)
        self.assertIn('2 members, 1 up', table)
        self.cli('leave', '--host', 'compute-2')
        self.assertEqual(['compute-1'], list(source.get_members().members))
        self.assertIn('1 member, 1 up', self.cli('members').stdout)
        for command in ('heartbeat', 'drain', 'undrain', 'leave'):
            result = self.cli(command, '--host', 'Ghost', check=False)
            self.assertEqual(2, result.returncode)
            self.assertIn(
                f"hashring {command}: 'ghost' is not a member of group "
                'default of sql (',
                result.stderr,
            )
            self.assertIn(
                'join it first ("hashring join --host Ghost")', result.stderr
            )

    def test_join_and_undrain_keep_a_running_members_record(self):
        live = membership.load(
            'sql',
            connection=f'sqlite:///{self.db}',
            heartbeat_interval=10,
            dead_after=600,
        )
        self.addCleanup(live.close)
        live.join('compute-1', weight=3, attributes={'rack': 7})
        claim = handoff.Claim(
            'compute-1', handoff.RingSpec.of(hashring.HashRing(['compute-1']))
        )
        live.publish('default', claim)

        def record():
            m = live.get_members().members['compute-1']
            return m.state.value, m.weight, dict(m.attributes), m.claim

        self.cli('drain', '--host', 'compute-1')
        # A join keeps what it is not given: state, attributes and claim.
        self.assertEqual(
            'join: compute-1 in default (draining: "hashring undrain" puts '
            'it on the ring)',
            self.cli('join', '--host', 'Compute-1').stdout.strip(),
        )
        self.assertEqual(('draining', 3, {'rack': 7}, claim), record())
        self.cli('undrain', '--host', 'compute-1')
        self.assertEqual(('up', 3, {'rack': 7}, claim), record())
        self.assertEqual(
            'join: compute-1 in default',
            self.cli(
                'join', '--host', 'compute-1', '--weight', '2'
            ).stdout.strip(),
        )
        self.assertEqual(('up', 2, {'rack': 7}, claim), record())
        # A running member's weight is its own: its next write restores it
        # (its state, the operator's, stays).
        self.cli('drain', '--host', 'compute-1')
        live.publish('default', None)
        self.assertEqual(('draining', 3, {'rack': 7}, None), record())

    def test_members_show_the_rings_they_publish(self):
        self.cli('join', '--host', 'a')
        source = membership.load('sql', connection=f'sqlite:///{self.db}')
        self.addCleanup(source.close)
        source.resume('a')
        old, new = hashring.HashRing(['a']), hashring.HashRing(['a', 'b'])
        source.publish(
            'default',
            handoff.Claim(
                'a', handoff.RingSpec.of(old), handoff.RingSpec.of(new)
            ),
        )
        table = self.cli('members').stdout
        self.assertIn(f'{old.fingerprint} -> {new.fingerprint}', table)
        self.assertIn(
            'rings: not converged, members apply or move to 2', table
        )
        data = json.loads(self.cli('members', '--format', 'json').stdout)
        self.assertEqual(
            {'applied': old.fingerprint, 'intended': new.fingerprint},
            data['members'][0]['claim'],
        )
        self.assertIsNone(data['converged'])
        source.publish(
            'default',
            handoff.Claim('a', handoff.RingSpec.of(new), settling=True),
        )
        table = self.cli('members').stdout
        self.assertIn(f'{new.fingerprint} (settling)', table)
        data = json.loads(self.cli('members', '--format', 'json').stdout)
        self.assertEqual(
            {'applied': new.fingerprint, 'intended': None, 'settling': True},
            data['members'][0]['claim'],
        )
        source.publish('default', handoff.Claim('a', handoff.RingSpec.of(new)))
        table = self.cli('members').stdout
        self.assertIn(
            f'rings: every live member applies {new.fingerprint}', table
        )
        data = json.loads(self.cli('members', '--format', 'json').stdout)
        self.assertEqual(new.fingerprint, data['converged'])
        self.assertNotIn('settling', data['members'][0]['claim'])

    def test_members_presumed_alive_through_an_outage_are_shown(self):
        self.cli('join', '--host', 'a')
        self.cli('join', '--host', 'b')
        # Both silent for twice dead_after, together: the backend was out.
        with sqlite3.connect(self.db) as conn:
            conn.execute(
                "UPDATE hashring_members SET heartbeat_at = "
                "datetime(heartbeat_at, '-1200 seconds')"
            )
        data = json.loads(self.cli('members', '--format', 'json').stdout)
        self.assertEqual(
            [('a', 'up', True), ('b', 'up', True)],
            [(m['id'], m['state'], m['presumed']) for m in data['members']],
        )
        table = self.cli('members').stdout
        self.assertIn('a       up (presumed)', table)
        self.assertIn('2 presumed alive', table)

    def test_lookup_reads_the_configured_membership(self):
        names = ['Conductor-1.example.org', 'c-2:8089', 'b']
        for name in names:
            self.cli('join', '--host', name)
        keys = [f'node-{i}' for i in range(40)]
        data = json.loads(self.cli('lookup', *keys, '--format', 'json').stdout)
        # The ring of the registered names, as every service builds it.
        theirs = tooz_hashring.HashRing(names)
        self.assertEqual(
            [next(iter(theirs.get_nodes(k.encode()))) for k in keys],
            [k['primary'] for k in data['keys']],
        )
        self.assertIn(names[0], {k['primary'] for k in data['keys']})

    def test_unavailable_backend_is_exit_2_not_an_empty_list(self):
        self.conf = cli.config(
            self,
            membership_driver='sql',
            read_timeout=1,
            connection='postgresql+psycopg2://u:pw@127.0.0.1:1/db',
        )
        result = self.cli('members', check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn('unavailable', result.stderr)
        self.assertEqual('', result.stdout)

    def test_static_cannot_register(self):
        self.conf = cli.config(self, membership_driver='static', members='a')
        result = self.cli('join', '--host', 'a', check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn('cannot register', result.stderr)
        self.assertEqual('', result.stdout)

    def test_a_missing_extra_is_one_line_naming_it(self):
        result = cli.run_without(
            ['sqlalchemy'], 'members', '--config-file', self.conf
        )
        self.assertEqual(2, result.returncode)
        self.assertEqual(
            "hashring: The 'sql' membership driver needs the Python module "
            "'sqlalchemy', which is not installed: pip install "
            "'oslo.hashring[sql]'",
            result.stderr.strip(),
        )

    def test_help_says_a_record_expires_without_heartbeats(self):
        for name in ('join', 'heartbeat', 'drain', 'undrain', 'leave'):
            with self.subTest(command=name):
                out = ' '.join(cli.run(name, '--help').stdout.split())
                self.assertIn('goes down after dead_after seconds', out)
        self.assertIn('--foreground', cli.run('join', '--help').stdout)


class ToozSessionTestCase(base.TestCase):
    """tooz keeps a member only while its session runs."""

    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.url = f'file://{tmp}/tooz'
        self.conf = cli.config(
            self,
            membership_driver='tooz',
            backend_url=self.url,
            heartbeat_interval=1,
            dead_after=3,
        )

    def members(self):
        source = membership.load(
            'tooz', backend_url=self.url, heartbeat_interval=1, dead_after=3
        )
        try:
            return source.get_members().up()
        finally:
            source.close()

    def test_join_that_would_not_last_is_refused(self):
        for argv, message in (
            (['join', '--host', 'c1'], 'use "hashring join --foreground"'),
            (['drain', '--host', 'c1'], 'do it in the member itself'),
            (['undrain', '--host', 'c1'], 'do it in the member itself'),
            (['heartbeat', '--host', 'c1'], 'do it in the member itself'),
            (['leave', '--host', 'c1'], 'do it in the member itself'),
        ):
            with self.subTest(argv=argv):
                result = cli.run(
                    *argv, '--config-file', self.conf, check=False
                )
                self.assertEqual(2, result.returncode)
                self.assertEqual('', result.stdout)
                self.assertIn(
                    'the tooz driver keeps a member only while the session',
                    result.stderr,
                )
                self.assertIn(message, result.stderr)
                self.assertEqual(1, len(result.stderr.strip().splitlines()))
        self.assertEqual({}, self.members())

    def test_foreground_join_heartbeats_until_sigterm_then_leaves(self):
        for signum in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(signal=signum.name):
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        '-m',
                        'hashring.cmd.main',
                        'join',
                        '--foreground',
                        '--host',
                        'C1',
                        '--weight',
                        '3',
                        '--config-file',
                        self.conf,
                    ],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                self.addCleanup(proc.kill)
                line = proc.stdout.readline()
                self.assertIn('join: c1 in ', line)
                self.assertIn('until SIGTERM or SIGINT', line)
                # Past dead_after, it is still up: it heartbeats.
                time.sleep(4.5)
                self.assertEqual({'c1': 3}, self.members())
                proc.send_signal(signum)
                out, err = proc.communicate(timeout=30)
                self.assertEqual(0, proc.returncode, err)
                self.assertIn('leave: c1 in ', out)
                self.assertIn(signum.name, out)
                self.assertEqual({}, self.members())
