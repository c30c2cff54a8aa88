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


"""hashring lookup."""

import hashring
from hashring.tests import base
from hashring.tests.cmd import cli


class LookupTestCase(base.TestCase):
    def test_table_and_json_agree_with_the_library(self):
        ring = hashring.HashRing({'a': 1, 'b': 2, 'c': 1})
        keys = ['fake', 'abc', '1be26c0b-03f2-4d2e-ae87-c02d7f33c123']
        data = cli.run_json(
            'lookup', '--members', 'a,b:2,c', '--replicas', '2', *keys
        )
        self.assertEqual(ring.fingerprint, data['fingerprint'])
        for entry, key in zip(data['keys'], keys):
            self.assertEqual(
                ring.get_nodes(key, replicas=2), entry['replicas']
            )
            self.assertEqual(ring.get_node(key), entry['primary'])
            self.assertEqual(hashring.partition_of(key, 5), entry['partition'])
        self.assertEqual(5, data['partition_power'])
        table = cli.run('lookup', '--members', 'a,b:2,c', *keys).stdout
        self.assertIn(
            f'fingerprint {ring.fingerprint}, partitions of 5 bits', table
        )
        self.assertRegex(table, rf'(?m)^fake +{ring.get_node("fake")} ')

    def test_a_key_has_the_partition_explain_shows(self):
        # By default at the ring's exponent, as explain shows it; else at
        # the power asked for.
        keys = ['fake', '1be26c0b-03f2-4d2e-ae87-c02d7f33c123']
        ring_args = ('--members', 'a,b', '--partition-exponent', '7')
        looked = cli.run_json('lookup', *ring_args, *keys)
        explained = cli.run_json('explain', *ring_args, *keys)
        self.assertEqual(
            [e['partition'] for e in explained['explanations']],
            [e['partition'] for e in looked['keys']],
        )
        self.assertEqual(
            [hashring.partition_of(k, 7) for k in keys],
            [e['partition'] for e in looked['keys']],
        )
        chosen = cli.run_json(
            'lookup', *ring_args, '--partition-power', '12', *keys
        )
        self.assertEqual(12, chosen['partition_power'])
        self.assertEqual(
            [hashring.partition_of(k, 12) for k in keys],
            [e['partition'] for e in chosen['keys']],
        )

    def test_exponent_and_hash_function(self):
        ring = hashring.HashRing(['x', 'y'], 7, 'sha256')
        data = cli.run_json(
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
                result = cli.run(*argv, check=False)
                self.assertEqual(2, result.returncode)
                self.assertIn(message, result.stderr)
                self.assertEqual(1, len(result.stderr.strip().splitlines()))
                self.assertNotIn('Traceback', result.stderr)


class NoMemberUpTestCase(base.TestCase):
    """A configured group with no member up is said to be so."""

    def setUp(self):
        super().setUp()
        self.conf = cli.drained(self)

    def test_lookup_and_explain_name_the_group_not_a_missing_driver(self):
        for command in ('lookup', 'explain'):
            for group, said in (
                (
                    'default',
                    (
                        'no member of group default of file (',
                        'is up (1 draining)',
                    ),
                ),
                (
                    'other',
                    ('hashring: group other of file (', 'has no member'),
                ),
            ):
                with self.subTest(command=command, group=group):
                    result = cli.run(
                        command,
                        '--config-file',
                        self.conf,
                        '--group',
                        group,
                        'k',
                        check=False,
                    )
                    self.assertEqual(2, result.returncode)
                    for message in said:
                        self.assertIn(message, result.stderr)
                    self.assertIn('so there is no ring', result.stderr)
                    self.assertNotIn('membership_driver', result.stderr)
