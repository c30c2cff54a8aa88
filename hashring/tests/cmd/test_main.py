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


"""The hashring command as a whole: its parser, help and errors."""

import argparse
import importlib.metadata
import subprocess
import sys

from hashring.cmd import main
from hashring.cmd import parser
from hashring.tests import base
from hashring.tests.cmd import cli


class MainTestCase(cli.Refusals, base.TestCase):
    def test_help_lists_every_command(self):
        out = cli.run('--help').stdout
        for name in (
            'lookup',
            'members',
            'join',
            'heartbeat',
            'drain',
            'undrain',
            'leave',
            'owned',
            'diff',
            'simulate',
        ):
            self.assertRegex(out, rf'(?m)^    {name} +[A-Z]')
        self.assertIn('--to-members', cli.run('diff', '--help').stdout)
        converge = cli.run('simulate', 'converge', '--help').stdout
        self.assertIn('--event', converge)
        self.assertIn('node-seconds', converge)

    def test_bare_command_prints_the_usage_with_the_commands(self):
        result = cli.run(check=False)
        self.assertEqual(2, result.returncode)
        self.assertEqual('', result.stdout)
        self.assertTrue(result.stderr.startswith('usage: hashring'))
        self.assertIn('simulate', result.stderr)
        self.assertIn('Show the owner and replicas of keys.', result.stderr)
        self.assert_refused(['simulate'], 'name a simulation: balance or')

    def test_version(self):
        out = cli.run('--version').stdout
        self.assertEqual(
            f'hashring {importlib.metadata.version("oslo.hashring")}',
            out.strip(),
        )

    def test_shared_options_before_or_after_the_command(self):
        after = cli.run('lookup', 'k1', 'k2', '--members', 'a,b:2,c')
        before = cli.run('--members', 'a,b:2,c', 'lookup', 'k1', 'k2')
        self.assertEqual(after.stdout, before.stdout)
        for argv in (
            ['--format', 'json', 'simulate', 'converge', '--nodes', '20'],
            ['simulate', '--format', 'json', 'converge', '--nodes', '20'],
            ['simulate', 'converge', '--nodes', '20', '--format', 'json'],
        ):
            with self.subTest(argv=argv):
                out = cli.run(*argv).stdout
                self.assertTrue(out.startswith('{'), out[:80])
        balance = ['balance', '--count', '500', '--exponents', '3']
        balance += ['--format', 'json']
        early = cli.run('simulate', '--members', 'x,y:3', *balance)
        late = cli.run('simulate', *balance, '--members', 'x,y:3')
        self.assertEqual(early.stdout, late.stdout)
        self.assertIn('"y": 3', early.stdout)

    def test_an_option_a_command_does_not_use_is_refused(self):
        for argv, message in (
            (
                ['--members', 'a', 'simulate', 'converge'],
                'hashring simulate converge: --members is not an option',
            ),
            (
                ['--config-file', 'x', 'simulate', 'converge'],
                '--config-file is not an option',
            ),
            (
                ['simulate', '--members', 'a', 'converge'],
                '--members is not an option',
            ),
            (
                ['--partition-exponent', '5', 'members'],
                'hashring members: --partition-exponent is not an option',
            ),
            (
                ['simulate', 'converge', '--members', 'a'],
                'unrecognized arguments: --members a',
            ),
            (['join', '--host', 'a', '--format', 'json'], 'unrecognized'),
            (['nope'], "invalid choice: 'nope'"),
        ):
            with self.subTest(argv=argv):
                self.assert_refused(argv, message)

    def test_every_option_has_help_with_its_default(self):
        def parsers(p, name):
            yield name, p
            for action in p._actions:
                if isinstance(action, argparse._SubParsersAction):
                    for child, sub in action.choices.items():
                        yield from parsers(sub, f'{name} {child}')

        found = list(parsers(main.build_parser(), 'hashring'))
        self.assertGreater(len(found), 10)
        for name, p in found:
            for action in p._actions:
                if action.dest in ('help', 'version'):
                    continue
                if not action.option_strings:
                    continue
                with self.subTest(command=name, option=action.dest):
                    self.assertTrue(action.help)
                    fmt = p.formatter_class(name)
                    text = fmt._get_help_string(action) % {
                        'default': action.default
                    }
                    if action.dest in parser.COMMON:
                        self.assertIn('(default: ', text)
                    elif action.default not in (None, False):
                        self.assertIn(f'(default: {action.default}', text)

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
