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

"""Every code sample in the docs runs, and the CLI page's output is real.

Python samples (``.. code-block:: python``) run page by page, in order,
in one namespace per page, in a temporary directory.  A page may use
names that stand for the application around it (``CONF``, ``node``,
``LOG``...): STAND_INS gives them, and nothing else, so that a sample
that forgets an import of hashring fails.  The console samples of the
CLI page are run, and what they print is compared with the page.
"""

import os
import re
import shlex
import subprocess
import sys
import textwrap

import fixtures

from hashring.tests import base

ROOT = base.ROOT
DOCS = ROOT / 'doc' / 'source'

_APP = '''
import importlib
import logging
import types

_cfg = importlib.import_module('oslo_config.cfg')
_opts = importlib.import_module('hashring.opts')
CONF = _cfg.ConfigOpts()
CONF.register_opt(_cfg.StrOpt('host', default='conductor-1'))
_opts.register_opts(CONF)
CONF([], project='app', default_config_files=[], default_config_dirs=[])
CONF.set_override('membership_driver', 'sql', 'hashring')
CONF.set_override('connection', 'sqlite:///app.sqlite', 'hashring')
LOG = logging.getLogger('app')
node = types.SimpleNamespace(uuid='1be26c0b-03f2-4d2e-ae87-c02d7f33c123')
nodes = [types.SimpleNamespace(uuid=f'node-{i}') for i in range(50)]
uuids = [n.uuid for n in nodes]
hosts = ['conductor-1', 'conductor-2', 'conductor-3']
new_hosts = hosts + ['conductor-4']
'''

#: What each page's samples may use without defining it: the application.
STAND_INS = {
    'user/manager.rst': _APP
    + '''
def take_over(node_id, previous_owner):
    pass

def drop_cache(node_id):
    pass

def list_nodes():
    return nodes
''',
    'user/ownership.rst': _APP
    + '''
_manager = importlib.import_module('hashring.manager')
_membership = importlib.import_module('hashring.membership')
rings = _manager.RingManager(
    _membership.load('static', members=hosts), host=CONF.host
)

def host_of_instance(uuid):
    return None

def list_ironic_nodes():
    return [{'id': n.uuid, 'instance_id': None} for n in nodes]

def instance_uuids_on(host):
    return []
''',
    'user/migration.rst': _APP,
    'user/rebalancing.rst': _APP
    + '''
_membership = importlib.import_module('hashring.membership')
source = _membership.load('sql', connection='sqlite:///app.sqlite')
''',
}


def samples(path, kind):
    """Yield the code blocks of one kind in an rst file, dedented."""
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == f'.. code-block:: {kind}':
            i += 1
            block = []
            while i < len(lines) and (
                not lines[i].strip() or lines[i].startswith(' ')
            ):
                block.append(lines[i])
                i += 1
            yield textwrap.dedent('\n'.join(block)).strip('\n')
        else:
            i += 1


def pages():
    yield 'README.rst', ROOT / 'README.rst'
    for path in sorted(DOCS.rglob('*.rst')):
        yield str(path.relative_to(DOCS)), path


class PythonSamplesTestCase(base.TestCase):
    def test_every_python_sample_runs(self):
        ran = 0
        for name, path in pages():
            blocks = list(samples(path, 'python'))
            if not blocks:
                continue
            with self.subTest(page=name):
                tmp = self.useFixture(fixtures.TempDir()).path
                script = '\n\n'.join([STAND_INS.get(name, ''), *blocks])
                result = subprocess.run(
                    [sys.executable, '-c', script],
                    cwd=tmp,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                self.assertEqual(0, result.returncode, result.stderr)
                ran += len(blocks)
        self.assertGreaterEqual(ran, 8)

    def test_stand_ins_do_not_import_hashring_for_the_samples(self):
        for name, code in STAND_INS.items():
            with self.subTest(page=name):
                self.assertNotRegex(code, r'(?m)^(import|from) hashring')


class ConsoleSamplesTestCase(base.TestCase):
    def test_the_cli_page_shows_what_the_commands_print(self):
        page = DOCS / 'cli' / 'index.rst'
        checked = 0
        for block in samples(page, 'console'):
            for command, expected in re.findall(
                r'(?ms)^\$ hashring (.*?)\n(.*?)(?=^\$ |\Z)', block + '\n'
            ):
                with self.subTest(command=command):
                    result = subprocess.run(
                        [
                            sys.executable,
                            '-m',
                            'hashring.cmd.main',
                            *shlex.split(command),
                        ],
                        cwd=page.parent,
                        capture_output=True,
                        text=True,
                        timeout=120,
                        env={**os.environ, 'COLUMNS': '80'},
                    )
                    self.assertEqual(0, result.returncode, result.stderr)
                    printed = '\n'.join(
                        line.rstrip() for line in result.stdout.splitlines()
                    )
                    self.assertEqual(expected.strip('\n'), printed.strip('\n'))
                    checked += 1
        self.assertEqual(9, checked)
