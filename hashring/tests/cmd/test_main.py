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

"""The hashring command, driven in a subprocess as a user would."""

import json
import os
import sqlite3
import subprocess
import sys

import fixtures

import hashring
from hashring import membership
from hashring import simulation
from hashring.tests import base


def run(*argv, check=True):
    result = subprocess.run(
        [sys.executable, '-m', 'hashring.cmd.main', *argv],
        capture_output=True,
        text=True,
    )
    if check and result.returncode:
        raise AssertionError(f'exit {result.returncode}: {result.stderr}')
    return result


def run_json(*argv):
    return json.loads(run(*argv, '--format', 'json').stdout)


def converge(**options):
    argv = ['simulate', 'converge']
    for name, value in options.items():
        argv += [f'--{name.replace("_", "-")}', str(value)]
    return run_json(*argv)


class LookupTestCase(base.TestCase):
    def test_table_and_json_agree_with_the_library(self):
        ring = hashring.HashRing({'a': 1, 'b': 2, 'c': 1})
        keys = ['fake', 'abc', '1be26c0b-03f2-4d2e-ae87-c02d7f33c123']
        data = run_json(
            'lookup', '--members', 'a,b:2,c', '--replicas', '2', *keys
        )
        self.assertEqual(ring.fingerprint, data['fingerprint'])
        for entry, key in zip(data['keys'], keys):
            self.assertEqual(
                ring.get_nodes(key, replicas=2), entry['replicas']
            )
            self.assertEqual(ring.get_node(key), entry['primary'])
            self.assertEqual(hashring.partition_of(key, 8), entry['partition'])
        table = run('lookup', '--members', 'a,b:2,c', *keys).stdout
        self.assertIn(f'fingerprint {ring.fingerprint}', table)
        self.assertRegex(table, rf'(?m)^fake +{ring.get_node("fake")} ')

    def test_exponent_and_hash_function(self):
        ring = hashring.HashRing(['x', 'y'], 7, 'sha256')
        data = run_json(
            'lookup',
            '--members',
            'x,y',
            '--partition-exponent',
            '7',
            '--hash-function',
            'sha256',
            'k',
        )
        self.assertEqual(ring.get_node('k'), data['keys'][0]['primary'])

    def test_bad_input_is_one_line_and_exit_2(self):
        for argv, message in (
            (['lookup'], 'the following arguments are required: KEY'),
            (['lookup', 'k'], 'no members'),
            (['lookup', '--members', 'a:0', 'k'], 'weight 0 is below 1'),
            (['lookup', '--members', 'a', '--replicas', '0', 'k'], 'replicas'),
            (
                [
                    'lookup',
                    '--members',
                    'a',
                    '--hash-function',
                    'shake_128',
                    'k',
                ],
                "'shake_128'",
            ),
            (['nope'], "invalid choice: 'nope'"),
            (
                [
                    'lookup',
                    '--config-file',
                    '/nonexistent',
                    '--members',
                    'a',
                    'k',
                ],
                '/nonexistent',
            ),
        ):
            with self.subTest(argv=argv):
                result = run(*argv, check=False)
                self.assertEqual(2, result.returncode)
                self.assertIn(message, result.stderr)
                self.assertEqual(1, len(result.stderr.strip().splitlines()))
                self.assertNotIn('Traceback', result.stderr)

    def test_help(self):
        out = run('--help').stdout
        for name in ('lookup', 'members', 'join', 'owned', 'diff', 'simulate'):
            self.assertIn(name, out)
        self.assertIn('--to-members', run('diff', '--help').stdout)
        self.assertIn('--event', run('simulate', 'converge', '--help').stdout)


class MembershipCommandsTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.conf = os.path.join(tmp, 'hashring.conf')
        db = os.path.join(tmp, 'members.sqlite')
        with open(self.conf, 'w') as f:
            f.write(
                '[hashring]\nmembership_driver = sql\n'
                f'connection = sqlite:///{db}\ndead_after = 600\n'
                'heartbeat_interval = 10\n'
            )
        self.db = db

    def cli(self, *argv, **kwargs):
        return run(*argv, '--config-file', self.conf, **kwargs)

    def test_join_members_drain_leave(self):
        self.cli('join', '--host', 'Compute-1', '--weight', '2')
        self.cli('join', '--host', 'compute-2')
        data = json.loads(self.cli('members', '--format', 'json').stdout)
        source = membership.load('sql', connection=f'sqlite:///{self.db}')
        self.addCleanup(source.close)
        snapshot = source.get_members()
        self.assertEqual(snapshot.generation, data['generation'])
        self.assertEqual(
            [('compute-1', 'up', 2), ('compute-2', 'up', 1)],
            [(m['id'], m['state'], m['weight']) for m in data['members']],
        )
        self.assertTrue(all(m['age'] < 60 for m in data['members']))
        self.cli('drain', '--host', 'compute-2')
        self.cli('heartbeat', '--host', 'compute-2')
        self.assertEqual({'compute-1': 2}, source.get_members().up())
        table = self.cli('members').stdout
        self.assertIn('compute-2  draining', table)
        self.assertIn('2 members, 1 up', table)
        self.cli('leave', '--host', 'compute-2')
        self.assertEqual(['compute-1'], list(source.get_members().members))
        result = self.cli('heartbeat', '--host', 'ghost', check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn("'ghost'", result.stderr)

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
        self.cli('join', '--host', 'a')
        self.cli('join', '--host', 'b')
        data = json.loads(self.cli('lookup', 'k', '--format', 'json').stdout)
        self.assertEqual(
            hashring.HashRing(['a', 'b']).get_node('k'),
            data['keys'][0]['primary'],
        )

    def test_unavailable_backend_is_exit_2_not_an_empty_list(self):
        with open(self.conf, 'w') as f:
            f.write(
                '[hashring]\nmembership_driver = sql\nread_timeout = 1\n'
                'connection = postgresql+psycopg2://u:pw@127.0.0.1:1/db\n'
            )
        result = self.cli('members', check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn('unavailable', result.stderr)
        self.assertEqual('', result.stdout)

    def test_static_cannot_register(self):
        result = run('join', '--host', 'a', '--members', 'a', check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn('cannot register', result.stderr)


class OwnedTestCase(base.TestCase):
    def test_json_and_csv_nodes(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        ring = hashring.HashRing(['h1', 'h2'])
        ids = simulation.keys(40)
        nodes = [
            {'id': i, 'instance_id': None, 'instance_host': None} for i in ids
        ]
        nodes[0].update(instance_id='i0', instance_host='H1')
        nodes[1].update(instance_id='i1', instance_host='h2')
        nodes[2].update(instance_id='i2', instance_host='gone')
        path = os.path.join(tmp, 'nodes.json')
        with open(path, 'w') as f:
            json.dump(nodes, f)
        data = run_json(
            'owned', '--members', 'h1,h2', '--host', 'h1', '--nodes', path
        )
        flt = hashring.OwnershipFilter(
            'h1',
            ring=ring,
            instance_host={'i0': 'H1', 'i1': 'h2', 'i2': 'gone'}.get,
        )
        expected = flt.filter(nodes, ['i0'])
        self.assertEqual([n['id'] for n in expected.owned], data['owned'])
        self.assertEqual([ids[2]], data['orphans'])
        self.assertEqual('own instance', data['decisions'][0]['reason'])
        self.assertEqual('instance elsewhere', data['decisions'][1]['reason'])
        csv_path = os.path.join(tmp, 'nodes.csv')
        with open(csv_path, 'w') as f:
            f.write('id,instance_id,instance_host\n')
            for n in nodes:
                row = [n['id'], n['instance_id'], n['instance_host']]
                f.write(','.join(c or '' for c in row) + '\n')
        table = run(
            'owned', '--members', 'h1,h2', '--host', 'h1', '--nodes', csv_path
        ).stdout
        self.assertIn(f'h1 manages {len(expected.owned)} of 40 nodes', table)
        self.assertIn('1 orphan', table)
        bad = os.path.join(tmp, 'bad.json')
        with open(bad, 'w') as f:
            f.write('[{"name": 1}]')
        result = run(
            'owned',
            '--members',
            'h1',
            '--host',
            'h1',
            '--nodes',
            bad,
            check=False,
        )
        self.assertEqual(2, result.returncode)
        self.assertIn('needs an "id"', result.stderr)


class DiffTestCase(base.TestCase):
    def test_join_and_exponent_change(self):
        keys = simulation.keys(3000)
        data = run_json(
            'diff',
            '--members',
            'a,b,c',
            '--to-members',
            'a,b,c,d',
            '--count',
            '3000',
        )
        moved = hashring.changes(
            hashring.HashRing(['a', 'b', 'c']),
            hashring.HashRing(['a', 'b', 'c', 'd']),
            keys,
        )
        self.assertEqual(len(moved), data['moved'])
        self.assertEqual({'d'}, {m['to'] for m in data['moves']})
        self.assertEqual(sum(data['after'].values()), 3000)
        data = run_json(
            'diff',
            '--members',
            'a,b',
            '--to-partition-exponent',
            '8',
            '--count',
            '500',
        )
        moved = hashring.changes(
            hashring.HashRing(['a', 'b']),
            hashring.HashRing(['a', 'b'], 8),
            simulation.keys(500),
        )
        self.assertEqual(len(moved), data['moved'])

    def test_key_file(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'keys')
        with open(path, 'w') as f:
            f.write('k1\nk2\n\nk3\n')
        data = run_json(
            'diff', '--members', 'a', '--to-members', 'b', '--keys', path
        )
        self.assertEqual(3, data['keys'])
        self.assertEqual(3, data['moved'])
        self.assertEqual(
            '3 of 3 keys move',
            run(
                'diff', '--members', 'a', '--to-members', 'b', '--keys', path
            ).stdout.splitlines()[-1][:16],
        )


class SimulateTestCase(base.TestCase):
    def test_balance(self):
        data = run_json(
            'simulate',
            'balance',
            '--member-count',
            '4',
            '--count',
            '2000',
            '--exponents',
            '3,8',
            '--target',
            '1.2',
        )
        members = {f'svc-{i}': 1 for i in range(1, 5)}
        keys = simulation.keys(2000)
        for result in data['results']:
            expected = simulation.balance(members, keys, result['exponent'])
            self.assertEqual(expected.loads, result['loads'])
            self.assertAlmostEqual(
                expected.peak_to_mean, result['peak_to_mean'], 3
            )
        found = simulation.recommend(members, keys, 1.2)
        self.assertEqual(found.exponent, data['recommended_exponent'])
        self.assertAlmostEqual(0.2, data['ideal']['join'])
        self.assertAlmostEqual(0.25, data['ideal']['leave'])
        # One of four equal members doubles: its share goes from 1/4 to 2/5.
        self.assertAlmostEqual(2 / 5 - 1 / 4, data['ideal']['reweight'])

    def test_converge_hand_worked(self):
        # Two services, four nodes without instances, refresh every 10s,
        # dead after 30s; svc-2 crashes at 5s.  Its last heartbeat is at
        # 4s, so it is down from 35s, and svc-1 (which refreshes at 10,
        # 20, 30, 40...) takes its nodes at 40s.
        ring = hashring.HashRing(['svc-1', 'svc-2'])
        lost = ring.map_keys(simulation.keys(4)).count('svc-2')
        small = {
            'services': 2,
            'nodes': 4,
            'instances': 0,
            'at': 5,
            'interval': 10,
            'dead_after': 30,
        }
        data = converge(**small, duration=60)
        self.assertEqual(
            [
                {'t': 0, 'double': 0, 'unmanaged': 0},
                {'t': 5, 'double': 0, 'unmanaged': lost},
                {'t': 40, 'double': 0, 'unmanaged': 0},
            ],
            data['timeline'],
        )
        self.assertEqual(35, data['time_to_clean'])
        self.assertEqual(35 * lost, data['orphan_node_seconds'])
        # A graceful leave is noticed at svc-1's next refresh, 10s.
        data = converge(**small, event='leave', duration=30)
        self.assertEqual(5, data['time_to_clean'])
        self.assertEqual(5 * lost, data['orphan_node_seconds'])
        # A flap of 20s: unmanaged until it is back.
        data = converge(**small, event='flap', flap_for=20, duration=40)
        self.assertEqual(20, data['time_to_clean'])

    def test_converge_join_double_manages_only_moved_nodes(self):
        data = converge(
            services=3,
            nodes=300,
            instances=0.5,
            event='join',
            at=10,
            duration=60,
            interval=15,
        )
        before = hashring.HashRing(['svc-1', 'svc-2', 'svc-3'])
        after = before.with_members(['svc-1', 'svc-2', 'svc-3', 'svc-4'])
        ids = simulation.keys(300)
        # Nodes with instances (the first 150) never move.
        movable = len(hashring.changes(before, after, ids[150:]))
        self.assertEqual(0, data['peak_unmanaged'])
        self.assertLessEqual(data['peak_double'], movable)
        self.assertGreater(data['peak_double'], 0)
        self.assertLessEqual(data['time_to_clean'], 15)

    def test_plot(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'timeline.png')
        result = run(
            'simulate',
            'converge',
            '--services',
            '2',
            '--nodes',
            '20',
            '--duration',
            '60',
            '--plot',
            path,
            check=False,
        )
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            self.assertEqual(2, result.returncode)
            self.assertIn('install matplotlib', result.stderr)
        else:
            self.assertEqual(0, result.returncode, result.stderr)
            with open(path, 'rb') as f:
                self.assertEqual(b'\x89PNG', f.read(4))
            result = run(
                'simulate',
                'converge',
                '--services',
                '2',
                '--nodes',
                '4',
                '--duration',
                '10',
                '--plot',
                '/nonexistent/dir/x.png',
                check=False,
            )
            self.assertEqual(2, result.returncode)
            self.assertIn('cannot write /nonexistent/dir/x.png', result.stderr)
            self.assertNotIn('Traceback', result.stderr)

    def test_plot_without_matplotlib(self):
        script = (
            'import sys\n'
            "sys.modules['matplotlib'] = None  # as if not installed\n"
            'from hashring.cmd import main\n'
            "sys.exit(main.main(['simulate', 'converge', '--nodes', '5',"
            " '--plot', 'x.png']))\n"
        )
        result = subprocess.run(
            [sys.executable, '-c', script], capture_output=True, text=True
        )
        self.assertEqual(2, result.returncode)
        self.assertEqual(
            'hashring: install matplotlib (pip install hashring[plot]) to '
            'use --plot',
            result.stderr.strip(),
        )

    def test_bad_simulation_arguments(self):
        for argv, message in (
            (['simulate'], 'required: SIMULATION'),
            (['simulate', 'converge', '--event', 'explode'], "invalid choice"),
            (
                ['simulate', 'converge', '--nodes', '0'],
                "argument --nodes: '0' is not a finite number at least 1",
            ),
            (['simulate', 'balance', '--exponents', 'x'], '--exponents'),
            (['simulate', 'balance', '--member-count', '0'], '--member-count'),
        ):
            with self.subTest(argv=argv):
                result = run(*argv, check=False)
                self.assertEqual(2, result.returncode)
                self.assertIn(message, result.stderr)
                self.assertNotIn('Traceback', result.stderr)


class HostileInputTestCase(base.TestCase):
    """No traceback for any input: one line naming it, and exit 2."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def file(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def assert_refused(self, argv, message):
        result = run(*argv, check=False)
        self.assertEqual(2, result.returncode, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual(1, len(result.stderr.strip().splitlines()))
        self.assertIn(message, result.stderr)

    def test_bad_files(self):
        owned = ['owned', '--members', 'a,b', '--host', 'a', '--nodes']
        for data, message in (
            (b'\xff\xfe[', 'is not UTF-8'),
            (b'[{"id": {"x": 1}}]', 'id must be a string'),
            (
                b'[{"id": "n1", "instance_id": ["i1", "i2"]}]',
                "instance_id must be a string, not ['i1', 'i2']",
            ),
            (
                b'[{"id": "n1", "instance_id": "i1", "instance_host": 5}]',
                'instance_host must be a string, not 5',
            ),
        ):
            with self.subTest(data=data):
                self.assert_refused(
                    [*owned, self.file('nodes.json', data)], message
                )
        diff = ['diff', '--members', 'a,b', '--to-members', 'a,b,c']
        for data, message in (
            (b'', 'holds no keys'),
            (b'\n  \n', 'holds no keys'),
            (b'k\xff\n', 'is not UTF-8'),
        ):
            with self.subTest(data=data):
                self.assert_refused(
                    [*diff, '--keys', self.file('keys.txt', data)], message
                )
        self.assert_refused(
            ['lookup', '--config-file', self.dir, '--members', 'a', 'k'],
            f"--config-file {self.dir!r} is not a readable file",
        )

    def test_bad_numbers_and_plot_files(self):
        converge = ['simulate', 'converge']
        for option, value in (
            ('--duration', 'nan'),
            ('--dead-after', '-1'),
            ('--interval', 'inf'),
            ('--interval', '0'),
            ('--step', 'x'),
            ('--instances', '1.5'),
            ('--at', '-3'),
        ):
            with self.subTest(option=option, value=value):
                self.assert_refused(
                    [*converge, option, value], f'argument {option}: '
                )
        self.assert_refused(
            ['simulate', 'balance', '--target', 'nan'], 'argument --target'
        )
        for argv in (
            ['simulate', 'balance', '--plot', 'out.txt'],
            [*converge, '--plot', 'out'],
        ):
            with self.subTest(argv=argv):
                self.assert_refused(argv, 'does not end in a picture type')

    def test_a_closed_pipe(self):
        keys = [f'k{i}' for i in range(20000)]
        proc = subprocess.Popen(
            [
                sys.executable,
                '-m',
                'hashring.cmd.main',
                'lookup',
                '--members',
                'a,b',
                *keys,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        proc.stdout.readline()
        proc.stdout.close()  # as head -1 does
        stderr = proc.stderr.read()
        proc.stderr.close()
        self.assertEqual(2, proc.wait(30))
        self.assertNotIn('Traceback', stderr)
        self.assertEqual(
            'hashring: standard output was closed', stderr.strip()
        )

    def test_control_characters_are_escaped_in_tables(self):
        nodes = self.file(
            'nodes.json', json.dumps([{'id': 'n\x1b[31mred\x07'}]).encode()
        )
        result = run(
            'owned', '--members', 'a,b', '--host', 'a', '--nodes', nodes
        )
        self.assertNotIn('\x1b', result.stdout)
        self.assertNotIn('\x07', result.stdout)
        self.assertIn('n\\x1b[31mred\\x07', result.stdout)
        # JSON keeps the id as it is, escaped by JSON itself.
        data = json.loads(
            run(
                'owned',
                '--members',
                'a,b',
                '--host',
                'a',
                '--nodes',
                nodes,
                '--format',
                'json',
            ).stdout
        )
        self.assertEqual('n\x1b[31mred\x07', data['decisions'][0]['id'])
