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

from hashring import claims
from hashring.membership import values
from hashring import published
from hashring import ring
from hashring import taking
from hashring.tests import base


class PublishedTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.old = ring.HashRing(['A-1', 'b-2'], points=8)
        self.new = self.old.with_members(['A-1', 'b-2', 'c-3'])

    def snapshot(self, *members):
        return values.Snapshot(
            'g',
            {m.id: m for m in members},
            'gen',
            datetime.datetime.now(datetime.timezone.utc),
        )

    def test_convergence_of_the_live_members(self):
        at = datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.timezone.utc)
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
            published.convergence_of(agreeing, self.new),
        )
        # The current ring is another: the silent member applies that.
        other = self.new.with_members(['A-1', 'b-2', 'C-3', 'd-4'])
        self.assertEqual(
            (None, other.fingerprint),
            (
                published.convergence_of(agreeing, other)[0],
                published.convergence_of(agreeing, other)[1]['c-3'],
            ),
        )
        # A ring that leaves it out, up (read before it joined, the others
        # applying it): none it applies, and not agreed.  Draining, off
        # every ring, it is taken to apply it as before.
        before = self.snapshot(
            values.Member('a-1', up, claim=claims.Claim('a-1', old)),
            values.Member('b-2', up, claim=claims.Claim('b-2', old)),
            values.Member('c-3', up),
        )
        agreed, applied, _ = published.convergence_of(before, self.old)
        self.assertEqual((None, None), (agreed, applied['c-3']))
        draining = self.snapshot(
            *list(before)[:2], values.Member('c-3', values.State.DRAINING)
        )
        self.assertEqual(
            self.old.fingerprint,
            published.convergence_of(draining, self.old)[0],
        )
        moving = self.snapshot(
            values.Member('a-1', up, claim=claims.Claim('a-1', old, new)),
            values.Member('b-2', up, claim=claims.Claim('b-2', new)),
        )
        self.assertEqual(
            (None, {'a-1': None, 'b-2': self.new.fingerprint}, None),
            published.convergence_of(moving, self.new),
        )
        # Agreed, but one member does not say since when: unknown.
        self.assertEqual(
            (self.old.fingerprint, None),
            published.convergence_of(
                self.snapshot(
                    values.Member(
                        'a-1', up, claim=claims.Claim('a-1', old, since=at)
                    ),
                    values.Member('b-2', up, claim=claims.Claim('b-2', old)),
                ),
                self.new,
            )[::2],
        )

    def test_peer_claims_of_the_live_members(self):
        old = claims.RingSpec.of(self.old)
        new = claims.RingSpec.of(self.new)
        state = values.State
        mine = claims.Claim('a-1', new)
        draining = claims.Claim('b-2', old, new)
        found, live, leaving = published.peer_claims(
            self.snapshot(
                values.Member('a-1', state.UP, claim=mine),
                values.Member('b-2', state.DRAINING, claim=draining),
                # One that publishes nothing applies the current ring (and
                # hands nothing: settling); a dead or fenced member's claim
                # has ended.
                values.Member('c-3', state.UP),
                values.Member(
                    'd-4', state.DOWN, claim=claims.Claim('d-4', old)
                ),
                values.Member(
                    'e-5', state.FORCED_DOWN, claim=claims.Claim('e-5', old)
                ),
            ),
            'a-1',
            self.new,
        )
        self.assertEqual(
            [draining, claims.Claim('c-3', new, settling=True)], found
        )
        self.assertEqual(frozenset({'a-1', 'b-2', 'c-3'}), live)
        self.assertEqual(frozenset({'b-2'}), leaving)
        # Those that publish nothing share the spec, made once a read.
        found, _, _ = published.peer_claims(
            self.snapshot(
                values.Member('c-3', state.UP), values.Member('f-6', state.UP)
            ),
            'a-1',
            self.new,
        )
        self.assertIs(found[0].applied, found[1].applied)
        # A host that is not alive itself is not among the live.
        found, live, _ = published.peer_claims(
            self.snapshot(values.Member('a-1', state.DOWN, claim=mine)),
            'a-1',
            self.new,
        )
        self.assertEqual(([], frozenset()), (found, live))


class UnlistedTestCase(base.TestCase):
    """Claims standing for members a peer places that a read left out."""

    def setUp(self):
        super().setUp()
        self.old = ring.HashRing(['A-1', 'b-2'], points=8)
        self.new = self.old.with_members(['A-1', 'b-2', 'c-3'])

    def spec(self, ring_):
        return claims.RingSpec.of(ring_)

    def test_a_member_placed_but_not_listed_stands_for_itself(self):
        # a-1 presumes b-2 up (its record lost); c-3 never read it.
        moving = claims.Claim('a-1', self.spec(self.old), self.spec(self.new))
        found = published.unlisted([moving], frozenset({'a-1', 'c-3'}), 'c-3')
        self.assertEqual(
            {('b-2', self.old.fingerprint), ('b-2', self.new.fingerprint)},
            {(c.member, c.applied.fingerprint) for c in found},
        )
        # They block, and hand nothing.
        self.assertEqual([True, True], [c.settling for c in found])
        keys = [f'node-{i}' for i in range(100)]
        self.assertEqual(set(), taking.handed(keys, 'c-3', found))
        self.assertTrue(taking.blocked(keys, 'c-3', found))
        # Listed (live or not), or the reader itself: nothing.
        self.assertEqual(
            [], published.unlisted([moving], frozenset({'a-1', 'b-2'}), 'c-3')
        )
        alone = claims.Claim('a-1', self.spec(self.old))
        self.assertEqual(
            [], published.unlisted([alone], frozenset({'a-1'}), 'b-2')
        )

    def test_its_rings_stand_while_a_peer_places_it(self):
        listed = frozenset({'a-1', 'c-3'})
        before = published.unlisted(
            [claims.Claim('a-1', self.spec(self.old))], listed, 'c-3'
        )
        # a-1 moved on; b-2, without a record, cannot have.
        moved = [claims.Claim('a-1', self.spec(self.new))]
        found = published.unlisted(moved, listed, 'c-3', before)
        self.assertEqual(
            {self.old.fingerprint, self.new.fingerprint},
            {c.applied.fingerprint for c in found},
        )
        # Once no peer places it (judged dead), or it is listed: none.
        gone = [claims.Claim('a-1', self.spec(ring.HashRing(['A-1', 'c-3'])))]
        self.assertEqual([], published.unlisted(gone, listed, 'c-3', found))
        self.assertEqual(
            [], published.unlisted(moved, listed | {'b-2'}, 'c-3', found)
        )
