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

"""The shared parser of the hashring command: types and options."""

import argparse

from hashring.cmd import parser
from hashring.tests import base


class TypesTestCase(base.TestCase):
    def test_numbers_within_bounds(self):
        between = parser.number(float, 0, high=1)
        self.assertEqual(0.5, between('0.5'))
        self.assertEqual(0, between('0'))
        for text, message in (
            ('x', "'x' is not a finite number"),
            ('nan', 'not a finite number at least 0 and at most 1'),
            ('1.5', 'not a finite number at least 0 and at most 1'),
            ('-0.1', 'at least 0'),
        ):
            with self.subTest(text=text):
                err = self.assertRaises(
                    argparse.ArgumentTypeError, between, text
                )
                self.assertIn(message, str(err))
        self.assertRaises(argparse.ArgumentTypeError, parser.positive, '0')
        self.assertEqual(16, parser.exponent('16'))
        for text, message in (
            ('17', "'17' is not an integer at least 0 and at most 16"),
            ('2.5', "'2.5' is not an integer"),
        ):
            with self.subTest(text=text):
                err = self.assertRaises(
                    argparse.ArgumentTypeError, parser.exponent, text
                )
                self.assertEqual(message, str(err))
        self.assertEqual({'a': 1, 'b': 2}, parser.members_arg('a,b:2'))
        err = self.assertRaises(
            argparse.ArgumentTypeError, parser.members_arg, 'a:0'
        )
        self.assertIn('weight 0 is below 1', str(err))


class SharedOptionsTestCase(base.TestCase):
    def test_every_shared_option_has_a_default(self):
        self.assertEqual(set(parser.COMMON), set(parser.DEFAULTS))
        self.assertLessEqual(set(parser.RING), set(parser.COMMON))

    def test_finish_fills_in_what_the_command_uses_and_refuses_the_rest(
        self,
    ):
        args = argparse.Namespace(
            uses=frozenset({'format', 'config_file'}), command='x'
        )
        parser.finish(args)
        self.assertEqual('table', args.format)
        self.assertEqual([], args.config_file)
        self.assertFalse(hasattr(args, 'members'))
        args.config_file.append('f')
        # Each run gets a list of its own.
        self.assertEqual([], parser.DEFAULTS['config_file'])
        given = argparse.Namespace(
            uses=frozenset({'format'}), command='simulate converge', group='g'
        )
        err = self.assertRaises(parser.UsageError, parser.finish, given)
        self.assertEqual(
            'hashring simulate converge: --group is not an option of this '
            'command',
            str(err),
        )

    def test_a_value_given_before_the_command_survives_its_parser(self):
        top = parser.Parser(prog='t')
        parser.add_common(top, ['format'])
        sub = top.add_subparsers()
        parser.command(sub, 'c', lambda a: 0, 'A command.', ['format'])
        args = parser.finish(top.parse_args(['--format', 'json', 'c']))
        self.assertEqual('json', args.format)
        args = parser.finish(top.parse_args(['c']))
        self.assertEqual('table', args.format)
