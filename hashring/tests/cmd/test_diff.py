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


"""hashring diff."""

import json
import os

import fixtures

import hashring
from hashring import movement
from hashring import simulation
from hashring.tests import base
from hashring.tests.cmd import cli


class DiffTestCase(base.TestCase):
    def test_join_and_exponent_change(self):
        keys = simulation.keys(3000)
        data = cli.run_json(
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
        data = cli.run_json(
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
        data = cli.run_json(
            'diff', '--members', 'a', '--to-members', 'b', '--keys', path
        )
        self.assertEqual(3, data['keys'])
        self.assertEqual(3, data['moved'])
        self.assertEqual(
            '3 of 3 keys move',
            cli.run(
                'diff', '--members', 'a', '--to-members', 'b', '--keys', path
            ).stdout.splitlines()[-1][:16],
        )


class TakeoverCostTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        ids = simulation.keys(300)
        self.nodes = [{'id': i} for i in ids]
        for n, node in enumerate(self.nodes):
            if n % 3 == 0:
                node.update(instance_id=f'i-{n}', instance_host='a')
            if n % 2 == 0:
                node['provision_state'] = 'active'
            if n % 5 == 0:
                node['maintenance'] = True
        self.path = os.path.join(tmp, 'nodes.json')
        with open(self.path, 'w') as f:
            json.dump(self.nodes, f)

    def test_the_cost_is_the_library_s(self):
        data = cli.run_json(
            'diff',
            '--members',
            'a,b',
            '--to-members',
            'a,b,c',
            '--nodes',
            self.path,
        )
        expected = movement.cost(
            hashring.HashRing(['a', 'b']),
            hashring.HashRing(['a', 'b', 'c']),
            self.nodes,
        )
        self.assertEqual(expected.moved, data['moved'])
        self.assertEqual(expected.by_state, data['cost']['by_state'])
        self.assertEqual(expected.takeovers, data['cost']['takeovers'])
        self.assertEqual({'c'}, set(data['cost']['takeovers']))
        self.assertEqual(300, data['keys'])

    def test_max_moves_fails_a_change_review(self):
        argv = ['diff', '--members', 'a,b', '--to-members', 'a,b,c']
        moved = cli.run_json(*argv, '--nodes', self.path)['moved']
        over = cli.run(
            *argv,
            '--nodes',
            self.path,
            '--max-moves',
            str(moved - 1),
            check=False,
        )
        self.assertEqual(1, over.returncode)
        self.assertIn(f'{moved} keys move, more than --max-moves', over.stderr)
        ok = cli.run(*argv, '--nodes', self.path, '--max-moves', str(moved))
        self.assertEqual(0, ok.returncode)
        self.assertIn('takeovers: c ', ok.stdout)
        self.assertIn('of the nodes that move: ', ok.stdout)
        bad = cli.run(*argv, '--max-moves', '-1', check=False)
        self.assertEqual(2, bad.returncode)
        self.assertIn('-1', bad.stderr)

    def test_no_nodes_move_none(self):
        # A CSV header alone, or [], is no nodes: it raised
        # ZeroDivisionError where it printed the share that moves.
        for name, content in (('n.csv', 'id,instance_id\n'), ('n.json', '[]')):
            path = os.path.join(os.path.dirname(self.path), name)
            with open(path, 'w') as f:
                f.write(content)
            with self.subTest(content=content):
                result = cli.run(
                    'diff',
                    '--members',
                    'a',
                    '--to-members',
                    'a,b',
                    '--nodes',
                    path,
                )
                self.assertIn('0 of 0 keys move (0.00%)', result.stdout)
