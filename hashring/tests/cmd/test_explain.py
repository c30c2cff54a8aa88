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

"""hashring explain."""

import io
import json
import os
from unittest import mock

import fixtures

import hashring
from hashring.cmd import main
from hashring.cmd import parser
from hashring import explain
from hashring import simulation
from hashring.tests import base
from hashring.tests.cmd import cli
from hashring.tests import test_manager

KEYS = simulation.keys(5)


class ExplainCommandTestCase(base.TestCase):
    def test_json_is_the_library_s_answer(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        nodes = [{'id': k} for k in KEYS]
        nodes[0].update(instance_id='i-0', instance_host='b')
        path = os.path.join(tmp, 'nodes.json')
        with open(path, 'w') as f:
            json.dump(nodes, f)
        data = cli.run_json(
            'explain', *KEYS, '--members', 'a,b:2,c', '--nodes', path
        )
        ring = hashring.HashRing({'a': 1, 'b': 2, 'c': 1})
        expected = explain.explain(
            ring,
            KEYS,
            nodes={
                n['id']: {
                    'instance_id': n.get('instance_id'),
                    'instance_host': n.get('instance_host'),
                }
                for n in nodes
            },
        )
        self.assertEqual([e.to_dict() for e in expected], data['explanations'])
        self.assertEqual('b', data['explanations'][0]['managed_by'])

    def test_table(self):
        out = cli.run('explain', KEYS[0], '--members', 'a,b').stdout
        ring = hashring.HashRing(['a', 'b'])
        self.assertIn(f'{KEYS[0]}  {ring.get_node(KEYS[0])}', out)
        self.assertIn(
            f'ring {ring.fingerprint} of the members given, partitions of '
            '5 bits: a up, b up',
            out,
        )

    def test_table_of_a_configured_group(self):
        conf = cli.config(
            self,
            membership_driver='static',
            members='a,b:2',
            group='ironic',
            partition_exponent=6,
        )
        out = cli.run('explain', KEYS[0], '--config-file', conf).stdout
        ring = hashring.HashRing({'a': 1, 'b': 2}, 6)
        self.assertIn(f'{KEYS[0]}  {ring.get_node(KEYS[0])}', out)
        self.assertIn(
            f'ring {ring.fingerprint} of ironic, partitions of 6 bits: '
            'a up, b up',
            out,
        )

    def test_the_ring_and_the_members_shown_are_of_one_read(self):
        # Two reads could disagree, and cost the backend twice.
        source = test_manager.FakeSource()
        source.set(a='up', b='up', c='down')
        self.patch(parser, 'source', lambda args, config=None: source)
        with mock.patch('sys.stdout', new_callable=io.StringIO) as out:
            self.assertEqual(0, main.main(['explain', KEYS[0]]))
        self.assertEqual(1, source.reads)
        ring = hashring.HashRing(['a', 'b'])
        self.assertIn(
            f'ring {ring.fingerprint} of default, partitions of 5 bits: '
            'a up, b up, c down',
            out.getvalue(),
        )

    def test_a_key_is_required(self):
        result = cli.run('explain', '--members', 'a', check=False)
        self.assertEqual(2, result.returncode)
        self.assertIn('KEY', result.stderr)
