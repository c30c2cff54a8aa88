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

import concurrent.futures
import signal
import subprocess
import sys
import threading
import time

from hashring.membership import bounded
from hashring.tests import base as test_base
from hashring.tests.membership import contract
from hashring.tests.membership import processes


class WorkerTestCase(test_base.TestCase):
    def test_runs_calls_in_order_and_returns_their_outcome(self):
        worker = bounded.Worker('hashring-test')
        self.addCleanup(worker.shutdown)
        order = []
        futures = [
            worker.submit(lambda i=i: order.append(i) or i) for i in range(5)
        ]
        self.assertEqual(list(range(5)), [f.result(5) for f in futures])
        self.assertEqual(list(range(5)), order)
        failing = worker.submit(lambda: 1 / 0)
        self.assertRaises(ZeroDivisionError, failing.result, 5)
        # The thread survives a failed call.
        self.assertEqual('ok', worker.submit(lambda: 'ok').result(5))

    def test_a_stuck_call_does_not_hold_the_process(self):
        release = threading.Event()
        self.addCleanup(release.set)
        worker = bounded.Worker('hashring-test')
        self.assertIsNone(worker._thread)
        stuck = worker.submit(release.wait)
        queued = worker.submit(lambda: 'late')
        self.assertRaises(concurrent.futures.TimeoutError, stuck.result, 0.1)
        # A call cancelled while queued never runs.
        self.assertTrue(queued.cancel())
        worker.shutdown()
        self.assertTrue(worker._thread.daemon)
        release.set()
        worker._thread.join(5)
        self.assertFalse(worker._thread.is_alive())
        self.assertTrue(stuck.result(0))

    def test_a_dropped_worker_ends_its_thread(self):
        worker = bounded.Worker('hashring-test')
        self.assertEqual(1, worker.submit(lambda: 1).result(5))
        thread = worker._thread
        del worker
        thread.join(5)
        self.assertFalse(thread.is_alive())


class CallerTestCase(test_base.TestCase):
    def test_a_stuck_call_is_abandoned_and_a_fresh_worker_serves(self):
        release = threading.Event()
        self.addCleanup(release.set)
        caller = bounded.Caller('hashring-test', 0.2, replace=True)
        started = time.monotonic()
        self.assertRaises(TimeoutError, caller.call, release.wait)
        self.assertLess(time.monotonic() - started, 2)
        # Not queued behind the stuck call.
        self.assertEqual('ok', caller.call(lambda: 'ok'))

    def test_stuck_calls_are_bounded(self):
        release = threading.Event()
        self.addCleanup(release.set)
        caller = bounded.Caller(
            'hashring-test', 0.05, replace=True, max_stuck=2
        )
        for _ in range(2):
            self.assertRaises(TimeoutError, caller.call, release.wait)
        err = self.assertRaises(TimeoutError, caller.call, lambda: 'x')
        self.assertIn('2 earlier calls are still waiting', str(err))
        release.set()
        time.sleep(0.2)
        self.assertEqual('x', caller.call(lambda: 'x'))


# A child that waits 3 s for a call's answer, then prints what its Stalls
# saw (the parent stops it for a while meanwhile).
WAITER = """
import sys, time
from hashring.membership import bounded


def until(deadline):
    # In steps: Python 3.10's time.sleep() does not count a stop of the
    # process, and one sleep would end as long after the stop as it had left.
    while time.monotonic() < deadline:
        time.sleep(0.05)


caller = bounded.Caller('hashring-test', 10)
print('waiting', flush=True)
caller.call(lambda: until(time.monotonic() + 3))
print(*caller.stalls.seen(), flush=True)
"""


class StallsTestCase(test_base.TestCase):
    """The spans in which the process did not run."""

    def setUp(self):
        super().setUp()
        self.now = 100.0
        self.stalls = bounded.Stalls(lambda: self.now)
        self.caller = bounded.Caller('hashring-test', 10, stalls=self.stalls)

    def assertSeen(self, seconds, ago):
        seen = self.stalls.seen()
        self.assertAlmostEqual(seconds, seen[0])
        self.assertAlmostEqual(ago, seen[1])

    def jump(self, seconds):
        # The call's worker moves the clock on: its waiter wakes to find
        # the time gone, as after a stop of the process.
        def call():
            self.now += seconds
            return 'answer'

        return call

    def test_none_at_first(self):
        self.assertEqual((0.0, float('inf')), self.stalls.seen())

    def test_a_jump_while_a_call_waits_is_a_stall(self):
        self.assertEqual('answer', self.caller.call(self.jump(10)))
        # From when the wake was due (a tenth of a second in) to the wake.
        self.assertSeen(10.0 - bounded.WAKE_EVERY, 0.0)
        self.now += 7
        self.assertEqual(7.0, self.stalls.seen()[1])

    def test_a_short_lateness_is_none(self):
        self.caller.call(self.jump(bounded.STALL_AFTER))
        self.assertEqual(0.0, self.stalls.seen()[0])

    def test_a_stall_that_lasts_counts_up_to_now(self):
        release = threading.Event()
        self.addCleanup(release.set)
        waiting = threading.Thread(
            target=self.caller.call, args=(release.wait,), daemon=True
        )
        waiting.start()
        self.assertTrue(contract.eventually(lambda: self.stalls._waiting, 5))
        self.now += 5
        # Whether or not the waiter woke since: 5 s, less the wake's due.
        self.assertSeen(5.0 - bounded.WAKE_EVERY, 0.0)
        release.set()
        waiting.join(5)
        self.now += 5  # no thread waits: no stall
        self.assertSeen(5.0 - bounded.WAKE_EVERY, 5.0)

    def test_threads_waiting_through_one_stall_count_it_once(self):
        release = threading.Event()
        self.addCleanup(release.set)
        other = bounded.Caller('hashring-test', 10, stalls=self.stalls)
        waiting = threading.Thread(
            target=other.call, args=(release.wait,), daemon=True
        )
        waiting.start()
        self.assertTrue(contract.eventually(lambda: self.stalls._waiting, 5))
        self.caller.call(self.jump(10))
        release.set()
        waiting.join(5)
        self.assertAlmostEqual(
            10.0 - bounded.WAKE_EVERY, self.stalls.seen()[0]
        )

    def test_a_sleep_through_a_jump_is_a_stall(self):
        # The file driver's wait for its lock.
        timer = threading.Timer(0.05, self.jump(10))
        timer.start()
        self.stalls.sleep(0.3)
        timer.join()
        # From the first wake's due (the sleep's first tenth) on.
        self.assertSeen(10.0 - bounded.WAKE_EVERY, 0.0)
        self.stalls.sleep(0.01)
        self.assertSeen(10.0 - bounded.WAKE_EVERY, 0.0)

    def test_a_long_sleep_is_no_stall(self):
        # Its wakes are as a waiting call's, a tenth of a second apart.
        stalls = bounded.Stalls()
        sleeping = threading.Thread(target=stalls.sleep, args=(1.0,))
        sleeping.start()
        time.sleep(0.8)
        self.assertEqual(0.0, stalls.seen()[0])
        sleeping.join()
        self.assertEqual(0.0, stalls.seen()[0])

    def test_a_forked_child_has_no_waiting_thread(self):
        self.stalls._begin()  # a thread of the parent's, waiting
        self.caller.after_fork()
        self.now += 60
        self.assertEqual(0.0, self.stalls.seen()[0])

    def test_a_stopped_process_counts_the_stop(self):
        # The real thing: SIGSTOP for 1.5 s while a call waits.
        child = subprocess.Popen(
            [sys.executable, '-c', WAITER], stdout=subprocess.PIPE, text=True
        )
        self.addCleanup(child.kill)
        self.assertEqual('waiting\n', child.stdout.readline())
        time.sleep(0.3)
        processes.stop_dead(child.pid)
        time.sleep(1.5)
        child.send_signal(signal.SIGCONT)
        out, _ = child.communicate(timeout=20)
        seconds, ago = map(float, out.split())
        self.assertGreater(seconds, 1.0)
        self.assertLess(seconds, 2.0)
        self.assertLess(ago, 2.5)

    def test_a_slow_answer_is_no_stall(self):
        caller = bounded.Caller('hashring-test', 10)
        caller.call(lambda: time.sleep(1))
        self.assertEqual(0.0, caller.stalls.seen()[0])
