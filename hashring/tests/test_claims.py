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
