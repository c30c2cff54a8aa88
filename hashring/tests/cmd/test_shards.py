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

"""hashring shards plan."""

import json
import os

import fixtures

from hashring import shards
from hashring.tests import base
from hashring.tests.cmd import cli


class ShardsPlanTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        tmp = self.useFixture(fixtures.TempDir()).path
        self.nodes = [
            {
                'id': f'node-{i:03d}',
                'shard': ['east', 'west', 'gone', None][i % 4],
                'instance_id': f'i-{i}' if i % 7 == 0 else None,
            }
            for i in range(120)
        ]
        self.path = os.path.join(tmp, 'nodes.json')
        with open(self.path, 'w') as f:
            json.dump(self.nodes, f)

    def test_json_is_the_library_s_plan(self):
        argv = ['shards', 'plan', '--nodes', self.path]
        data = cli.run_json(*argv, '--shards', 'east,west,north:2')
        expected = shards.plan(self.nodes, {'east': 1, 'west': 1, 'north': 2})
        self.assertEqual(expected.after, data['after'])
        self.assertEqual(
            [(m.node, m.old, m.new, m.instance) for m in expected.moves],
            [
                (m['node'], m['from'], m['to'], m['instance'])
                for m in data['moves']
            ],
        )
        self.assertEqual(shards.commands(expected), data['commands'])
        self.assertLessEqual(data['peak_to_mean'], data['ideal'] * 1.01)

    def test_table_and_commands(self):
        out = cli.run(
            'shards',
            'plan',
            '--nodes',
            self.path,
            '--shards',
            'east,north',
            '--move-instances',
            '--compute-host',
            'north=compute-7',
        ).stdout
        self.assertIn('baremetal node set --shard north ', out)
        self.assertIn('--destination-host compute-7', out)
        self.assertRegex(
            out, r'\d+ of 120 nodes move \(\d+ with an instance\)'
        )

    def test_bad_arguments_are_named(self):
        for argv, bad in (
            (['--shards', 'a:0'], 'weight 0'),
            (['--shards', 'a', '--compute-host', 'x'], "'x'"),
        ):
            with self.subTest(argv=argv):
                result = cli.run(
                    'shards', 'plan', '--nodes', self.path, *argv, check=False
                )
                self.assertEqual(2, result.returncode)
                self.assertIn(bad, result.stderr)
        result = cli.run('shards', check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn('plan', result.stderr)
