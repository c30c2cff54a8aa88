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

import datetime

import fixtures

from hashring import claims
from hashring import exception
from hashring.membership import values
from hashring import ring
from hashring.tests import base


class ClaimsTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.old = ring.HashRing(['A-1', 'b-2'], points=8)
        self.new = self.old.with_members(['A-1', 'b-2', 'c-3'])

    def claim(self, member, applied, intended=None):
        return claims.Claim(
            member,
            claims.RingSpec.of(applied),
            None if intended is None else claims.RingSpec.of(intended),
        )

    def snapshot(self, *members):
        return values.Snapshot(
            'g',
            {m.id: m for m in members},
            'gen',
            datetime.datetime.now(datetime.UTC),
        )

    def test_convergence_of_the_live_members(self):
        at = datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.UTC)
        later = at + datetime.timedelta(seconds=5)
        old = claims.RingSpec.of(self.old)
        new = claims.RingSpec.of(self.new)
        up, down = values.State.UP, values.State.DOWN
        agreeing = self.snapshot(
            values.Member('a-1', up, claim=claims.Claim('a-1', new, since=at)),
            values.Member(
                'b-2', up, claim=claims.Claim('b-2', new, since=later)
            ),
            # A dead member's claim has ended; one that publishes nothing
            # applies the ring of the current membership.
            values.Member('d-4', down, claim=claims.Claim('d-4', old)),
            values.Member('c-3', up),
        )
        self.assertEqual(
            (
                self.new.fingerprint,
                {m: self.new.fingerprint for m in ('a-1', 'b-2', 'c-3')},
                later,
            ),
            claims.convergence_of(agreeing, self.new),
        )
        # The current ring is another: the silent member applies that.
        self.assertEqual(
            (None, self.old.fingerprint),
            (
                claims.convergence_of(agreeing, self.old)[0],
                claims.convergence_of(agreeing, self.old)[1]['c-3'],
            ),
        )
        moving = self.snapshot(
            values.Member('a-1', up, claim=claims.Claim('a-1', old, new)),
            values.Member('b-2', up, claim=claims.Claim('b-2', new)),
        )
        self.assertEqual(
            (None, {'a-1': None, 'b-2': self.new.fingerprint}, None),
            claims.convergence_of(moving, self.new),
        )
        # Agreed, but one member does not say since when: unknown.
        self.assertEqual(
            (self.old.fingerprint, None),
            claims.convergence_of(
                self.snapshot(
                    values.Member(
                        'a-1', up, claim=claims.Claim('a-1', old, since=at)
                    ),
                    values.Member('b-2', up, claim=claims.Claim('b-2', old)),
                ),
                self.new,
            )[::2],
        )

    def test_since_round_trips_in_utc(self):
        at = datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.UTC)
        claim = claims.Claim('a-1', claims.RingSpec.of(self.old), since=at)
        self.assertEqual(claim, claims.Claim.from_dict('a-1', claim.to_dict()))
        naive = {**claim.to_dict(), 'since': '2026-12-02T06:00:00'}
        self.assertEqual(at, claims.Claim.from_dict('a-1', naive).since)

    def test_claims_round_trip_and_bad_ones_are_named(self):
        claim = self.claim('a-1', self.old, self.new)
        back = claims.Claim.from_dict('A-1', claim.to_dict())
        self.assertEqual(claim, back)
        self.assertEqual(
            self.new.fingerprint, back.intended.build().fingerprint
        )
        for data, bad in (
            ('x', "'x'"),
            ({'applied': {'members': ['a']}}, "['a']"),
            ({'applied': {**claim.applied.to_dict(), 'points': 0}}, '0'),
            ({'applied': {**claim.applied.to_dict(), 'fingerprint': 5}}, '5'),
            ({'since': 'yesterday'}, "'yesterday'"),
        ):
            with self.subTest(data=data):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    claims.Claim.from_dict,
                    'a-1',
                    data,
                )
                self.assertIn(bad, str(err))
        forged = claims.RingSpec.from_dict(
            {**claim.applied.to_dict(), 'fingerprint': 'f' * 16}
        )
        err = self.assertRaises(exception.InvalidArgumentError, forged.build)
        self.assertIn('corrupt', str(err))

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
        cache = claims.RingCache()
        for _ in range(2):
            self.assertEqual(
                set(keys), claims.blocked(keys, 'a-1', [forged], cache)
            )
        self.assertEqual(1, logger.output.count('claim is corrupt'))
        self.assertIn('members b-2 publish it', logger.output)
        # A sound claim of the same peer blocks only what it gives it.
        sound = self.claim('b-2', self.old)
        self.assertEqual(
            {k for k, o in zip(keys, self.old.map_keys(keys)) if o == 'b-2'},
            claims.blocked(keys, 'a-1', [sound], cache),
        )

    def test_bytes_members_cannot_be_published(self):
        err = self.assertRaises(
            exception.InvalidArgumentError,
            claims.RingSpec.of,
            ring.HashRing([b'x']),
        )
        self.assertIn("b'x'", str(err))

    def test_the_cache_builds_each_ring_once(self):
        cache = claims.RingCache(size=2)
        spec = claims.RingSpec.of(self.old)
        self.assertIs(cache.get(spec), cache.get(spec))
        for points in (2, 4, 16):
            cache.get(claims.RingSpec.of(ring.HashRing(['x'], points=points)))
        self.assertEqual(2, len(cache._rings))


class WithinTestCase(base.TestCase):
    """A peer's ring that is the target less some members blocks nothing."""

    def keys(self):
        return [f'node-{i}' for i in range(3000)]

    def assert_mine_are_mine(self, part, whole, me):
        keys = self.keys()
        mine = claims.mine(whole, me, keys)
        self.assertTrue(mine)
        self.assertEqual(mine, claims.mine(part, me, mine))

    def test_a_ring_less_some_members_gives_me_what_the_whole_does(self):
        # 'a' and 'aa' collide (the lowest name keeps a shared point).
        whole = ring.HashRing({'a': 2, 'aa': 1, 'b': 3, 'c': 1, 'd': 1}, 3)
        for part_members, me in (
            ({'a': 2, 'b': 3}, 'a'),
            ({'aa': 1, 'b': 3, 'c': 1}, 'aa'),
            ({'a': 2, 'aa': 1, 'b': 3, 'c': 1, 'd': 1}, 'd'),
        ):
            part = ring.HashRing(part_members, 3)
            self.assertTrue(claims._within(part, whole, me))
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
            self.assertFalse(claims._within(part, whole, me), part)
        # They can give a key of mine to a peer: that is why.
        part, me = others[0]
        keys = self.keys()
        mine = claims.mine(whole, me, keys)
        self.assertNotEqual(mine, claims.mine(part, me, mine))

    def test_blocked_skips_the_ring_a_peer_has_yet_to_see_me_join(self):
        old = ring.HashRing(['a-1', 'b-2'], points=8)
        new = old.with_members(['a-1', 'b-2', 'c-3'])
        left = ring.HashRing(['b-2', 'c-3'], points=8)
        keys = claims.mine(new, 'b-2', self.keys())
        lagging = claims.Claim('a-1', claims.RingSpec.of(old))
        self.assertEqual(
            set(), claims.blocked(keys, 'b-2', [lagging], given_by=new)
        )
        # The leaver's ring holds more than the target: looked up.
        leaving = claims.Claim('a-1', claims.RingSpec.of(old))
        moved = claims.mine(left, 'b-2', self.keys())
        held = claims.blocked(moved, 'b-2', [leaving], given_by=left)
        self.assertTrue(held)
        self.assertEqual(held, claims.blocked(moved, 'b-2', [leaving]))
