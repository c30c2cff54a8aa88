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
import threading
import time

from hashring.membership import bounded
from hashring.tests import base as test_base


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
