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

"""Run each consumer's own hash-ring tests against its hashring port.

For Ironic, Nova and Neutron, as installed from the package index: copy
the package into a temporary directory, apply its port
(doc/source/adopting/<name>.patch), add the port's own tests
(tools/adopting/<name>_test_hashring.py), and run the project's hash-ring
unit tests there with testtools.  The upstream tests that fail must be
exactly those doc/source/adopting/<name>-failures.txt lists, each with
the reason its page explains; anything else fails the run.

    python tools/adopting/run.py [ironic] [nova] [neutron]

``tox -e consumers`` installs the consumers and runs this.
"""

import argparse
import importlib.util
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
PAGES = ROOT / 'doc' / 'source' / 'adopting'
HERE = pathlib.Path(__file__).resolve().parent

#: Per consumer: the port's test module's place in its tree, and the
#: test modules to run (the port's own last).
CONSUMERS = {
    'ironic': (
        'ironic/tests/unit/common/test_hashring_port.py',
        [
            'ironic.tests.unit.common.test_hash_ring',
            'ironic.tests.unit.conductor.test_rpcapi',
            'ironic.tests.unit.conductor.test_base_manager',
            'ironic.tests.unit.common.test_hashring_port',
        ],
    ),
    'nova': (
        'nova/tests/unit/virt/ironic/test_hashring_port.py',
        [
            'nova.tests.unit.virt.ironic.test_driver',
            'nova.tests.unit.virt.ironic.test_hashring_port',
        ],
    ),
    'neutron': (
        'neutron/tests/unit/common/ovn/test_hashring_port.py',
        [
            'neutron.tests.unit.common.ovn.test_hash_ring_manager',
            'neutron.tests.unit.db.test_ovn_hash_ring_db',
            'neutron.tests.unit.common.ovn.test_hashring_port',
        ],
    ),
}

#: Seconds one consumer's tests may take.
TIMEOUT = 1800

_FAILED = re.compile(r'^(?:FAIL|ERROR): (\S+)', re.MULTILINE)


def expected_failures(name):
    """Return the upstream tests the page says fail, and why."""
    path = PAGES / f'{name}-failures.txt'
    failures = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith('#'):
            test, _, reason = line.partition(' ')
            failures[test] = reason.strip()
    return failures


def prepare(name, workdir):
    """Copy the installed consumer, apply its port, add the port's tests."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            f'{name} is not installed: pip install -r '
            f'tools/adopting/requirements.txt (or tox -e consumers)'
        )
    source = pathlib.Path(list(spec.submodule_search_locations)[0])
    shutil.copytree(
        source, workdir / name, ignore=shutil.ignore_patterns('__pycache__')
    )
    # git apply works outside a repository, as patch(1) does.
    subprocess.run(
        ['git', 'apply', '--verbose', str(PAGES / f'{name}.patch')],
        cwd=workdir,
        check=True,
    )
    target, _ = CONSUMERS[name]
    shutil.copy(HERE / f'{name}_test_hashring.py', workdir / target)


def run(name):
    """Run one consumer's tests; return the unexplained differences."""
    _, modules = CONSUMERS[name]
    with tempfile.TemporaryDirectory(prefix=f'hashring-{name}-') as tmp:
        workdir = pathlib.Path(tmp)
        prepare(name, workdir)
        env = dict(os.environ, PYTHONPATH=str(workdir))
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, '-m', 'testtools.run', *modules],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        took = time.monotonic() - start
    output = done.stdout + done.stderr
    ran = re.search(r'^Ran (\d+) tests?', output, re.MULTILINE)
    if ran is None:
        return [f'{name}: the tests did not run:\n{output[-3000:]}']
    failed = set(_FAILED.findall(output))
    expected = expected_failures(name)
    problems = []
    for test in sorted(failed - set(expected)):
        block = output[output.find(f': {test}') :][:2500]
        problems.append(f'{name}: unexpected failure {test}\n{block}')
    for test in sorted(set(expected) - failed):
        problems.append(
            f'{name}: {test} passes now; take it off {name}-failures.txt'
        )
    print(
        f'{name}: {ran.group(1)} tests in {took:.0f}s, {len(failed)} '
        f'failed, all of them explained'
        if not problems
        else f'{name}: {ran.group(1)} tests in {took:.0f}s, '
        f'{len(problems)} problem(s)'
    )
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'consumers',
        nargs='*',
        help=f'the consumers to run: {", ".join(CONSUMERS)} (default: all)',
    )
    args = parser.parse_args(argv)
    unknown = set(args.consumers) - set(CONSUMERS)
    if unknown:
        parser.error(
            f'unknown consumer(s) {", ".join(sorted(unknown))}; choose '
            f'from {", ".join(CONSUMERS)}'
        )
    problems = []
    for name in args.consumers or CONSUMERS:
        problems += run(name)
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
