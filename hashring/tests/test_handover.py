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

from hashring import claims
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

    def test_keys_handed_over_stay_in_an_answer_that_lets_go(self):
        # {a, b} applied, keys taken under an intended {a} held as well;
        # the target {a, b, c} leaves the taken ones uncovered, and gives
        # some of the applied ring's to c, which the claim still covers.
        self.state.held = set(KEYS)
        gone = self.state.to_let_go(self.pair, self.trio, partial=False)
        given = [k for k in KEYS if self.trio.get_node(k) == 'a']
        self.assertEqual(
            {k for k in KEYS if self.pair.get_node(k) == 'b'}, gone
        )
        self.state.let_go(KEYS, gone, False, given=given)
        over = {k for k in KEYS if k not in gone and k not in given}
        self.assertTrue(over)
        # Reported handed over: a consumer that let go of them (as it did)
        # would leave them unmanaged while the claim keeps peers off.
        self.assertEqual(over, self.state.handing_over)

    def test_after_a_lapse_a_ring_leaving_it_out_lets_go_of_all(self):
        mine = {k for k in KEYS if self.trio.get_node(k) == 'a'}
        # Every peer's ring places a: a lapse nobody took for a death.
        self.state.held = set(mine)
        self.state.let_go_of_taken()
        self.assertEqual(mine, self.state.held)
        # b judged a dead and publishes {b, c}; c published nothing yet.
        # What that ring gives c, b may take too once it judges c dead,
        # seeing no claim of a's: a lets go of those as well.
        others = ring.HashRing(['b', 'c'], points=8)
        self.state.counting_out = [
            claims.Claim('b', claims.RingSpec.of(others))
        ]
        to_c = {k for k in mine if others.get_node(k) == 'c'}
        self.assertTrue(to_c)
        with self.assertLogs('hashring.handoff', 'WARNING') as logs:
            self.state.let_go_of_taken()
        self.assertEqual(set(), self.state.held)
        self.assertIn(f'lets go of its {len(mine)} nodes', logs.output[0])

    def test_after_a_lapse_a_read_not_listing_it_lets_go_of_all(self):
        mine = {k for k in KEYS if self.trio.get_node(k) == 'a'}
        self.state.held = set(mine)
        self.assertEqual(set(), self.state.counted_out(mine))
        # Every peer's ring places a, but the read listed no record of
        # a's (its lease expired while it was paused): a peer that read
        # the same takes a's keys before its claim is written.
        self.state.absent = True
        self.assertEqual(mine, self.state.counted_out(mine))
        with self.assertLogs('hashring.handoff', 'WARNING') as logs:
            self.state.let_go_of_taken()
        self.assertEqual(set(), self.state.held)
        self.assertIn('lists no record of it', logs.output[0])

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

    def test_it_lets_go_when_the_backend_ended_its_record(self):
        lapsed, held = self.third()
        # Its process stops past the lapse bound, and the backend ends its
        # record (an etcd lease expires).  Its peers read it gone and take
        # its keys; it goes on, and its first call reads before their
        # claims are written: every ring it reads still places it.
        lapsed.source._stop_heartbeat()
        time.sleep(1.0)
        self.services[0].source._unregister('default', 's-3')
        self.assertIsNone(lapsed.source.unbroken_since())
        with self.assertLogs('hashring.handoff', 'WARNING') as logs:
            lapsed.step(self.nodes)
        self.assertIn(f'lets go of its {len(held)} nodes', logs.output[0])
        self.assertEqual(set(), lapsed.owned)
        # Its heartbeat makes its record again: they hand its keys back.
        test_handoff.OverASource.go_on(lapsed)
        deadline = time.monotonic() + 10
        while lapsed.owned != held:
            self.assertLess(time.monotonic(), deadline, 'never took back')
            self.rounds(1)
            time.sleep(0.05)
        self.assert_converged()


class ReplacedIntentOverASourceTestCase(test_handoff.OverASource):
    """A target replaced before it was acknowledged, over a real file."""

    def test_a_call_long_after_the_last_lets_go_before_publishing(self):
        live = test_handoff.Live
        crashed = live(self, 'x-9', self.path)
        self.services.append(crashed)
        self.wait_settled(crashed.source)
        self.rounds(3)
        first = self.services[0]
        before = set(first.owned)
        # y-4 reads w-5 alive and announces its ring: that ring gives w-5
        # some of the nodes first's next ring gives y-4, which first keeps
        # until y-4 asks.  x-9 and w-5 crash and are judged dead.
        joined = live(self, 'y-4', self.path)
        self.wait_settled(joined.source)
        gone = live(self, 'w-5', self.path)
        joined.step(self.nodes)
        self.services.remove(crashed)
        for service in (crashed, gone):
            service.source.stop()
        time.sleep(1.5)
        first.step(self.nodes)  # takes x-9's nodes under an intent
        took = first.owned - before
        self.assertTrue(took)
        self.assertTrue(first.protocol.handing_over())
        # A newcomer whose ring takes one of them joins, and first's next
        # call comes more than dead_after (1 s) after its last.
        ring_ = first.manager.get_ring()

        def moved(name):
            bigger = ring_.with_members([*ring_.members, name])
            return {k for k in took if bigger.get_node(k) == name}

        name = next(f'z-{i}' for i in range(100) if moved(f'z-{i}'))
        newcomer = live(self, name, self.path)
        self.services += [joined, newcomer]
        self.wait_settled(newcomer.source)
        time.sleep(1.1)
        publish = first.source.publish

        def published(group, claim):
            publish(group, claim)
            # The newcomer acts at once on every claim first publishes,
            # while first's consumer still acts on its last answer.
            newcomer.step(self.nodes)
            self.assertFalse(newcomer.owned & first.owned, claim)

        self.useFixture(
            fixtures.MockPatchObject(first.source, 'publish', published)
        )
        managed = set(first.owned)
        first.step(self.nodes)
        # It lets them go, and keeps the rest, those it hands y-4 included.
        self.assertEqual(managed - moved(name), first.owned)
        reasons = {first.result.decisions[k].reason for k in managed}
        self.assertIn(ownership.Reason.HANDING_OVER, reasons)
        self.rounds(5)
        self.assert_converged()


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

    def test_a_newcomer_waits_out_a_peers_hung_call(self):
        peers = self.hold_and_wipe()
        # settle_after unset: read_timeout and two intervals, 1.2 s.
        newcomer = test_handoff.Live(
            self, 's-3', self.path, settle_after=None, read_timeout=1.0
        )
        self.services.append(newcomer)
        self.assertEqual(1.2, newcomer.source.settle_after)
        # The peers' heartbeats hang for 0.7 s (a ZooKeeper client's new
        # session took 2.1 s in a chaos run): settled in two intervals,
        # the newcomer took every node while its peers managed them.
        joined = time.monotonic()
        while time.monotonic() - joined < 0.7:
            newcomer.step(self.nodes)
            self.assert_no_overlap()
            time.sleep(0.02)
        self.assertEqual(set(), newcomer.owned)
        self.rejoin_until_owned(peers, [newcomer], within=10)

    def test_newcomers_together_hand_each_other_nothing(self):
        peers = self.hold_and_wipe()
        # Settling takes 2 s from here: room for the newcomers' first calls
        # on a slow machine.
        newcomers = [
            test_handoff.Live(self, n, self.path, settle_after=2.0)
            for n in ('s-3', 's-4')
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
        # Settled, it publishes anew.
        self.wait_settled(newcomers[0].source)
        self.rounds(2)
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
