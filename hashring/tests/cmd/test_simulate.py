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


"""hashring simulate balance and converge."""

import importlib.util
import os

import fixtures

import hashring
from hashring import simulation
from hashring.tests import base
from hashring.tests.cmd import cli


class SimulateTestCase(base.TestCase):
    def test_balance(self):
        data = cli.run_json(
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

    def test_weighted_balance_is_measured_per_unit_of_weight(self):
        members = {'a': 1, 'b': 2, 'c': 3}
        keys = simulation.keys(6000)
        data = cli.run_json(
            'simulate',
            'balance',
            '--members',
            'a,b:2,c:3',
            '--count',
            '6000',
            '--exponents',
            '10',
        )
        loads = data['results'][0]['loads']
        per_weight = [loads[m] / w for m, w in members.items()]
        expected = max(per_weight) / (6000 / 6)
        self.assertAlmostEqual(expected, data['results'][0]['peak_to_mean'], 3)
        # Each member carries about its share: the weighted figure is near
        # 1, where the unweighted one would read 1.5 (3000 of 2000 mean).
        self.assertLess(data['results'][0]['peak_to_mean'], 1.1)
        self.assertEqual(simulation.balance(members, keys, 10).loads, loads)

    def test_target_search_goes_up_to_exponent_16(self):
        members = {f'svc-{i}': 1 for i in range(1, 5)}
        keys = simulation.keys(3000)
        tight = 1.015
        found = simulation.recommend(members, keys, tight)
        self.assertIsNotNone(found)
        self.assertGreater(found.exponent, 12)
        data = cli.run_json(
            'simulate',
            'balance',
            '--member-count',
            '4',
            '--count',
            '3000',
            '--exponents',
            '5',
            '--target',
            str(tight),
        )
        self.assertEqual(found.exponent, data['recommended_exponent'])
        table = cli.run(
            'simulate',
            'balance',
            '--member-count',
            '2',
            '--count',
            '51',  # odd: two members cannot split it evenly
            '--exponents',
            '5',
            '--target',
            '1.0',
        ).stdout
        self.assertIn(
            'smallest exponent with peak/mean <= 1.0: none up to 16', table
        )
        self.assertEqual(range(0, 17), simulation.exponents_for(members))
        self.assertEqual(range(0, 13), simulation.exponents_for({'a': 4096}))

    def test_converge_prints_its_scenario_and_what_it_counts(self):
        out = cli.run(
            'simulate',
            'converge',
            '--services',
            '4',
            '--nodes',
            '50',
            '--interval',
            '12',
            '--dead-after',
            '40',
            '--event',
            'flap',
            '--flap-for',
            '25',
        ).stdout
        first = out.splitlines()[0]
        self.assertEqual(
            '4 services share 50 nodes (30% with an instance); each '
            'refreshes its ring every 12s, a member is down after 40s of '
            'silence; at 30s svc-4 crashes and comes back 25s later.',
            first,
        )
        self.assertIn('TIME is seconds since the start', out)
        self.assertIn(
            '10 nodes managed twice for 3 s are 30 node-seconds', out
        )
        data = cli.run_json(
            'simulate', 'converge', '--services', '4', '--nodes', '50'
        )
        self.assertEqual(
            {
                'services': 4,
                'nodes': 50,
                'instances': 0.3,
                'event': 'crash',
                'event_at': 30.0,
                'duration': 180.0,
                'interval': 15.0,
                'dead_after': 60.0,
                'step': 1.0,
                'handoff': False,
            },
            data['scenario'],
        )

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
        data = cli.converge(**small, duration=60)
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
        data = cli.converge(**small, event='leave', duration=30)
        self.assertEqual(5, data['time_to_clean'])
        self.assertEqual(5 * lost, data['orphan_node_seconds'])
        # A flap of 20s: unmanaged until it is back.
        data = cli.converge(**small, event='flap', flap_for=20, duration=40)
        self.assertEqual(20, data['time_to_clean'])
        # A pause of 20s: the same, as its peers never took it for dead;
        # the scenario says how long.
        data = cli.converge(**small, event='pause', flap_for=20, duration=40)
        self.assertEqual(20, data['time_to_clean'])
        self.assertEqual(20 * lost, data['orphan_node_seconds'])
        self.assertEqual(20, data['scenario']['flap_for'])

    def test_converge_join_double_manages_only_moved_nodes(self):
        data = cli.converge(
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

    def test_converge_with_the_handoff_protocol(self):
        common = {'services': 3, 'nodes': 300, 'instances': 0, 'event': 'join'}
        plain = cli.converge(**common, duration=90)
        safe = cli.converge(**common, duration=90, handoff=True)
        self.assertGreater(plain['double_node_seconds'], 0)
        self.assertEqual(0, safe['double_node_seconds'])
        self.assertTrue(safe['scenario']['handoff'])
        self.assertIsNotNone(safe['time_to_clean'])
        self.assertLessEqual(safe['time_to_clean'], 30)  # two intervals
        # Side by side: the plain run is the same as without --handoff.
        self.assertEqual(
            plain['double_node_seconds'],
            safe['without_handoff']['double_node_seconds'],
        )
        self.assertEqual(
            plain['orphan_node_seconds'],
            safe['without_handoff']['orphan_node_seconds'],
        )
        out = cli.run(
            'simulate', 'converge', '--nodes', '60', '--handoff'
        ).stdout
        self.assertIn('every service running the handoff protocol.', out)
        self.assertIn('TWICE, HANDOFF  NONE, HANDOFF', out)
        self.assertIn('without it, crash at 30s', out)
        self.assertIn('with the handoff protocol, crash at 30s', out)

    def test_plot(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        plotting = importlib.util.find_spec('matplotlib') is not None
        # One timeline, and both side by side with --handoff.
        for extra in ([], ['--handoff']):
            path = os.path.join(tmp, f'timeline{len(extra)}.png')
            result = cli.run(
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
                *extra,
                check=False,
            )
            if not plotting:
                self.assertEqual(2, result.returncode)
                self.assertIn('install matplotlib', result.stderr)
                continue
            self.assertEqual(0, result.returncode, result.stderr)
            with open(path, 'rb') as f:
                self.assertEqual(b'\x89PNG', f.read(4))
        if plotting:
            result = cli.run(
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
        result = cli.run_without(
            ['matplotlib'],
            *('simulate', 'converge', '--nodes', '5', '--plot', 'x.png'),
        )
        self.assertEqual(2, result.returncode)
        self.assertEqual(
            "hashring: install matplotlib (pip install 'oslo.hashring[plot]') "
            'to use --plot',
            result.stderr.strip(),
        )

    def test_bad_simulation_arguments(self):
        for argv, message in (
            (['simulate'], 'name a simulation: balance or converge'),
            (['simulate', 'converge', '--event', 'explode'], "invalid choice"),
            (
                ['simulate', 'converge', '--nodes', '0'],
                "argument --nodes: '0' is not an integer at least 1",
            ),
            (['simulate', 'balance', '--exponents', 'x'], '--exponents'),
            (['simulate', 'balance', '--member-count', '0'], '--member-count'),
        ):
            with self.subTest(argv=argv):
                result = cli.run(*argv, check=False)
                self.assertEqual(2, result.returncode)
                self.assertIn(message, result.stderr)
                self.assertNotIn('Traceback', result.stderr)


class SimulateRefusalsTestCase(cli.Refusals, base.TestCase):
    def test_plot_and_exponents_are_checked_before_the_run(self):
        # Ten million keys would take half a minute: the refusal comes first.
        result = cli.run_without(
            ['matplotlib'],
            *('simulate', 'balance', '--count', '10000000'),
            *('--plot', 'x.png'),
        )
        self.assertEqual(2, result.returncode)
        self.assertIn('oslo.hashring[plot]', result.stderr)
        self.assertEqual('', result.stdout)
        for argv, message in (
            (['--exponents', '5,17'], "argument --exponents: '17' is not"),
            (['--exponents', '5,x'], "argument --exponents: 'x' is not"),
            (['--target', '0.9'], 'argument --target'),
            (
                ['--member-count', '300', '--exponents', '16'],
                'exponent 16 makes more than 16777216 points',
            ),
        ):
            with self.subTest(argv=argv):
                self.assert_refused(
                    ['simulate', 'balance', '--count', '10000000', *argv],
                    message,
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
            # Runs of days, or beyond the simulated clock: refused.
            ('--duration', '1e11'),
            ('--at', '1e7'),
            ('--nodes', '1000001'),
            ('--count', '10000001'),
            ('--services', '1001'),
        ):
            with self.subTest(option=option, value=value):
                command = (
                    ['simulate', 'balance']
                    if option == '--count'
                    else converge
                )
                self.assert_refused(
                    [*command, option, value], f'argument {option}: '
                )
        # Before the scenario's description: nothing on standard output.
        self.assert_refused(
            [*converge, '--step', '0.001'],
            'duration=180 at step=0.001 makes 180000 steps, above 100000',
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
