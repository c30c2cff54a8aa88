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


"""Run the hashring command in a subprocess, as a user would."""

import json
import os
import subprocess
import sys

import fixtures


def run(*argv, check=True, **kwargs):
    """Run ``hashring argv...``; raise on a non-zero exit when check."""
    result = subprocess.run(
        [sys.executable, '-m', 'hashring.cmd.main', *argv],
        capture_output=True,
        text=True,
        **kwargs,
    )
    if check and result.returncode:
        raise AssertionError(f'exit {result.returncode}: {result.stderr}')
    return result


def run_without(modules, *argv):
    """Run ``hashring argv...`` where modules cannot be imported."""
    script = (
        'import sys\n'
        f'for name in {list(modules)!r}:\n'
        '    sys.modules[name] = None  # as if not installed\n'
        'from hashring.cmd import main\n'
        f'sys.exit(main.main({list(argv)!r}))\n'
    )
    return subprocess.run(
        [sys.executable, '-c', script],
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_json(*argv):
    return json.loads(run(*argv, '--format', 'json').stdout)


def converge(**options):
    argv = ['simulate', 'converge']
    for name, value in options.items():
        flag = f'--{name.replace("_", "-")}'
        # A flag that is on or off stands alone.
        argv += [flag] if value is True else [flag, str(value)]
    return run_json(*argv)


def config(test, **options):
    """Return a config file of [hashring] options, in a temporary folder.

    A ``membership_file`` of None is a file in that folder.
    """
    tmp = test.useFixture(fixtures.TempDir()).path
    if options.get('membership_file', '') is None:
        options['membership_file'] = os.path.join(tmp, 'members.json')
    conf = os.path.join(tmp, 'hashring.conf')
    with open(conf, 'w') as f:
        f.write('[hashring]\n')
        f.writelines(f'{k} = {v}\n' for k, v in options.items())
    return conf


def drained(test):
    """Return a config file whose group has one member, draining."""
    conf = config(test, membership_driver='file', membership_file=None)
    run('join', '--config-file', conf, '--host', 'c-1')
    run('drain', '--config-file', conf, '--host', 'c-1')
    return conf


class Refusals:
    """A test case mixin: files to feed in, and one-line refusals."""

    def setUp(self):
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path

    def file(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def assert_refused(self, argv, message):
        result = run(*argv, check=False)
        self.assertEqual(2, result.returncode, result.stderr)
        self.assertNotIn('Traceback', result.stderr)
        self.assertEqual(1, len(result.stderr.strip().splitlines()))
        self.assertIn(message, result.stderr)
        self.assertEqual('', result.stdout)
        return result
