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

"""The output helpers of the hashring command."""

import argparse
import contextlib
import io
import json

from hashring.cmd import output
from hashring.tests import base


def printed(func, *args):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        func(*args)
    return out.getvalue()


class OutputTestCase(base.TestCase):
    def test_table_is_aligned_and_escaped(self):
        text = printed(output.table, [('A', 'LONG HEADING'), ('x\x1b[2J', 1)])
        self.assertEqual('A         LONG HEADING\nx\\x1b[2J  1\n', text)

    def test_counted_is_singular_for_one(self):
        self.assertEqual(
            ['0 members', '1 member', '2 members'],
            [output.counted(n, 'member') for n in range(3)],
        )

    def test_printable_keeps_printable_text(self):
        self.assertEqual('nöde-1', output.printable('nöde-1'))
        self.assertEqual('a\\nb\\x07', output.printable('a\nb\x07'))

    def test_json_keeps_the_data_as_it_is(self):
        args = argparse.Namespace(format='json')
        data = {'id': 'n\x07', 'b': 1}
        text = printed(output.emit, args, data, [('ignored',)])
        self.assertEqual(data, json.loads(text))

    def test_plot_files_must_be_pictures(self):
        self.assertEqual('out.PNG', output.plot_arg('out.PNG'))
        for name in ('out', 'out.txt', 'png'):
            with self.subTest(name=name):
                self.assertRaises(
                    argparse.ArgumentTypeError, output.plot_arg, name
                )

    def test_plot_hint_names_the_distribution(self):
        self.assertIn("pip install 'oslo.hashring[plot]'", output.PLOT_HINT)
