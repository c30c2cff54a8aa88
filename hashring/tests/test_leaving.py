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

import threading
import time

from hashring import exception
from hashring.tests import test_handoff


class LeaveTestCase(test_handoff.OverASource):
    """Leaving through a real file source, the peers taking turns."""

    def test_waiting_for_the_peers_that_still_place_me(self):
        leaving, held = self.third()
        # Every peer applies a ring with s-3 in it.
        self.assertEqual(['s-1', 's-2'], leaving.protocol.waiting_for())
        leaving.protocol.drain()
        self.rounds(3, self.services[:-1])
        # The peers applied rings without it, and took none of its keys:
        # its published ring still gives them to it.
        self.assertEqual([], leaving.protocol.waiting_for())
        for peer in self.services[:-1]:
            self.assertFalse(held & peer.owned)
        leaving.step(self.nodes)
        self.assertEqual(held, leaving.owned)

    def test_paused_past_dead_after_while_leaving_it_lets_go_of_all(self):
        # Its peers wait for it to let go while it drains; paused, it is
        # dead to them, and they take its nodes.  Its first call after
        # lets go of those, though it holds all until its record goes.
        leaving, held = self.third()
        leaving.protocol.drain()
        self.rounds(3)
        self.assertEqual(held, leaving.owned)
        self.services.remove(leaving)
        leaving.source._stop_heartbeat()
        time.sleep(1.5)
        self.rounds(3)
        self.assertLessEqual(held, set(self.assert_no_overlap()))
        self.go_on(leaving)
        with self.assertLogs('hashring.handoff', 'WARNING'):
            leaving.step(self.nodes)
        self.assertEqual(set(), leaving.owned)

    def test_leave_waits_for_the_peers_to_acknowledge(self):
        self.services.append(test_handoff.Live(self, 's-3', self.path))
        self.rounds(3)
        leaving = self.services.pop()
        done = []

        def peers():
            # The peers go on with their filter calls meanwhile.
            while not done:
                self.rounds(1)
                time.sleep(0.05)

        worker = threading.Thread(target=peers)
        worker.start()
        self.addCleanup(worker.join, 10)
        try:
            self.assertTrue(leaving.protocol.leave(timeout=20))
        finally:
            done.append(True)
        worker.join(10)
        self.assertIsNone(leaving.source.member_id)
        self.rounds(2)
        self.assert_converged()

    def test_leave_without_acknowledgements_gives_up_and_says_so(self):
        self.services.append(test_handoff.Live(self, 's-3', self.path))
        self.rounds(3)
        leaving = self.services.pop()
        # Nobody else calls its filter: nobody acknowledges.
        start = time.monotonic()
        with self.assertLogs('hashring.handoff', 'WARNING') as logs:
            self.assertFalse(leaving.protocol.leave(timeout=0.3))
        self.assertLess(time.monotonic() - start, 5)
        self.assertIn('without the acknowledgement of', logs.output[0])
        self.assertIn('(timeout 0.3s)', logs.output[0])
        self.assertIsNone(leaving.source.member_id)
        err = self.assertRaises(
            exception.InvalidArgumentError,
            self.services[0].protocol.leave,
            timeout=-1,
        )
        self.assertIn('-1', str(err))

    def test_a_member_another_process_joined_as_leaves_at_once(self):
        self.rounds(3)
        first = self.services[0]
        self.services[0] = test_handoff.Live(self, 'S-1', self.path)
        self.assertRaises(
            exception.DuplicateMemberError, first.step, self.nodes
        )
        start = time.monotonic()
        self.assertTrue(first.protocol.leave(timeout=20))
        self.assertLess(time.monotonic() - start, 5)
        self.assertIsNone(first.source.member_id)
        # It left the records to the other process, which runs on.
        self.rounds(3)
        self.assert_converged()
        self.assertTrue(self.services[0].owned)
