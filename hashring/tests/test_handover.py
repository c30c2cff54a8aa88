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

import os
import time

import fixtures

from hashring import exception
from hashring import handover
from hashring import membership
from hashring import ownership
from hashring import ring
from hashring import taking
from hashring.tests import base
from hashring.tests import test_handoff

KEYS = [f'node-{i}' for i in range(60)]


class GroupTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.now = 100.0
        self.state = handover.Group(
            'a',
            lambda: self.now,
            lambda: 2.0,
            taking.RingCache(),
            taking.Tenure('a', 'e'),
        )
        self.solo = ring.HashRing(['a'], points=8)
        self.pair = ring.HashRing(['a', 'b'], points=8)
        self.trio = ring.HashRing(['a', 'b', 'c'], points=8)

    def test_keys_a_new_claim_leaves_out_are_let_go_first(self):
        # With {a} applied every key is a's: nothing is left out.
        self.state.held = set(KEYS)
        self.assertEqual(set(), self.state.to_let_go(self.solo, self.pair))
        # Keys taken under an intended {a, b} that {a, b, c} replaces
        # before it was acknowledged: those {a, b, c} gives away go first.
        mine = {k for k in KEYS if self.pair.get_node(k) == 'a'}
        self.state.held = set(mine)
        self.state.full_at = self.now  # an answer gave them out just now
        gone = self.state.to_let_go(None, self.trio)
        self.assertEqual(
            {k for k in mine if self.trio.get_node(k) != 'a'}, gone
        )
        self.assertTrue(gone)
        answer = self.state.let_go(sorted(mine), gone, partial=False)
        self.assertEqual(sorted(mine - gone), answer)
        self.assertEqual(mine - gone, self.state.held)
        self.assertTrue(self.state.waiting)
        # A call about every key lets them go in its answer, however long
        # since the last (its consumer acts on that until this one).
        self.state.held = set(mine)
        self.now += 2.0
        self.assertEqual(
            gone, self.state.to_let_go(None, self.trio, partial=False)
        )
        self.assertEqual(mine, self.state.held)
        # A call about some keys lets go without waiting the keys nobody
        # was told about for dead_after.
        with self.assertLogs('hashring.handoff', 'INFO'):
            self.assertEqual(set(), self.state.to_let_go(None, self.trio))
        self.assertEqual(mine - gone, self.state.held)

    def test_an_answer_is_good_for_dead_after_at_most(self):
        self.state.held = {'k1', 'k2'}
        self.state.note_answers(['k1', 'k2'], {'k1', 'k2'})
        self.now += 1.0
        self.state.note_answers(['k2'], {'k2'})
        self.now += 1.5  # k1 answered 2.5 s ago, k2 1.5 s ago
        with self.assertLogs('hashring.handoff', 'INFO') as logs:
            self.assertFalse(self.state.overdue('ring', self.pair, {'k2'}))
            self.assertTrue(self.state.overdue('ring', self.pair, {'k1'}))
        self.assertIn('without being asked again about 1 key', logs.output[0])
        self.assertNotIn('k1', self.state.answered)
        # A full answer counts for every key it covered.
        self.state.full_at = self.now
        self.assertFalse(self.state.overdue('ring', self.pair, {'k9'}))


class Slow(test_handoff.Live):
    reset_interval = 15


class LapseOverASourceTestCase(test_handoff.OverASource):
    """A member whose heartbeats stop while it runs on, over a real file."""

    def test_it_lets_go_of_what_its_peers_take_within_a_read(self):
        self.services.append(Slow(self, 's-3', self.path))
        self.rounds(3)
        slow = self.services[-1]
        self.assertTrue(slow.owned)
        # Its heartbeats stop (a write waiting out a lock, say) while it
        # runs on a ring it serves for 15 s.  Its peers judge it dead
        # after dead_after (1 s) and take its keys: it reads their claims
        # again within a second, not 15, and lets them go.
        slow.source._stop_heartbeat()
        stopped = time.monotonic()
        while slow.owned and time.monotonic() - stopped < 10:
            for service in self.services:
                service.step(self.nodes)
            time.sleep(0.05)
        self.assertEqual(set(), slow.owned)
        self.assertLess(time.monotonic() - stopped, 4.0)


class Wiped(test_handoff.OverASource):
    """Services over a backend that loses their records (no tests here)."""

    def wipe(self):
        os.remove(self.path)
        membership.load('file', membership_file=self.path).create()

    def hold_and_wipe(self):
        """Converge, hold the services' heartbeats, wipe; return them."""
        self.rounds(3)
        self.assert_converged()
        peers = list(self.services)
        for peer in peers:  # they rejoin when the test says
            peer.source._stop_heartbeat()
        self.wipe()
        return peers

    def rejoin_until_owned(self, peers, newcomers, within):
        """Let the peers back; run until every newcomer owns a node."""
        for peer in peers:
            self.go_on(peer)  # back, with their claims
        deadline = time.monotonic() + within
        while not all(n.owned for n in newcomers):
            self.assertLess(time.monotonic(), deadline, 'never took')
            self.rounds(1)
            time.sleep(0.05)
        self.rounds(3)
        self.assert_converged()


class WipedSourceTestCase(Wiped):
    """A member that joins a backend that lost its peers' records."""

    def test_a_newcomer_takes_nothing_its_peers_hold(self):
        peers = self.hold_and_wipe()
        newcomer = test_handoff.Live(self, 's-3', self.path)
        self.services.append(newcomer)
        # Alone in the group, no claim in sight: without the wait, it took
        # every node, while its peers managed them.
        newcomer.step(self.nodes)
        self.assertEqual(set(), newcomer.owned)
        self.assert_no_overlap()
        self.rejoin_until_owned(peers, [newcomer], within=10)
        self.assertTrue(newcomer.owned)

    def test_newcomers_together_hand_each_other_nothing(self):
        peers = self.hold_and_wipe()
        # Settling takes 2 s from here: room for the newcomers' first calls
        # on a slow machine.
        self.useFixture(
            fixtures.MockPatchObject(taking, 'SETTLE_INTERVALS', 20)
        )
        newcomers = [
            test_handoff.Live(self, n, self.path) for n in ('s-3', 's-4')
        ]
        self.services.extend(newcomers)
        publishes = [
            self.useFixture(
                fixtures.MockPatchObject(
                    n.source, 'publish', wraps=n.source.publish
                )
            ).mock
            for n in newcomers
        ]
        # Each reads the other's claim, or its record before it: each one's
        # ring gives the other its share, which the peers hold.
        self.rounds(2, newcomers)
        for newcomer in newcomers:
            self.assertEqual(set(), newcomer.owned)
        # Each announced, then acknowledged its ring: every claim says it
        # is settling (one that did not would hand its keys meanwhile).
        announced = [c.args[1] for p in publishes for c in p.call_args_list]
        self.assertEqual(
            [True] * len(announced), [c.settling for c in announced]
        )
        self.assertEqual(4, len(announced))
        published = newcomers[0].source.get_members().members
        for name in ('s-3', 's-4'):
            self.assertIs(True, published[name].claim.settling)
        self.rejoin_until_owned(peers, newcomers, within=15)
        published = newcomers[0].source.get_members().members
        self.assertFalse(published['s-3'].claim.settling)

    def test_a_member_alone_takes_what_nobody_hands_it_once_settled(self):
        self.services = [test_handoff.Live(self, 's-3', self.path + '2')]
        alone = self.services[0]
        joined = time.monotonic()
        self.rounds(1)
        self.assertEqual(set(), alone.owned)
        while not alone.owned and time.monotonic() - joined < 10:
            self.rounds(1)
            time.sleep(0.02)
        self.assertEqual({n['id'] for n in self.nodes}, alone.owned)
        # Two heartbeat intervals (0.1 s each), and a read of the claims
        # after them.
        settled = time.monotonic() - joined
        self.assertGreaterEqual(settled, 0.2)
        self.assertLess(settled, 5)


class Patient(test_handoff.Live):
    """A service whose peers presume it up for 5 s after an outage."""

    dead_after = 5.0


class LatePeerTestCase(Wiped):
    """A peer back late from a wipe, that another peer presumes up."""

    service = Patient

    def test_a_newcomer_leaves_a_late_peer_its_keys(self):
        # The first peer is back at once, the other late (its heartbeat
        # hangs): the first presumes it up, its rings give it its keys,
        # and it still manages them.  The newcomer, settled, whose reads
        # do not list the late peer at all, takes none of them.
        prompt, late = self.hold_and_wipe()
        held = set(late.owned)
        self.assertTrue(held)
        self.go_on(prompt)
        newcomer = self.service(self, 's-3', self.path)
        self.services.append(newcomer)
        self.wait_settled(newcomer.source)
        self.rounds(4, [prompt, newcomer])  # no overlap with late's keys
        self.assertEqual(set(), held & newcomer.owned)
        self.assertTrue(newcomer.owned)
        self.assertIn('s-2', prompt.manager.get_ring().members)
        self.rejoin_until_owned([late], [newcomer], within=10)
        self.assertTrue(late.owned)

    def test_a_member_judges_a_peer_it_read_for_itself(self):
        # s-3's record goes without a hand-over (as a crashed member's
        # expires on Redis or etcd); s-2 lags, its claim still places it.
        # S-1 read s-3, and saw it go: it takes its share at once.
        self.services.append(self.service(self, 's-3', self.path))
        self.rounds(3)
        first, lagging, gone = self.services
        held = set(gone.owned)
        gone.source.leave()
        self.services.remove(gone)
        first.step(self.nodes)
        first.step(self.nodes)
        self.assertTrue(held & first.owned)
        claim = first.source.get_members().members['s-2'].claim
        self.assertIn('s-3', claim.applied.members)
        self.assertEqual([], first.protocol._groups['default'].unlisted)


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
