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

"""The claims a registering driver publishes in its members' records."""

import dataclasses
import time

import hashring
from hashring import exception
from hashring import handoff
from hashring import membership


class Claims:
    """Tests of claims, mixed into :class:`contract.Contract`.

    The test case gives ``source()``, ``read()``, ``forget()`` and
    ``lapse()``.
    """

    def test_claims_are_published_and_kept(self):
        other = f'{self.group}-other'
        node = self.source()
        node.join('Node-A', other)
        node.join('Node-A', self.group, attributes={'rack': 7})
        old = hashring.HashRing(['Node-A', 'node-b'])
        new = old.with_members(['Node-A', 'node-b', 'node-c'])
        claim = handoff.Claim(
            'node-a', handoff.RingSpec.of(old), handoff.RingSpec.of(new)
        )
        node.publish(self.group, claim)
        member = self.read().members['node-a']
        self.assertEqual(claim, member.claim)
        self.assertEqual({'rack': 7}, dict(member.attributes))
        # One claim per group: the other group's record has none.
        self.assertIsNone(self.read(other).members['node-a'].claim)
        # Heartbeats and state changes keep it.
        node.heartbeat()
        node.drain()
        self.assertEqual(claim, self.read().members['node-a'].claim)
        node.undrain()
        applied = handoff.Claim('node-a', handoff.RingSpec.of(new))
        node.publish(self.group, applied)
        self.assertEqual(applied, self.read().members['node-a'].claim)
        node.publish(self.group, None)
        self.assertIsNone(self.read().members['node-a'].claim)
        for group, bad, message in (
            (f'{self.group}-never', applied, 'before publishing a claim'),
            (self.group, handoff.Claim('node-b'), "claim of 'node-b'"),
        ):
            err = self.assertRaises(
                exception.InvalidArgumentError, node.publish, group, bad
            )
            self.assertIn(message, str(err))

    def test_a_forgotten_record_comes_back_with_its_claim(self):
        node = self.source()
        node.join('node-a', self.group)
        claim = handoff.Claim(
            'node-a', handoff.RingSpec.of(hashring.HashRing(['node-a']))
        )
        node.publish(self.group, claim)
        self.forget(self.group, 'node-a')
        node.heartbeat()
        # Settling, as the record stands anew: its rings hand nothing
        # until the member publishes again.
        self.assertEqual(
            dataclasses.replace(claim, settling=True),
            self.read().members['node-a'].claim,
        )

    def test_a_claim_that_makes_its_record_again_says_it_is_settling(self):
        # No heartbeat within the test: the claim's write finds the record
        # gone, as a publish between a restart and the heartbeat does.
        node = self.source(heartbeat_interval=30, dead_after=60)
        node.join('node-a', self.group)
        first = handoff.Claim(
            'node-a', handoff.RingSpec.of(hashring.HashRing(['node-a']))
        )
        node.publish(self.group, first)
        joined = node.unbroken_since()
        self.forget(self.group, 'node-a')
        second = handoff.Claim(
            'node-a',
            handoff.RingSpec.of(hashring.HashRing(['node-a', 'node-b'])),
        )
        node.publish(self.group, second)
        # Its rings, made before the loss, hand nothing until the protocol
        # publishes again, which the new streak makes it do.
        self.assertEqual(
            dataclasses.replace(second, settling=True),
            self.read().members['node-a'].claim,
        )
        self.assertGreater(node.unbroken_since(), joined)
        node.publish(self.group, first)
        self.assertEqual(first, self.read().members['node-a'].claim)

    def test_a_claim_that_finds_its_record_gone_keeps_what_vanished(self):
        # The backend lost node-a's record and node-d's (a restart emptied
        # it; b and c have rejoined).  A claim node-a publishes before its
        # heartbeat makes its record again: its reader must still learn,
        # as from the heartbeat, that node-d vanished with it, not left.
        # (One of four vanishing is no mass departure.)
        names = ['node-a', 'node-b', 'node-c', 'node-d']
        nodes = []
        for name in names:
            # No heartbeat of theirs within the test: d's would rejoin.
            nodes.append(self.source(heartbeat_interval=30, dead_after=60))
            nodes[-1].join(name, self.group)
        self.assertEqual(names, sorted(nodes[0].get_members(self.group).up()))
        self.forget(self.group, 'node-a')
        self.forget(self.group, 'node-d')
        claim = handoff.Claim(
            'node-a', handoff.RingSpec.of(hashring.HashRing(['node-a']))
        )
        nodes[0].publish(self.group, claim)
        snapshot = nodes[0].get_members(self.group)
        self.assertEqual(names, sorted(snapshot.up()))
        self.assertEqual({'node-d'}, snapshot.presumed)

    def test_a_claim_published_after_a_lapse_is_written(self):
        # A process paused past dead_after goes on: its consumer's thread
        # may publish before the heartbeat thread runs again.  The backend
        # ended its record (an expired etcd lease refused the write: "Not
        # Found"); the write is no outage, and peers read the claim.
        node = self.source()
        node.join('node-a', self.group)
        self.lapse(node, 'node-a')
        claim = handoff.Claim(
            'node-a', handoff.RingSpec.of(hashring.HashRing(['node-a']))
        )
        node.publish(self.group, claim)
        node.heartbeat()
        self.assertEqual({'node-a': 1}, self.read().up())
        # Settling where the backend ended the record (tooz's drivers):
        # the write or the heartbeat made it again.
        written = self.read().members['node-a'].claim
        self.assertEqual(claim, dataclasses.replace(written, settling=False))

    def test_reserved_attributes_are_refused(self):
        node = self.source()
        err = self.assertRaises(
            exception.InvalidMemberError,
            node.join,
            'node-a',
            self.group,
            attributes={'hashring.claim': {}, 'ok': 1},
        )
        self.assertIn('hashring.claim', str(err))
        self.assertIsNone(node.member_id)


class OperatorStates:
    """Tests of drivers whose records outlive their writer (file, sql).

    Mixed into a :class:`contract.Contract` test case: another process,
    such as ``hashring drain --host``, may change a running member's
    record.
    """

    def test_an_operators_drain_outlasts_the_members_claims(self):
        # "hashring drain --host" writes the live member's record from
        # another process; the member's next claim must not undo it.
        self.assertTrue(self.reader.durable_records)
        live = self.source()
        live.join('node-a', self.group, attributes={'rack': 7})
        operator = self.source()
        operator.resume('node-a', self.group)
        operator.drain()
        claim = handoff.Claim(
            'node-a', handoff.RingSpec.of(hashring.HashRing(['node-a']))
        )
        live.publish(self.group, claim)
        live.heartbeat()
        member = self.read().members['node-a']
        self.assertEqual(membership.State.DRAINING, member.state)
        # The member sees itself as its peers see it: off the ring.
        self.assertEqual({}, live.get_members(self.group).up())
        self.assertEqual(claim, member.claim)
        self.assertEqual({'rack': 7}, dict(member.attributes))
        # The member's own state changes and joins still write its state.
        live.join('node-a', self.group, attributes={'rack': 7})
        self.assertEqual(
            membership.State.UP, self.read().members['node-a'].state
        )
        live.drain()
        live.publish(self.group, None)
        member = self.read().members['node-a']
        self.assertEqual(membership.State.DRAINING, member.state)
        self.assertIsNone(member.claim)

    def test_an_operators_state_change_writes_the_state_alone(self):
        # The member moves on between the operator's read and its write:
        # a new claim, weight and attributes, which the drain keeps.
        live = self.source()
        live.join('node-a', self.group, attributes={'rack': 7})
        operator = self.source()
        operator.resume('node-a', self.group)
        claim = handoff.Claim(
            'node-a', handoff.RingSpec.of(hashring.HashRing(['node-a']))
        )
        live.publish(self.group, claim)
        live.join('node-a', self.group, weight=3, attributes={'rack': 8})
        operator.drain()
        member = self.read().members['node-a']
        self.assertEqual(
            (membership.State.DRAINING, 3, {'rack': 8}, claim),
            (
                member.state,
                member.weight,
                dict(member.attributes),
                member.claim,
            ),
        )

    def test_an_operators_commands_keep_the_members_incarnation(self):
        # hashring drain, undrain, join and heartbeat --host act for the
        # running member: they must not read as another process joining.
        # The live member's heartbeats wait: one between the record's loss
        # and the operator's heartbeat would join again with its weight.
        live = self.source(heartbeat_interval=30, dead_after=60)
        live.join('node-a', self.group)
        mine = self.read().members['node-a'].incarnation
        operator = self.source()
        operator.resume('node-a', self.group)
        operator.drain()
        operator.undrain()
        operator.join('node-a', self.group, weight=2)
        self.forget(self.group, 'node-a')
        operator.heartbeat()
        operator.close()
        member = self.read().members['node-a']
        self.assertEqual((2, mine), (member.weight, member.incarnation))
        self.assertEqual({'node-a': 2}, live.get_members(self.group).up())
        live.heartbeat()

    def test_a_claim_an_operators_join_wrote_back_is_written_again(self):
        # "hashring join --host" reads the record; the member publishes a
        # new claim; the command writes the one it read back.  The member
        # reads it, and its next heartbeat writes its own again: else its
        # peers would wait on the old one until its next ring change.
        rings = [hashring.HashRing(['node-a']), hashring.HashRing(['node-b'])]
        old, new = (
            handoff.Claim('node-a', handoff.RingSpec.of(r)) for r in rings
        )
        live = self.source(read_timeout=1.0)
        live.join('node-a', self.group)
        live.publish(self.group, old)
        operator = self.source()
        operator.resume('node-a', self.group)
        live.publish(self.group, new)
        operator.join('node-a', self.group)
        operator.close()
        self.assertEqual(old, self.read().members['node-a'].claim)
        # A read that began before the member's last write may hold the
        # claim it replaced: one that ends within read_timeout of that
        # write is not judged.
        with self.assertNoLogs('hashring.membership.base', 'INFO'):
            live.get_members(self.group)
        time.sleep(1.0)
        with self.assertLogs('hashring.membership.base', 'INFO') as logs:
            live.get_members(self.group)
        self.assertIn('handoff claim it does not publish', logs.output[-1])
        live.heartbeat()
        self.assertEqual(new, self.read().members['node-a'].claim)
