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

from hashring import exception
from hashring import handoff
from hashring.membership import base
from hashring import ring
from hashring.tests import base as test_base
from hashring.tests.membership import contract
from hashring.tests.membership import memory


class RegistrationTestCase(memory.MemoryTestMixin, test_base.TestCase):
    """Joining, draining and leaving, over the in-memory backend."""

    def test_join_during_an_outage_completes_later(self):
        a = self.source()
        self.store.down = True
        self.assertRaises(exception.MembershipUnavailable, a.join, 'a')
        self.store.down = False
        self.assertTrue(
            contract.eventually(
                lambda: self.source().get_members().up() == {'a': 1}
            )
        )

    def test_a_new_weight_is_written_to_every_group(self):
        a = self.source()
        a.join('a', 'g1', weight=1, attributes={'rack': 1})
        a.join('a', 'g2', weight=3, attributes={'rack': 2})
        reader = self.source()
        for group in ('g1', 'g2'):
            member = reader.get_members(group).members['a']
            self.assertEqual(
                (3, {'rack': 2}), (member.weight, member.attributes)
            )

    def test_writes_an_outage_refused_are_made_by_the_next_heartbeat(self):
        a = self.source(heartbeat_interval=60, dead_after=120)
        a.join('a', 'g1')
        a.join('a', 'g2')
        claim = handoff.Claim(
            'a', handoff.RingSpec.of(ring.HashRing(['a', 'b']))
        )
        self.store.down = True
        self.assertRaises(exception.MembershipUnavailable, a.drain)
        self.assertRaises(
            exception.MembershipUnavailable, a.publish, 'g2', claim
        )
        self.assertRaises(exception.MembershipUnavailable, a.heartbeat)
        self.store.down = False
        reader = self.source()
        # Before the next heartbeat, the records still say what they said,
        # to the member as to its peers.
        self.assertEqual({'a': 1}, reader.get_members('g1').up())
        self.assertEqual({'a': 1}, a.get_members('g1').up())
        a.heartbeat()
        self.assertEqual({}, a._unwritten)
        members = [reader.get_members(g).members['a'] for g in ('g1', 'g2')]
        self.assertEqual([base.State.DRAINING] * 2, [m.state for m in members])
        self.assertEqual([None, claim], [m.claim for m in members])

    def test_a_claim_an_outage_refused_keeps_an_operators_drain(self):
        a = self.source(heartbeat_interval=60, dead_after=120)
        a.join('a')
        claim = handoff.Claim('a', handoff.RingSpec.of(ring.HashRing(['a'])))
        self.store.down = True
        self.assertRaises(
            exception.MembershipUnavailable, a.publish, 'default', claim
        )
        self.store.down = False
        operator = self.source()
        operator.resume('a')
        operator.drain()
        a.heartbeat()
        self.assertEqual({}, a._unwritten)
        member = self.source().get_members().members['a']
        self.assertEqual(
            (base.State.DRAINING, claim), (member.state, member.claim)
        )

    def test_a_new_weight_keeps_an_operators_drain_elsewhere(self):
        # Joining another group with a new weight rewrites every group's
        # record; only the group joined is the member's to put up.
        a = self.source()
        a.join('a', 'g1')
        operator = self.source()
        operator.resume('a', 'g1')
        operator.drain()
        a.join('a', 'g2', weight=3)
        reader = self.source()
        self.assertEqual(
            [(base.State.DRAINING, 3), (base.State.UP, 3)],
            [
                (m.state, m.weight)
                for m in (
                    reader.get_members(g).members['a'] for g in ('g1', 'g2')
                )
            ],
        )

    def test_a_leave_that_cannot_read_its_past_names_says_so(self):
        # Its own record goes; a past one (its name in another case) is
        # left to expire, and the log says so, rather than the leave
        # failing on a read it only needed for those.
        past = self.source()
        past.join('Node-A')
        past.stop()
        now = self.source()
        now.join('node-a')
        real = now._read_groups

        def unreadable(groups):
            raise exception.MembershipUnavailable(now.backend, 'frozen')

        now._read_groups = unreadable
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            now.leave()
        now._read_groups = real
        self.assertIn(
            'Records of node-a under other names, if any, stay until '
            'dead_after: ',
            logs.output[0],
        )
        self.assertIn('frozen', logs.output[0])
        self.assertEqual(['Node-A'], list(self.store.groups['default']))

    def test_state_changes_need_a_join(self):
        a = self.source()
        err = self.assertRaises(exception.InvalidArgumentError, a.drain)
        self.assertIn('Join a group', str(err))
        a.leave()  # leaving without joining is harmless

    def test_stop_and_leave_never_join_the_thread_holding_the_lock(self):
        # The heartbeat thread takes the source's lock to beat: joining it
        # while holding that lock deadlocks if it has just woken up, as
        # once hung CI.
        a = self.source()
        held = []
        real = a._stop_heartbeat

        def spy():
            held.append(a._lock._is_owned())
            real()

        a._stop_heartbeat = spy
        for end in (a.stop, a.leave):
            a.join('a')
            end()
        self.assertEqual([False, False], held)

    def test_leave_stops_the_thread(self):
        a = self.source()
        a.join('a')
        thread = a._thread
        a.leave()
        self.assertFalse(thread.is_alive())
        self.assertEqual({}, self.source().get_members().up())

    def test_a_resumed_member_keeps_its_claim(self):
        # An operator's "hashring drain" acts through resume(): the live
        # member's claim must survive the rewrite of its record.
        live = self.source()
        live.join('a')
        claim = handoff.Claim(
            'a', handoff.RingSpec.of(ring.HashRing(['a', 'b']))
        )
        live.publish('default', claim)
        operator = self.source()
        operator.resume('a')
        operator.drain()
        member = self.source().get_members().members['a']
        self.assertEqual(base.State.DRAINING, member.state)
        self.assertEqual(claim, member.claim)


class ClaimReadingTestCase(memory.MemoryTestMixin, test_base.TestCase):
    def test_a_bad_claim_is_ignored_and_logged(self):
        self.store.groups['default'] = {
            'a': base.Record(
                'a',
                base.State.UP,
                1,
                {'hashring.claim': {'applied': 'garbage'}, 'rack': 1},
                self.store.clock,
            )
        }
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            member = self.source().get_members().members['a']
        self.assertIsNone(member.claim)
        self.assertEqual({'rack': 1}, dict(member.attributes))
        self.assertIn("Ignored the handoff claim of 'a'", logs.output[0])
