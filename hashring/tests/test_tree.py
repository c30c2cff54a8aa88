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

"""Checks of the repository as a whole: the commands, style and docs.

Each tool runs in a subprocess.  Where a tool is missing the check skips,
unless HASHRING_REQUIRE_TOOLS is set (as .ci/run sets it), so that CI fails
rather than skipping.
"""

import configparser
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

from packaging import requirements
from packaging import utils
from packaging import version

from hashring.tests import base

ROOT = base.ROOT
HEADER = 'Licensed under the Apache License, Version 2.0'


def _sources():
    for folder in (
        'hashring',
        'benchmarks',
        'examples',
        'doc',
        'releasenotes',
    ):
        for path in sorted((ROOT / folder).rglob('*.py')):
            if 'build' not in path.parts:
                yield path


def _requirements(text):
    """Parse the requirements of a requirements file's text."""
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if line and not line.startswith('-'):
            yield requirements.Requirement(line)


class TreeTestCase(base.TestCase):
    def _tool(self, *argv, **kwargs):
        exe = shutil.which(argv[0], path=os.path.dirname(sys.executable))
        exe = exe or shutil.which(argv[0])
        if exe is None:
            if os.environ.get('HASHRING_REQUIRE_TOOLS'):
                self.fail(f'{argv[0]} is required but not installed')
            self.skipTest(f'{argv[0]} is not installed')
        return subprocess.run(
            [exe, *argv[1:]],
            cwd=ROOT,
            capture_output=True,
            text=True,
            **kwargs,
        )

    def _passes(self, *argv):
        result = self._tool(*argv)
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        return result

    def test_ci_runs_the_readme_test_command(self):
        readme = (ROOT / 'README.rst').read_text()
        commands = re.findall(r'^    (python3 -m venv .*)$', readme, re.M)
        self.assertEqual(2, len(commands), commands)
        install_and_run, test = commands
        self.assertIn('hashring simulate', install_and_run)
        self.assertIn('pytest', test)
        ci = (ROOT / '.ci' / 'run').read_text().splitlines()
        self.assertIn(test, ci)

    def test_tox_environments_have_what_their_commands_need(self):
        tox = configparser.ConfigParser(interpolation=None)
        tox.read(ROOT / 'tox.ini')
        # mypy in pep8 needs the package's own requirements installed.
        self.assertNotIn('skip_install', tox['testenv:pep8'])
        self.assertIn('requirements.txt', tox['testenv:pep8']['deps'])
        # The docs build is a test: py3 (and cover) need sphinx.
        self.assertIn('doc/requirements.txt', tox['testenv']['deps'])

    def test_lower_constraints_pin_the_declared_minimums(self):
        files = [
            (ROOT / 'requirements.txt').read_text(),
            (ROOT / 'test-requirements.txt').read_text(),
        ]
        setup = configparser.ConfigParser(interpolation=None)
        setup.read(ROOT / 'setup.cfg')
        files.extend(setup['extras'].values())
        declared = {}
        for text in files:
            for req in _requirements(text):
                for spec in req.specifier:
                    if spec.operator == '>=':
                        name = utils.canonicalize_name(req.name)
                        declared.setdefault(name, []).append(
                            version.Version(spec.version)
                        )
        pins = {
            utils.canonicalize_name(req.name): version.Version(
                next(iter(req.specifier)).version
            )
            for req in _requirements(
                (ROOT / 'lower-constraints.txt').read_text()
            )
        }
        # Every runtime dependency, and every extra's, is pinned.
        runtime = [
            utils.canonicalize_name(req.name)
            for text in [files[0], *setup['extras'].values()]
            for req in _requirements(text)
        ]
        self.assertEqual([], sorted(set(runtime) - set(pins)))
        for name, pin in pins.items():
            with self.subTest(name=name):
                self.assertEqual(max(declared[name]), pin)

    def test_main_job_runs(self):
        result = subprocess.run(
            [sys.executable, '-m', 'hashring.cmd.main']
            + ['simulate', 'converge'],
            capture_output=True,
            text=True,
            check=True,
        )
        self.assertIn('crash at 30s: clean', result.stdout)

    def test_examples_run(self):
        for name, expected in (
            ('basic.py', 'conductor-4 joins:'),
            ('nova_compute.py', 'its instance was deleted while'),
            ('ironic_conductor.py', '-> ironic.conductor_manager.cond-'),
        ):
            with self.subTest(example=name):
                result = subprocess.run(
                    [sys.executable, str(ROOT / 'examples' / name)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                self.assertIn(expected, result.stdout)
        # The Nova example follows one node through each step: each step
        # says something the one before did not.
        nova = subprocess.run(
            [sys.executable, str(ROOT / 'examples' / 'nova_compute.py')],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        watched = re.findall(r'(?m)^node \S+: (.*)$', nova)
        self.assertEqual(4, len(watched), nova)
        for before, after in zip(watched, watched[1:]):
            self.assertNotEqual(before, after)
        self.assertIn('is down', watched[1])
        self.assertIn('has no record', watched[2])
        self.assertEqual(
            5,
            len(
                re.findall(
                    r'managed by nobody: 0; managed twice in any round: 0',
                    nova,
                )
            ),
            nova,
        )

    def test_examples_say_which_extra_they_need(self):
        for name in ('nova_compute.py', 'ironic_conductor.py'):
            path = ROOT / 'examples' / name
            self.assertIn("pip install 'oslo.hashring[sql]'", path.read_text())
            script = (
                'import runpy, sys\n'
                "sys.modules['sqlalchemy'] = None  # as if not installed\n"
                f"runpy.run_path({str(path)!r}, run_name='__main__')\n"
            )
            with self.subTest(example=name):
                result = subprocess.run(
                    [sys.executable, '-c', script],
                    capture_output=True,
                    text=True,
                )
                self.assertEqual(1, result.returncode)
                self.assertEqual('', result.stdout)
                self.assertEqual(
                    "The 'sql' membership driver needs the Python module "
                    "'sqlalchemy', which is not installed: pip install "
                    "'oslo.hashring[sql]'",
                    result.stderr.strip(),
                )

    def test_headers(self):
        for path in _sources():
            text = path.read_text()
            if text.strip():
                self.assertIn(HEADER, text, path)

    def test_public_surface(self):
        import hashring

        self.assertEqual(sorted(hashring.__all__), hashring.__all__)
        for name in hashring.__all__:
            self.assertTrue(hasattr(hashring, name), name)
        self.assertTrue((ROOT / 'hashring' / 'py.typed').exists())

    def test_ruff(self):
        self._passes(
            'ruff', 'check', 'hashring', 'benchmarks', 'examples', 'tools'
        )
        self._passes(
            'ruff',
            'format',
            '--check',
            'hashring',
            'benchmarks',
            'examples',
            'tools',
        )

    def test_flake8_hacking(self):
        self._passes('flake8', 'hashring', 'benchmarks', 'examples', 'tools')

    def test_mypy(self):
        self._passes('mypy')

    def test_docs_build_without_warnings(self):
        with tempfile.TemporaryDirectory() as out:
            result = self._passes(
                'sphinx-build',
                '-W',
                '--keep-going',
                '-q',
                '-b',
                'html',
                'doc/source',
                out,
            )
            html = pathlib.Path(out, 'configuration', 'index.html')
            self.assertIn('partition_exponent', html.read_text(), result)
