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

import contextlib
import time

from hashring import exception
from hashring.tests import test_handoff
from hashring.tests import test_handover

KEYS = test_handoff.KEYS


class ReadingsTestCase(test_handoff.OverASource):
    """What a protocol found at its last call, over a real file source."""

    def test_announced_says_whether_the_claim_names_a_ring(self):
        service = self.services[0]
        ring_ = service.manager.get_ring()
        self.assertFalse(service.protocol.announced(ring_, None))
        self.rounds(3)
        ring_ = service.manager.get_ring()
        self.assertTrue(service.protocol.announced(ring_, None))
        other = ring_.with_members(['S-1', 's-2', 's-9'])
        self.assertFalse(service.protocol.announced(other, None))

    def test_counted_out_until_the_peers_place_this_member(self):
        self.rounds(3)
        newcomer = test_handoff.Live(self, 's-3', self.path)
        self.assertEqual(set(), newcomer.protocol.counted_out(KEYS))
        newcomer.step(self.nodes)
        # Its peers' rings leave it out (they have yet to see it join),
        # and give them every key.
        self.assertEqual(set(KEYS), newcomer.protocol.counted_out(KEYS))
        self.services.append(newcomer)
        self.rounds(3)
        self.assertEqual(set(), newcomer.protocol.counted_out(KEYS))
        # Drained, it is left out while it lives: counted out of nothing.
        self.services[0].source.drain()
        self.rounds(2)
        self.assertEqual(set(), self.services[0].protocol.counted_out(KEYS))

    def test_counted_out_of_all_while_its_record_is_not_listed(self):
        self.rounds(3)
        service = self.services[1]
        self.assertEqual(set(), service.protocol.counted_out(KEYS))
        # The backend ended its record: a peer's read finds it gone (dead,
        # as an expired lease), though every claim still places it.
        self.services[0].source._unregister('default', 's-2')
        service.step(self.nodes)
        self.assertEqual(set(KEYS), service.protocol.counted_out(KEYS))
        # Its heartbeat makes the record again; the next read lists it.
        service.source.heartbeat()
        service.step(self.nodes)
        self.assertEqual(set(), service.protocol.counted_out(KEYS))

    def test_after_a_silence_left_out_whatever_else_went(self):
        paused, held = self.third()
        # Its process stops past the lapse bound; the backend ends its
        # record, and a crashed peer's: both vanish, as in a wiped
        # backend, but its live peer wrote on and may judge it dead.
        paused.source._stop_heartbeat()
        crashed = self.services[1]
        crashed.source._stop_heartbeat()
        time.sleep(1.0)
        for name in ('s-2', 's-3'):
            self.services[0].source._unregister('default', name)
        paused.step(self.nodes)
        self.assertEqual(set(), paused.owned)
        # Left out until a read lists it, not only while the silence is
        # news: its heartbeat, tried again, fails.
        with self.outage(paused):
            self.assertRaises(
                exception.MembershipUnavailable, paused.source.heartbeat
            )
        for _ in range(2):
            paused.step(self.nodes)
            self.assertEqual(set(), paused.owned)
        self.assertEqual(set(KEYS), paused.protocol.counted_out(KEYS))
        self.go_on(paused)
        paused.step(self.nodes)
        self.assertEqual(set(), paused.protocol.counted_out(held))

    def test_after_silence_only_until_a_call_reads_again(self):
        self.rounds(3)
        service = self.services[0]
        self.assertIsNone(service.protocol.after_silence())
        # Its heartbeats stop past the lapse bound (a pause), then go on.
        service.source._stop_heartbeat()
        time.sleep(1.5)
        self.go_on(service)
        last = service.protocol.after_silence()
        self.assertIsNotNone(last)
        ring_, alive = last
        self.assertEqual(service.result.fingerprint, ring_.fingerprint)
        self.assertIn('s-2', alive)
        service.step(self.nodes)  # reads the claims: the silence is over
        self.assertIsNone(service.protocol.after_silence())


class OutageTestCase(test_handover.Wiped):
    """A member whose record the backend lost in an outage of all."""

    def outage_then_wipe(self):
        """Fail every call past the lapse bound, then lose every record.

        Heartbeats are tried and fail throughout (an outage, not a
        silence); the test beats for the services.  Returns the third
        service and the nodes it holds.
        """
        lapsed, held = self.third()
        for service in self.services:
            service.source._stop_heartbeat()
        with contextlib.ExitStack() as stack:
            for service in self.services:
                stack.enter_context(self.outage(service))
            deadline = time.monotonic() + 1.5  # dead_after is 1 s
            while time.monotonic() < deadline:
                for service in self.services:
                    self.assertRaises(
                        exception.MembershipUnavailable,
                        service.source.heartbeat,
                    )
                time.sleep(0.1)
        self.assertIsNone(lapsed.source.unbroken_since())
        self.wipe()
        return lapsed, held

    def assert_kept_through(self, lapsed, held):
        # Every peer saw the outage too, and judged nobody dead for it.
        lapsed.step(self.nodes)
        self.assertEqual(held, lapsed.owned)
        for service in self.services:
            self.go_on(service)
        deadline = time.monotonic() + 10
        while lapsed.protocol.converged() is None:
            self.assertLess(time.monotonic(), deadline, 'never converged')
            self.rounds(1)
            self.assertEqual(held, lapsed.owned)
            time.sleep(0.05)
        self.assert_converged()
        self.assertEqual(held, lapsed.owned)

    def test_it_keeps_its_nodes_read_before_anyone_writes_again(self):
        lapsed, held = self.outage_then_wipe()
        # Its first call lists no record: its peers' went with its own.
        self.assert_kept_through(lapsed, held)

    def test_it_keeps_its_nodes_read_after_its_peers_write_again(self):
        lapsed, held = self.outage_then_wipe()
        # Its peers make their records again first: their claims settle.
        for peer in self.services[:-1]:
            peer.source.heartbeat()
        self.assert_kept_through(lapsed, held)
