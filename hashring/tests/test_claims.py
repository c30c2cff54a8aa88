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
import datetime
import json

from hashring import claims
from hashring import exception
from hashring.membership import values
from hashring import ring
from hashring import taking
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
            claims.convergence_of(agreeing, self.new),
        )
        # The current ring is another: the silent member applies that.
        other = self.new.with_members(['A-1', 'b-2', 'C-3', 'd-4'])
        self.assertEqual(
            (None, other.fingerprint),
            (
                claims.convergence_of(agreeing, other)[0],
                claims.convergence_of(agreeing, other)[1]['c-3'],
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
        agreed, applied, _ = claims.convergence_of(before, self.old)
        self.assertEqual((None, None), (agreed, applied['c-3']))
        draining = self.snapshot(
            *list(before)[:2], values.Member('c-3', values.State.DRAINING)
        )
        self.assertEqual(
            self.old.fingerprint,
            claims.convergence_of(draining, self.old)[0],
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

    def test_peer_claims_of_the_live_members(self):
        old = claims.RingSpec.of(self.old)
        new = claims.RingSpec.of(self.new)
        state = values.State
        mine = claims.Claim('a-1', new)
        draining = claims.Claim('b-2', old, new)
        found, live, leaving = claims.peer_claims(
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
        found, _, _ = claims.peer_claims(
            self.snapshot(
                values.Member('c-3', state.UP), values.Member('f-6', state.UP)
            ),
            'a-1',
            self.new,
        )
        self.assertIs(found[0].applied, found[1].applied)
        # A host that is not alive itself is not among the live.
        found, live, _ = claims.peer_claims(
            self.snapshot(values.Member('a-1', state.DOWN, claim=mine)),
            'a-1',
            self.new,
        )
        self.assertEqual(([], frozenset()), (found, live))

    def test_since_round_trips_in_utc(self):
        at = datetime.datetime(2026, 12, 2, 6, 0, tzinfo=datetime.timezone.utc)
        claim = claims.Claim('a-1', claims.RingSpec.of(self.old), since=at)
        self.assertEqual(claim, claims.Claim.from_dict('a-1', claim.to_dict()))
        naive = {**claim.to_dict(), 'since': '2026-12-02T06:00:00'}
        self.assertEqual(at, claims.Claim.from_dict('a-1', naive).since)

    def test_settling_round_trips_and_is_written_only_while_true(self):
        settled = self.claim('a-1', self.old)
        settling = dataclasses.replace(settled, settling=True)
        # A settled member's record reads as it did before the field.
        self.assertNotIn('settling', settled.to_dict())
        self.assertIs(True, settling.to_dict()['settling'])
        for claim in (settled, settling):
            back = claims.Claim.from_dict('a-1', claim.to_dict())
            self.assertEqual(claim, back)
        err = self.assertRaises(
            exception.InvalidArgumentError,
            claims.Claim.from_dict,
            'a-1',
            {**settling.to_dict(), 'settling': 'yes'},
        )
        self.assertIn("'yes'", str(err))

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
            ({'applied': {'members': {5: 1}}}, '{5: 1}'),
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
        # The weights, each checked with the others: one bad is named.
        for weight in (True, 0, values.MAX_WEIGHT + 1, 1.5, '1'):
            with self.subTest(weight=weight):
                data = claim.applied.to_dict()
                data['members'] = {**data['members'], 'c-3': weight}
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    claims.RingSpec.from_dict,
                    data,
                )
                self.assertIn('c-3', str(err))
                self.assertIn(f'weight {weight!r}', str(err))
        forged = claims.RingSpec.from_dict(
            {**claim.applied.to_dict(), 'fingerprint': 'f' * 16}
        )
        err = self.assertRaises(exception.InvalidArgumentError, forged.build)
        self.assertIn('corrupt', str(err))

    def test_one_read_parses_each_ring_once_and_refuses_the_same(self):
        data = self.claim('a-1', self.old, self.new).to_dict()
        parsed = {}
        first = claims.Claim.from_dict('a-1', json.loads(json.dumps(data)))
        again = [
            claims.Claim.from_dict(m, json.loads(json.dumps(data)), parsed)
            for m in ('a-1', 'b-2')
        ]
        self.assertEqual(first, again[0])
        self.assertIs(again[0].applied, again[1].applied)
        self.assertIs(again[0].intended, again[1].intended)
        self.assertIsNot(again[0].applied, again[0].intended)
        # Equal in value is not enough: what a parse refuses, it refuses.
        applied = data['applied']
        for bad, named in (
            ({**applied, 'points': float(applied['points'])}, 'points'),
            ({**applied, 'members': {'A-1': True, 'b-2': 1}}, 'A-1'),
            ({**applied, 'fingerprint': ['x']}, "['x']"),
        ):
            with self.subTest(bad=bad):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    claims.RingSpec.from_dict,
                    bad,
                    parsed,
                )
                self.assertIn(named, str(err))
        # Data that names a parsed ring's fingerprint with other members
        # is another spec (that one does not rebuild).
        forged = claims.RingSpec.from_dict(
            {**applied, 'members': {'A-1': 1}}, parsed
        )
        self.assertEqual({'A-1': 1}, forged.members)
        self.assertIsNot(again[0].applied, forged)

    def test_bytes_members_cannot_be_published(self):
        err = self.assertRaises(
            exception.InvalidArgumentError,
            claims.RingSpec.of,
            ring.HashRing([b'x']),
        )
        self.assertIn("b'x'", str(err))


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
        found = claims.unlisted([moving], frozenset({'a-1', 'c-3'}), 'c-3')
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
            [], claims.unlisted([moving], frozenset({'a-1', 'b-2'}), 'c-3')
        )
        alone = claims.Claim('a-1', self.spec(self.old))
        self.assertEqual(
            [], claims.unlisted([alone], frozenset({'a-1'}), 'b-2')
        )

    def test_its_rings_stand_while_a_peer_places_it(self):
        listed = frozenset({'a-1', 'c-3'})
        before = claims.unlisted(
            [claims.Claim('a-1', self.spec(self.old))], listed, 'c-3'
        )
        # a-1 moved on; b-2, without a record, cannot have.
        moved = [claims.Claim('a-1', self.spec(self.new))]
        found = claims.unlisted(moved, listed, 'c-3', before)
        self.assertEqual(
            {self.old.fingerprint, self.new.fingerprint},
            {c.applied.fingerprint for c in found},
        )
        # Once no peer places it (judged dead), or it is listed: none.
        gone = [claims.Claim('a-1', self.spec(ring.HashRing(['A-1', 'c-3'])))]
        self.assertEqual([], claims.unlisted(gone, listed, 'c-3', found))
        self.assertEqual(
            [], claims.unlisted(moved, listed | {'b-2'}, 'c-3', found)
        )
