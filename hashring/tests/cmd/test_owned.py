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


"""hashring owned."""

import json
import os

import fixtures

import hashring
from hashring import simulation
from hashring.tests import base
from hashring.tests.cmd import cli


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
        data = cli.run_json(
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
        table = cli.run(
            'owned', '--members', 'h1,h2', '--host', 'h1', '--nodes', csv_path
        ).stdout
        self.assertIn(f'h1 manages {len(expected.owned)} of 40 nodes', table)
        self.assertIn('1 orphan', table)
        self.assertNotIn('not on the ring', table)
        self.assertTrue(data['on_ring'])
        bad = os.path.join(tmp, 'bad.json')
        with open(bad, 'w') as f:
            f.write('[{"name": 1}]')
        result = cli.run(
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

    def test_a_host_off_the_ring_is_told_so(self):
        # A draining service, or a --host mistyped: only its own
        # instances' nodes, and a line that says why.
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'nodes.json')
        nodes = [{'id': i} for i in simulation.keys(20)]
        nodes[0].update(instance_id='i0', instance_host='H3')
        with open(path, 'w') as f:
            json.dump(nodes, f)
        owned = ['owned', '--host', 'h3', '--nodes', path, '--members']
        data = cli.run_json(*owned, 'h1,h2')
        self.assertFalse(data['on_ring'])
        self.assertEqual([nodes[0]['id']], data['owned'])
        table = cli.run(*owned, 'h1,h2').stdout
        self.assertIn(
            'h3 is not on the ring (h1, h2): it manages only the nodes of '
            'its own instances',
            table,
        )
        many = ','.join(f'h{i:02d}' for i in range(20))
        table = cli.run(*owned, many).stdout
        self.assertIn('(h00, h01, h02, h03, h04, h05, h06, h07, ...', table)
        self.assertIn('(20 in all)', table)
        self.assertTrue(cli.run_json(*owned, f'{many},H3')['on_ring'])


class OwnedRefusalsTestCase(cli.Refusals, base.TestCase):
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

    def test_control_characters_are_escaped_in_tables(self):
        nodes = self.file(
            'nodes.json', json.dumps([{'id': 'n\x1b[31mred\x07'}]).encode()
        )
        result = cli.run(
            'owned', '--members', 'a,b', '--host', 'a', '--nodes', nodes
        )
        self.assertNotIn('\x1b', result.stdout)
        self.assertNotIn('\x07', result.stdout)
        self.assertIn('n\\x1b[31mred\\x07', result.stdout)
        # JSON keeps the id as it is, escaped by JSON itself.
        data = json.loads(
            cli.run(
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
