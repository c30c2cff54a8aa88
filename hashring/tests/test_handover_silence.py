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

"""A member paused past dead_after, unable to read: it lets go of all.

The rule of :meth:`hashring.handover.Group.let_go_after_silence`, through
services over a real file source.
"""

import json
import time

from hashring import exception
from hashring import ownership
from hashring.tests import test_handoff


class SilenceOverASourceTestCase(test_handoff.OverASource):
    """A member paused past dead_after that goes on unable to read."""

    def test_paused_past_dead_after_into_an_outage_it_lets_go(self):
        # It goes on unable to read which of its nodes its peers took: the
        # backend is out, or refuses it until its heartbeat renews what
        # expired meanwhile (an etcd lease, a ZooKeeper session).  It
        # keeps none, rather than manage them beside their new owners.
        paused, held = self.pause_past_dead_after()
        self.services.append(paused)
        with (
            self.outage(paused),
            self.assertLogs('hashring.handoff', 'WARNING') as logs,
        ):
            paused.step(self.nodes)
            self.assertEqual(set(), paused.owned)
            self.assert_no_overlap()
            paused.step(self.nodes)  # warned once, and nothing again
            self.assertEqual(set(), paused.owned)
        self.assertEqual(
            [f'Member s-3 lets go of its {len(held)} nodes'],
            [m.split(':', 2)[2].split(':')[0] for m in logs.output],
        )
        self.go_on(paused)
        self.rounds(5)
        self.assert_converged()
        self.assertEqual(held, paused.owned)

    def test_paused_past_max_stale_into_an_outage_it_lets_go(self):
        # Its manager's last ring is too old to serve: the filter lets go
        # under it all the same, rather than raise RingUnavailable to a
        # consumer that would go on with the nodes its peers took.
        paused, held = self.pause_past_dead_after()
        self.services.append(paused)
        paused.manager.max_stale = 1.0
        with self.outage(paused):
            self.assertRaises(
                exception.RingUnavailable, paused.manager.get_ring
            )
            paused.step(self.nodes)
            self.assertEqual(set(), paused.owned)
            self.assert_no_overlap()
            reasons = {paused.result.decisions[k].reason for k in held}
            self.assertEqual({ownership.Reason.HANDOFF}, reasons)
        self.go_on(paused)
        self.rounds(5)
        self.assert_converged()
        self.assertEqual(held, paused.owned)

    def test_back_it_takes_nothing_while_peers_it_cannot_hear_may_hold(
        self,
    ):
        # Paused, it let go of all (test above); then its peers' records
        # vanished (keys that expired in an outage) before it read them
        # again: their claims as it last read them, from before its pause,
        # place it, and it took its nodes back while its peers held them
        # (a chaos run on Redis: 1,040 nodes for 2 s).  It waits until it
        # hears them again.
        paused, held = self.pause_past_dead_after()
        self.services.append(paused)
        with self.outage(paused):
            paused.step(self.nodes)
        self.assertEqual(set(), paused.owned)
        peers = self.services[:2]
        for peer in peers:
            peer.source._stop_heartbeat()
        with open(self.path) as f:
            data = json.load(f)
        for group in data['groups'].values():
            for peer in peers:
                del group[peer.name]
        with open(self.path, 'w') as f:
            json.dump(data, f)
        self.go_on(paused)
        for _ in range(3):
            paused.step(self.nodes)
            self.assertEqual(set(), paused.owned)
            self.assert_no_overlap()
        self.assertEqual(
            {'s-1', 's-2'}, set(paused.source.get_members().presumed)
        )
        for peer in peers:
            self.go_on(peer)
        time.sleep(0.3)  # it settles: two intervals of its heartbeats
        self.rounds(5)
        self.assert_converged()
        self.assertEqual(held, paused.owned)

    def test_an_outage_longer_than_dead_after_lets_nothing_go(self):
        # Its heartbeats fail all along (they are tried): no pause, and no
        # peer could take its nodes; it keeps them, as the outage lasts,
        # past max_stale too (the consumer is told RingUnavailable).
        self.rounds(3)
        service = self.services[1]
        held = set(service.owned)
        self.assertTrue(held)
        with self.outage(service):
            time.sleep(1.5)
            self.assertRaises(
                exception.MembershipUnavailable, service.step, self.nodes
            )
            service.manager.max_stale = 1.0
            self.assertRaises(
                exception.RingUnavailable, service.step, self.nodes
            )
        self.assertEqual(held, service.owned)
        self.assertLess(service.source.last_silence() or 0, 1)


class SilencedOrphansTestCase(
    test_handoff.WithInstances, test_handoff.OverASource
):
    """Its instances' nodes, after a pause, unable to read."""

    def test_paused_into_an_outage_it_leaves_its_adopters_be(self):
        mine = {n['id'] for n in self.nodes if n['instance_id']}
        # Judged dead: its peers take its nodes and adopt the orphans.
        paused, held = self.pause_past_dead_after()
        self.assertLessEqual(mine, held)
        self.services.append(paused)
        with self.outage(paused):
            paused.step(self.nodes)
        self.assertEqual(set(), paused.owned)
        self.assert_no_overlap()
        decision = paused.result.decisions[min(mine)]
        self.assertEqual(ownership.Reason.HANDOFF, decision.reason)
        self.go_on(paused)
        self.rounds(5)
        self.assertLessEqual(mine, paused.owned)
        self.assert_no_overlap()
