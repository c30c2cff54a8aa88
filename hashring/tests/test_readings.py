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

import time

from hashring.tests import test_handoff

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
