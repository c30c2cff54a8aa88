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

"""The test servers' switches: a missing binary skips, or fails if required.

That a frozen process has stopped when stop_dead() returns is in
test_processes; here, what a freeze does with the processes it lists.
"""

import os
import subprocess
import sys

import fixtures
import testtools

from hashring.tests import base as test_base
from hashring.tests.membership import processes
from hashring.tests.membership import servers
from hashring.tests.membership import test_processes

ROOT = os.path.abspath(
    os.path.join(os.path.dirname(__file__), '..', '..', '..')
)

#: Server-backed tests of each kind: a fixture per test, and a server
#: shared by a class.
TESTS = [
    'hashring/tests/membership/test_tooz.py::FrozenExitTestCase',
    'hashring/tests/membership/test_sql.py::PostgreSQLOutageTestCase'
    '::test_a_reinitialised_database_recovers_without_help',
    'hashring/tests/membership/test_sql.py::MariaDBOutageTestCase'
    '::test_a_reinitialised_database_recovers_without_help',
    'hashring/tests/membership/test_tooz_zookeeper.py'
    '::ZooKeeperContractTestCase'
    '::test_join_and_read',
    'hashring/tests/membership/test_tooz.py::RedisContractTestCase'
    '::test_join_and_read',
]


class MissingServersTestCase(test_base.TestCase):
    def run_hidden(self, **env):
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith('HASHRING_TEST_')
            and k != 'HASHRING_REQUIRE_SERVERS'
        }
        clean['HASHRING_TEST_SERVER_PATH'] = self.useFixture(
            fixtures.TempDir()
        ).path
        return subprocess.run(
            [
                sys.executable,
                '-m',
                'pytest',
                '-q',
                '-rs',
                '-p',
                'no:cacheprovider',
                *TESTS,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            env={**clean, **env},
            cwd=ROOT,
        )

    def test_missing_servers_are_clean_skips_with_their_reason(self):
        out = self.run_hidden()
        self.assertEqual(0, out.returncode, out.stdout + out.stderr)
        self.assertIn(f'{len(TESTS)} skipped', out.stdout)
        self.assertNotIn('error', out.stdout.lower())
        self.assertIn(
            'SKIPPED, NOT TESTED: redis-server is not installed', out.stdout
        )
        for binary in ('postgres', 'mariadbd', 'zookeeper (zookeeper.jar)'):
            self.assertIn(f'{binary} is not installed', out.stdout)

    def test_missing_servers_fail_when_required(self):
        out = self.run_hidden(HASHRING_REQUIRE_SERVERS='1')
        self.assertNotEqual(0, out.returncode)
        self.assertIn('HASHRING_REQUIRE_SERVERS is set', out.stdout)
        self.assertNotIn('skipped', out.stdout)


class Listed(servers.Server):
    """A server made of the processes it is given, started by the test."""

    def __init__(self, pids):
        super().__init__()
        self.listed = pids

    def setUp(self):
        fixtures.Fixture.setUp(self)  # no binary to find

    def _setUp(self):
        pass  # nothing to start

    def pids(self):
        return self.listed


@testtools.skipUnless(
    os.path.isdir('/proc/self/task'), 'needs /proc to see thread states'
)
class FreezeTestCase(test_base.TestCase):
    def test_a_listed_process_that_ended_is_passed_over(self):
        # A PostgreSQL backend whose client left between the listing and
        # its stop (a chaos run found one): the others freeze.
        running = test_processes.spinner(self)
        ended = subprocess.Popen([sys.executable, '-c', 'pass'])
        ended.wait(10)
        server = self.useFixture(Listed([running.pid, ended.pid]))
        server.freeze()
        self.assertEqual({}, processes.running_threads(running.pid))
        # The server's own process ended: no freeze.
        gone = self.useFixture(Listed([ended.pid, running.pid]))
        self.assertRaises(processes.Ended, gone.freeze)


class Exiting(servers.Server):
    """A server that exits at once, saying why in its log."""

    binary = 'exiting'

    def command(self):
        return [
            self.path,
            '-c',
            'import sys; '
            'print("listen tcp: bind: address already in use", '
            'file=sys.stderr); '
            'sys.exit(1)',
        ]

    def ready(self):
        raise ConnectionRefusedError(111, 'Connection refused')


class StartTestCase(test_base.TestCase):
    def test_a_server_that_exits_says_why_at_once(self):
        # Its log goes with its directory once the test ends: the error
        # quotes how it ends.
        server = Exiting()
        server.path = sys.executable
        server.dir = self.useFixture(fixtures.TempDir()).path
        err = self.assertRaises(RuntimeError, server.start)
        self.assertIn(
            'exiting exited with status 1 before it came up', str(err)
        )
        self.assertIn('address already in use', str(err))
        self.assertIn('Connection refused', str(err))
