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

"""The test servers' process control: a frozen process has stopped."""

import os
import signal
import subprocess
import sys

import testtools

from hashring.tests import base as test_base
from hashring.tests.membership import processes


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


def spinner(test):
    """Start a SPINNER for a test, killed once it ends; return it."""
    proc = subprocess.Popen(
        [sys.executable, '-c', SPINNER], stdout=subprocess.PIPE, text=True
    )
    test.addCleanup(proc.stdout.close)
    test.addCleanup(proc.wait, 10)
    test.addCleanup(proc.kill)
    test.assertEqual('spinning\n', proc.stdout.readline())
    return proc


@testtools.skipUnless(
    os.path.isdir('/proc/self/task'), 'needs /proc to see thread states'
)
class StopDeadTestCase(test_base.TestCase):
    spinner = spinner

    def test_every_thread_has_stopped_when_it_returns(self):
        # kill() alone returned with threads still running in most rounds
        # here (160 of 200 on a loaded 2-core machine).
        proc = self.spinner()
        threads = os.listdir(f'/proc/{proc.pid}/task')
        self.assertEqual(4, len(threads))
        for _ in range(20):
            processes.stop_dead(proc.pid)
            for tid in threads:
                self.assertIn(
                    processes.thread_state(proc.pid, tid), ('T', 't')
                )
            os.kill(proc.pid, signal.SIGCONT)
            # Running again before the next round's stop.
            processes.wait_for(
                lambda: processes.running_threads(proc.pid), 10, 'the spinner'
            )

    def test_an_ended_process_is_named(self):
        proc = self.spinner()
        proc.kill()
        # A zombie, then a process gone.
        processes.wait_for(
            lambda: processes.thread_state(proc.pid, proc.pid) == 'Z',
            10,
            'a zombie',
        )
        for reaped in (False, True):
            if reaped:
                proc.wait(10)
            err = self.assertRaises(
                processes.Ended, processes.stop_dead, proc.pid
            )
            self.assertIn(f'process {proc.pid} has ended', str(err))


class WaitForTestCase(test_base.TestCase):
    def test_a_process_that_exits_ends_the_wait_with_its_status(self):
        proc = subprocess.Popen([sys.executable, '-c', 'raise SystemExit(3)'])
        self.addCleanup(proc.wait, 10)
        err = self.assertRaises(
            RuntimeError,
            processes.wait_for,
            lambda: False,
            60,
            'the server',
            proc,
        )
        self.assertIn(
            'the server exited with status 3 before it came up', str(err)
        )

    def test_a_process_that_runs_is_waited_for_until_the_timeout(self):
        proc = subprocess.Popen(
            [sys.executable, '-c', 'import time; time.sleep(60)']
        )
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.kill)

        def refused():
            raise ConnectionRefusedError(111, 'Connection refused')

        err = self.assertRaises(
            RuntimeError, processes.wait_for, refused, 0.3, 'the server', proc
        )
        self.assertIn('the server did not come up in 0.3s', str(err))
        self.assertIn('Connection refused', str(err))
        self.assertIsNone(proc.poll())
