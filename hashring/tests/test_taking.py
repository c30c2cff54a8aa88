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

import dataclasses
from unittest import mock

import fixtures

from hashring import claims
from hashring import ring
from hashring import taking
from hashring.tests import base
from hashring.tests import test_claims


class TakingTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.old = ring.HashRing(['A-1', 'b-2'], points=8)

    claim = test_claims.ClaimsTestCase.claim

    def test_a_ring_that_does_not_rebuild_blocks_every_key(self):
        # A peer publishing a ring that does not rebuild must not stop
        # this member's filter, nor let it take what the peer may hold.
        logger = self.useFixture(fixtures.FakeLogger('hashring.claims'))
        keys = [f'node-{i}' for i in range(50)]
        forged = claims.Claim(
            'b-2',
            claims.RingSpec.from_dict(
                {
                    **claims.RingSpec.of(self.old).to_dict(),
                    'fingerprint': 'f' * 16,
                }
            ),
        )
        cache = taking.RingCache()
        real = claims.RingSpec.build
        with mock.patch.object(
            claims.RingSpec, 'build', autospec=True, side_effect=real
        ) as build:
            for _ in range(3):
                self.assertEqual(
                    set(keys), taking.blocked(keys, 'a-1', [forged], cache)
                )
        # Built once: each call rebuilt it, which took seconds at scale.
        self.assertEqual(1, build.call_count)
        self.assertEqual(1, logger.output.count('claim is corrupt'))
        self.assertIn('members b-2 publish it', logger.output)
        # A sound claim of the same peer blocks only what it gives it.
        sound = self.claim('b-2', self.old)
        self.assertEqual(
            {k for k, o in zip(keys, self.old.map_keys(keys)) if o == 'b-2'},
            taking.blocked(keys, 'a-1', [sound], cache),
        )

    def test_peers_rings_are_looked_up_once_each_and_told_apart(self):
        keys = [f'node-{i}' for i in range(200)]
        whole = ring.HashRing(['A-1', 'b-2', 'c-3'], points=8)
        peers = [self.claim(m, whole) for m in ('b-2', 'c-3')]
        real = ring.HashRing.map_keys
        with mock.patch.object(
            ring.HashRing, 'map_keys', autospec=True, side_effect=real
        ) as map_keys:
            held = taking.blocked(keys, 'a-1', peers)
        self.assertEqual(1, map_keys.call_count)
        self.assertEqual(
            {k for k, o in zip(keys, whole.map_keys(keys)) if o != 'A-1'},
            held,
        )
        # A ring that names another's fingerprint with other members is
        # not that ring: it does not rebuild, and blocks every key.
        forged = claims.Claim(
            'd-4',
            dataclasses.replace(
                claims.RingSpec.of(self.old), fingerprint=whole.fingerprint
            ),
        )
        for published in (peers + [forged], [forged] + peers):
            self.assertEqual(set(keys), taking.blocked(keys, 'a-1', published))


class WithinTestCase(base.TestCase):
    """A peer's ring that is the target less some members blocks nothing."""

    def keys(self):
        return [f'node-{i}' for i in range(3000)]

    def assert_mine_are_mine(self, part, whole, me):
        keys = self.keys()
        mine = taking.mine(whole, me, keys)
        self.assertTrue(mine)
        self.assertEqual(mine, taking.mine(part, me, mine))

    def test_a_ring_less_some_members_gives_me_what_the_whole_does(self):
        # 'a' and 'aa' collide (the lowest name keeps a shared point).
        whole = ring.HashRing({'a': 2, 'aa': 1, 'b': 3, 'c': 1, 'd': 1}, 3)
        for part_members, me in (
            ({'a': 2, 'b': 3}, 'a'),
            ({'aa': 1, 'b': 3, 'c': 1}, 'aa'),
            ({'a': 2, 'aa': 1, 'b': 3, 'c': 1, 'd': 1}, 'd'),
        ):
            part = ring.HashRing(part_members, 3)
            self.assertTrue(taking._within(part, whole, me))
            self.assert_mine_are_mine(part, whole, me)

    def test_other_rings_are_looked_up(self):
        whole = ring.HashRing({'a': 2, 'b': 3, 'c': 1}, 3)
        others = [
            (ring.HashRing({'b': 3, 'c': 1}, 3), 'a'),  # not a member
            (ring.HashRing({'a': 1, 'b': 3}, 3), 'a'),  # another weight
            (ring.HashRing({'a': 2, 'b': 3}, 4), 'a'),  # other points
            (ring.HashRing({'a': 2, 'b': 3}, 3, 'sha256'), 'a'),
            (ring.HashRing({'a': 2, 'b': 3, 'c': 1, 'd': 1}, 3), 'a'),
        ]
        for part, me in others:
            self.assertFalse(taking._within(part, whole, me), part)
        # They can give a key of mine to a peer: that is why.
        part, me = others[0]
        keys = self.keys()
        mine = taking.mine(whole, me, keys)
        self.assertNotEqual(mine, taking.mine(part, me, mine))

    def test_blocked_skips_the_ring_a_peer_has_yet_to_see_me_join(self):
        old = ring.HashRing(['a-1', 'b-2'], points=8)
        new = old.with_members(['a-1', 'b-2', 'c-3'])
        left = ring.HashRing(['b-2', 'c-3'], points=8)
        keys = taking.mine(new, 'b-2', self.keys())
        lagging = claims.Claim('a-1', claims.RingSpec.of(old))
        self.assertEqual(
            set(), taking.blocked(keys, 'b-2', [lagging], given_by=new)
        )
        # The leaver's ring holds more than the target: looked up.
        leaving = claims.Claim('a-1', claims.RingSpec.of(old))
        moved = taking.mine(left, 'b-2', self.keys())
        held = taking.blocked(moved, 'b-2', [leaving], given_by=left)
        self.assertTrue(held)
        self.assertEqual(held, taking.blocked(moved, 'b-2', [leaving]))


class LeavingOutTestCase(base.TestCase):
    def test_the_rings_that_leave_me_out(self):
        keys = [f'node-{i}' for i in range(50)]
        old = ring.HashRing(['A-1', 'b-2'], points=8)
        whole = old.with_members(['A-1', 'b-2', 'C-3'])
        more = whole.with_members(['A-1', 'b-2', 'C-3', 'd-4'])
        # b-2 moves (d-4 joins): its rings place c-3 (as C-3), and leave
        # nothing out, whatever they give b-2.
        moving = claims.Claim(
            'b-2', claims.RingSpec.of(whole), claims.RingSpec.of(more)
        )
        self.assertEqual([], taking.leaving_out([moving], 'c-3'))
        # a-1 and b-2 judged c-3 dead: the ring they apply leaves it out.
        judged = [
            claims.Claim(m, claims.RingSpec.of(old)) for m in ('a-1', 'b-2')
        ]
        found = taking.leaving_out([moving, *judged], 'c-3')
        self.assertEqual(judged, found)
        # What they may hold: the keys that ring gives each of them.
        theirs = {k for k, o in zip(keys, old.map_keys(keys)) if o == 'A-1'}
        self.assertTrue(theirs)
        self.assertEqual(theirs, taking.blocked(keys, 'c-3', found[:1]))
        self.assertEqual(set(keys), taking.blocked(keys, 'c-3', found))


class HandedTestCase(base.TestCase):
    def test_what_peers_rings_give_me(self):
        keys = [f'node-{i}' for i in range(200)]
        old = ring.HashRing(['A-1', 'b-2'], points=8)
        new = old.with_members(['A-1', 'b-2', 'C-3'])
        # a-1 sees c-3 join (its intent); b-2 has yet to.
        moving = claims.Claim(
            'a-1', claims.RingSpec.of(old), claims.RingSpec.of(new)
        )
        lagging = claims.Claim('b-2', claims.RingSpec.of(old))
        mine = set(taking.mine(new, 'c-3', keys))
        self.assertTrue(mine)
        self.assertEqual(mine, taking.handed(keys, 'c-3', [moving, lagging]))
        self.assertEqual(set(), taking.handed(keys, 'c-3', [lagging]))
        # Its own claim hands it nothing; nor does a ring that does not
        # rebuild (it blocks every key instead: blocked()).
        own = claims.Claim('c-3', claims.RingSpec.of(new))
        self.assertEqual(set(), taking.handed(keys, 'c-3', [own]))
        forged = claims.Claim(
            'a-1',
            claims.RingSpec.from_dict(
                {**claims.RingSpec.of(new).to_dict(), 'fingerprint': 'f' * 16}
            ),
        )
        self.assertEqual(set(), taking.handed(keys, 'c-3', [forged]))

    def test_a_settling_peer_hands_nothing(self):
        # Two members that joined an emptied backend together: each one's
        # ring gives the other its share, which absent peers may hold.
        keys = [f'node-{i}' for i in range(200)]
        both = ring.HashRing(['c-3', 'd-4'], points=8)
        settling = claims.Claim('d-4', claims.RingSpec.of(both), settling=True)
        mine = set(taking.mine(both, 'c-3', keys))
        self.assertTrue(mine)
        self.assertEqual(set(), taking.handed(keys, 'c-3', [settling]))
        settled = dataclasses.replace(settling, settling=False)
        self.assertEqual(mine, taking.handed(keys, 'c-3', [settled]))
        # It still blocks what its ring gives it.
        self.assertEqual(
            set(keys) - mine, taking.blocked(keys, 'c-3', [settling])
        )

    def test_unsettled_it_takes_only_what_is_held_or_handed(self):
        keys = [f'node-{i}' for i in range(200)]
        old = ring.HashRing(['A-1', 'b-2'], points=8)
        new = old.with_members(['A-1', 'b-2', 'C-3'])
        given = taking.mine(new, 'c-3', keys)
        held = given[:3]
        # No claim in sight: settled, it takes all; unsettled, what it holds.
        self.assertEqual(given, taking.take(given, 'c-3', [], held=held))
        self.assertEqual(
            held, taking.take(given, 'c-3', [], held=held, unsettled=True)
        )
        # a-1 has applied the new ring: it hands c-3 its keys.
        applied = [claims.Claim('a-1', claims.RingSpec.of(new))]
        self.assertEqual(
            given, taking.take(given, 'c-3', iter(applied), unsettled=True)
        )

    def test_settled_once_its_record_stood_settle_after_unbroken(self):
        self.assertFalse(taking.settled(None, 100.0, 0.2))
        self.assertFalse(taking.settled(10.0, 10.19, 0.2))
        self.assertTrue(taking.settled(10.0, 10.21, 0.2))
        self.assertTrue(taking.settled(10.0, 40.0, 30.0))
        self.assertFalse(taking.settled(10.0, 39.9, 30.0))
