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
import random
import time
from unittest import mock

import fixtures

from hashring import exception
from hashring import handoff
from hashring import manager
from hashring import membership
from hashring import ownership
from hashring import ring
from hashring.tests import base
from hashring.tests import worlds

KEYS = worlds.KEYS


class OwnedTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.old = ring.HashRing(['A-1', 'b-2'], points=8)
        self.new = self.old.with_members(['A-1', 'b-2', 'c-3'])

    def claim(self, member, applied, intended=None):
        return handoff.Claim(
            member,
            handoff.RingSpec.of(applied),
            None if intended is None else handoff.RingSpec.of(intended),
        )

    def test_a_joining_member_waits_for_the_peers(self):
        peers = [self.claim('a-1', self.old), self.claim('b-2', self.old)]
        self.assertEqual([], handoff.owned(self.new, 'c-3', KEYS, peers))
        acked = [self.claim('a-1', self.new), self.claim('b-2', self.new)]
        mine = [k for k, o in zip(KEYS, self.new.map_keys(KEYS)) if o == 'c-3']
        self.assertEqual(mine, handoff.owned(self.new, 'c-3', KEYS, acked))
        self.assertTrue(mine)

    def test_names_are_compared_canonically(self):
        peers = [self.claim('a-1', self.old)]
        # 'A-1' is placed under its name; its claim is by canonical id.
        held = handoff.blocked(KEYS, 'c-3', peers)
        self.assertEqual(
            {k for k, o in zip(KEYS, self.old.map_keys(KEYS)) if o == 'A-1'},
            held,
        )

    def test_an_intent_blocks_as_an_applied_ring_does(self):
        peers = [self.claim('a-1', self.new, self.old)]
        self.assertTrue(handoff.blocked(KEYS, 'c-3', peers))
        self.assertEqual(set(), handoff.blocked(KEYS, 'a-1', peers))


class Live:
    """One service: its own source, manager, protocol and filter."""

    #: the host of each instance, for a filter that looks them up
    hosts = None
    #: how long its manager serves a ring (and its protocol the claims)
    reset_interval = 0
    #: its source's dead_after
    dead_after = 1.0

    def __init__(self, test, name, path, **overrides):
        self.name = name
        self.source = test.file_source(
            path, name, self.dead_after, **overrides
        )
        self.manager = manager.RingManager(
            self.source, host=name, reset_interval=self.reset_interval
        )
        self.protocol = handoff.Protocol(self.manager)
        self.filter = ownership.OwnershipFilter(
            name,
            manager=self.manager,
            handoff=self.protocol,
            instance_host=None if self.hosts is None else self.hosts.get,
        )
        self.owned = set()

    def step(self, nodes):
        mine = [i for i, h in (self.hosts or {}).items() if h == self.name]
        self.result = self.filter.filter(nodes, mine)
        self.owned = {n['id'] for n in self.result.owned}


class OverASource(base.TestCase):
    """Services over a real file source, taking turns (no tests here)."""

    service = Live

    def setUp(self):
        super().setUp()
        self.path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members'
        )
        self.nodes = [{'id': k, 'instance_id': None} for k in KEYS]
        self.services = [
            self.service(self, n, self.path) for n in ('S-1', 's-2')
        ]
        for service in self.services:  # started together: none hands
            self.wait_settled(service.source)

    def rounds(self, count, services=None):
        for _ in range(count):
            for s in services or self.services:
                s.step(self.nodes)
                self.assert_no_overlap()

    def assert_no_overlap(self):
        seen = {}
        for s in self.services:
            for node in s.owned:
                self.assertNotIn(node, seen, f'{node}: {seen.get(node)}')
                seen[node] = s.name
        return seen

    def third(self):
        """Add s-3 and converge; return it and the nodes it holds."""
        self.services.append(self.service(self, 's-3', self.path))
        self.rounds(3)
        held = set(self.services[-1].owned)
        self.assertTrue(held)
        return self.services[-1], held

    def pause_past_dead_after(self):
        """Add s-3, converge, and stop it until its peers take its nodes.

        Its process stops, heartbeats and all: its peers judge it dead.
        Returns it, out of the services, and the nodes it held.
        """
        paused, held = self.third()
        self.services.pop()
        paused.source._stop_heartbeat()
        time.sleep(1.5)
        self.rounds(3)
        self.assertLessEqual(held, set(self.assert_no_overlap()))
        return paused, held

    @staticmethod
    def go_on(paused):
        """Let a paused service's heartbeats run again."""
        paused.source.heartbeat()
        paused.source._start_heartbeat()

    def outage(self, service):
        """Return a fixture in which a service's backend calls fail."""
        source = service.source
        down = exception.MembershipUnavailable(source.backend, 'out')
        # Every read and write of the file loads it first.
        return fixtures.MockPatchObject(source, '_load', side_effect=down)

    def assert_converged(self):
        ring_ = self.services[0].manager.refresh()
        expected = dict(zip(KEYS, ring_.map_keys(KEYS)))
        self.assertEqual(expected, self.assert_no_overlap())


class ProtocolOverASourceTestCase(OverASource):
    """The protocol through a real file source, services taking turns."""

    def test_join_without_managing_twice(self):
        self.rounds(3)
        self.assert_converged()
        self.services.append(Live(self, 's-3', self.path))
        # The newcomer goes first: its ring already gives it nodes that
        # the others still hold under theirs.
        self.services[-1].step(self.nodes)
        self.assertEqual(set(), self.services[-1].owned)
        decisions = self.services[-1].filter.filter(self.nodes, [])
        self.assertIn(
            ownership.Reason.HANDOFF,
            {d.reason for d in decisions.decisions.values()},
        )
        self.rounds(3)
        self.assert_converged()
        self.assertTrue(self.services[-1].owned)

    def test_a_moving_member_builds_no_ring_it_applies(self):
        # The peers that have yet to move publish the ring it applies,
        # which it has built: a ring of many members takes milliseconds.
        self.services.append(Live(self, 's-3', self.path))
        self.rounds(3)
        real = handoff.RingSpec.build
        with mock.patch.object(
            handoff.RingSpec, 'build', autospec=True, side_effect=real
        ) as build:
            self.services[-1].source.drain()
            self.rounds(3)  # the others take its nodes
        self.assertEqual(set(), self.services.pop().owned)
        self.assert_converged()
        self.assertEqual([], build.call_args_list)

    def test_graceful_leave_hands_every_node_over(self):
        self.services.append(Live(self, 's-3', self.path))
        self.rounds(3)
        self.assert_converged()
        leaving = self.services[-1]
        leaving.source.drain()
        self.rounds(3)
        self.assertEqual(set(), leaving.owned)
        self.services.remove(leaving)
        self.assert_converged()

    def test_a_second_service_under_a_members_name_stops_the_first(self):
        self.rounds(3)
        first = self.services[0]
        held = set(first.owned)
        self.assertTrue(held)
        # Configured with the first's name, in another case: one member.
        self.services[0] = Live(self, 's-1', self.path)
        self.services[0].step(self.nodes)
        # The first's next call finds it, and the first stops.
        self.assertRaises(
            exception.DuplicateMemberError, first.step, self.nodes
        )
        self.assertEqual(held, first.owned)
        self.rounds(3)
        self.assert_converged()
        self.assertTrue(self.services[0].owned)

    def test_a_crashed_peer_s_claims_end_when_it_is_judged_dead(self):
        self.services.append(Live(self, 's-3', self.path))
        self.rounds(3)
        crashed = self.services.pop()
        crashed.source.stop()  # its record stays, and goes silent
        held = set(crashed.owned)
        self.assertTrue(held)
        self.rounds(1)
        # Still alive as far as anyone can tell: its nodes wait.
        self.assertFalse(held & set(self.assert_no_overlap()))
        time.sleep(1.5)
        self.rounds(3)
        self.assert_converged()

    def test_a_member_paused_past_dead_after_lets_go_of_what_was_taken(self):
        paused, held = self.pause_past_dead_after()
        # It goes on: it heartbeats, then acts on what it held.
        self.go_on(paused)
        self.services.append(paused)
        with self.assertLogs('hashring.handoff', 'WARNING') as logs:
            paused.step(self.nodes)
            self.assert_no_overlap()
        self.assertIn(f'lets go of its {len(held)} nodes', logs.output[0])
        self.assertEqual(set(), paused.owned)
        # They hand them back, and it takes them again.
        self.rounds(5)
        self.assert_converged()
        self.assertEqual(held, paused.owned)

    def test_a_peer_that_publishes_nothing_applies_the_current_ring(self):
        old = membership.load('file', membership_file=self.path)
        self.addCleanup(old.close)
        old.join('old-1')  # an older release: it never publishes a claim
        self.rounds(3)
        target = self.services[0].manager.refresh()
        theirs = {
            k for k, o in zip(KEYS, target.map_keys(KEYS)) if o == 'old-1'
        }
        self.assertTrue(theirs)
        self.assertFalse(theirs & set(self.assert_no_overlap()))

    def test_converged_says_when_every_live_member_agrees(self):
        protocol = self.services[0].protocol
        # Nobody published yet: each is taken to apply the current ring.
        self.assertEqual(
            self.services[0].manager.refresh().fingerprint,
            protocol.converged(),
        )
        self.rounds(3)
        fingerprint = self.services[0].manager.refresh().fingerprint
        self.assertEqual(fingerprint, protocol.converged())
        self.services.append(Live(self, 's-3', self.path))
        self.services[-1].step(self.nodes)
        self.assertIsNone(protocol.converged())  # s-3 is moving
        self.rounds(3)
        self.assertEqual(
            self.services[0].manager.refresh().fingerprint,
            protocol.converged(),
        )

    def test_a_protocol_needs_its_registered_host(self):
        reader = membership.load('file', membership_file=self.path)
        self.addCleanup(reader.close)
        err = self.assertRaises(
            exception.InvalidArgumentError,
            handoff.Protocol,
            manager.RingManager(reader, host='s-9'),
        )
        self.assertIn("host 's-9'", str(err))
        other = manager.RingManager(reader)
        err = self.assertRaises(
            exception.InvalidArgumentError,
            ownership.OwnershipFilter,
            'S-1',
            manager=other,
            handoff=self.services[0].protocol,
        )
        self.assertIn('over its own manager', str(err))


class Instances(Live):
    hosts = {f'inst-{i}': 's-3' for i in range(0, len(KEYS), 3)}


class WithInstances:
    """Mixed into an OverASource: every third node has an instance of s-3."""

    service = Instances

    def setUp(self):
        super().setUp()
        self.nodes = [
            {'id': k, 'instance_id': f'inst-{i}' if i % 3 == 0 else None}
            for i, k in enumerate(KEYS)
        ]


class OrphansOverASourceTestCase(WithInstances, OverASource):
    """A service's instances' nodes, adopted while it was judged dead."""

    def test_back_from_the_dead_it_waits_for_its_adopters(self):
        self.services.append(self.service(self, 's-3', self.path))
        self.rounds(3)
        mine = {n['id'] for n in self.nodes if n['instance_id']}
        self.assertLessEqual(mine, self.services[-1].owned)
        self.services.pop().source.stop()  # a crash: its record stays
        time.sleep(1.5)
        self.rounds(3)  # judged dead: its peers adopt the orphans
        self.assertLessEqual(mine, set(self.assert_no_overlap()))
        # It restarts.  Its peers adopt its instances' nodes until they
        # see it alive: it leaves them be until then.
        self.services.append(self.service(self, 's-3', self.path))
        self.services[-1].step(self.nodes)
        self.assert_no_overlap()
        decision = self.services[-1].result.decisions[min(mine)]
        self.assertEqual(ownership.Reason.HANDOFF, decision.reason)
        self.assertEqual('inst-0', decision.instance_id)
        self.rounds(5)
        self.assertLessEqual(mine, self.services[-1].owned)
        self.assert_no_overlap()


class RealProtocolTestCase(base.TestCase):
    """The randomised checker over the real Protocol and manager."""

    def test_random_schedules_never_two_owners_and_converge(self):
        rng = random.Random(20261202)
        for schedule in range(500):
            world = worlds.World(rng)
            with self.subTest(schedule=schedule):
                world.run(rng.randint(100, 400))
                world.settle()
                owners = world.check()
                live = world.live()
                ring_ = live[0].manager.get_ring()
                self.assertEqual(dict(zip(KEYS, ring_.map_keys(KEYS))), owners)
                self.assertIsNotNone(live[0].manager.convergence().fingerprint)
