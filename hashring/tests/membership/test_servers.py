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

"""The test servers' switches and freezes.

A missing binary skips, or fails if required; a frozen server has stopped
when freeze() returns.
"""

import os
import signal
import subprocess
import sys

import fixtures
import testtools

from hashring.tests import base as test_base
from hashring.tests.membership import servers

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
    'hashring/tests/membership/test_tooz.py::ZooKeeperContractTestCase'
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


#: A process whose threads never sleep: each one must be stopped.
SPINNER = """
import threading
def spin():
    while True:
        pass
for _ in range(3):
    threading.Thread(target=spin, daemon=True).start()
print('spinning', flush=True)
spin()
"""


@testtools.skipUnless(
    os.path.isdir('/proc/self/task'), 'needs /proc to see thread states'
)
class StopDeadTestCase(test_base.TestCase):
    def spinner(self):
        proc = subprocess.Popen(
            [sys.executable, '-c', SPINNER], stdout=subprocess.PIPE, text=True
        )
        self.addCleanup(proc.stdout.close)
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.kill)
        self.assertEqual('spinning\n', proc.stdout.readline())
        return proc

    def test_every_thread_has_stopped_when_it_returns(self):
        # kill() alone returned with threads still running in most rounds
        # here (160 of 200 on a loaded 2-core machine).
        proc = self.spinner()
        threads = os.listdir(f'/proc/{proc.pid}/task')
        self.assertEqual(4, len(threads))
        for _ in range(20):
            servers.stop_dead(proc.pid)
            for tid in threads:
                self.assertIn(servers.thread_state(proc.pid, tid), ('T', 't'))
            os.kill(proc.pid, signal.SIGCONT)
            # Running again before the next round's stop.
            servers.wait_for(
                lambda: servers.running_threads(proc.pid), 10, 'the spinner'
            )

    def test_an_ended_process_is_named(self):
        proc = self.spinner()
        proc.kill()
        # A zombie, then a process gone.
        servers.wait_for(
            lambda: servers.thread_state(proc.pid, proc.pid) == 'Z',
            10,
            'a zombie',
        )
        for reaped in (False, True):
            if reaped:
                proc.wait(10)
            err = self.assertRaises(RuntimeError, servers.stop_dead, proc.pid)
            self.assertIn(f'process {proc.pid} has ended', str(err))
