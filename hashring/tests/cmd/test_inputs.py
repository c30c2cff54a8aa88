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

"""The hashring command's inputs: keys and nodes read from files."""

import argparse
import os

import fixtures

from hashring.cmd import inputs
from hashring import simulation
from hashring.tests import base


class InputsTestCase(base.TestCase):
    def test_keys_from_a_file_or_generated(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        path = os.path.join(tmp, 'keys')
        with open(path, 'w') as f:
            f.write(' k1 \n\nk2\n')
        args = argparse.Namespace(keys=path, count=5)
        self.assertEqual(['k1', 'k2'], inputs.keys(args))
        args = argparse.Namespace(keys=None, count=5)
        self.assertEqual(simulation.keys(5), inputs.keys(args))
        err = self.assertRaises(
            inputs.UsageError, inputs.read_text, os.path.join(tmp, 'none')
        )
        self.assertIn('No such file or directory', str(err))
        self.assertIn('none', str(err))

    def test_records_of_json_or_csv(self):
        tmp = self.useFixture(fixtures.TempDir()).path
        node = {'id': 'n1', 'instance_id': 'i1'}

        def records(content):
            path = os.path.join(tmp, 'nodes')
            with open(path, 'wb') as f:
                f.write(content.encode('utf-8'))
            return inputs.read_records(path)

        for content in (
            '[{"id": "n1", "instance_id": "i1"}]',
            'id,instance_id\nn1,i1\n',
            '"id","instance_id"\r\n"n1","i1"\r\n',
            # A byte order mark, as spreadsheets write, is no column's.
            '\ufeffid,instance_id\nn1,i1\n',
            '\ufeff [{"id": "n1", "instance_id": "i1"}]',
        ):
            with self.subTest(content=content):
                self.assertEqual([node], records(content))
        self.assertEqual([], records('[]'))
        self.assertEqual([], records('id,instance_id\n'))
        self.assertEqual(
            [{'id': 'a\nb', 'instance_id': ''}],
            records('id,instance_id\n"a\nb",\n'),
        )
        deep = '[' * 100_000 + ']' * 100_000
        for content, message in (
            # Each read as no records, until they were refused.
            ('', 'is empty: give [] or a CSV header'),
            (' \n', 'is empty'),
            ('{}', 'is not a list of records but dict {}'),
            ('null', 'is not a list of records but NoneType None'),
            ('5', 'is not a list of records but int 5'),
            ('[1, 2]', 'is not a list of records but list [1, 2]'),
            ('[{"id": 1}', 'is not JSON or CSV: Expecting'),
            (deep, 'is not JSON or CSV: maximum recursion depth'),
        ):
            with self.subTest(content=content[:20]):
                err = self.assertRaises(inputs.UsageError, records, content)
                self.assertIn(message, str(err))
                self.assertIn(os.path.join(tmp, 'nodes'), str(err))
