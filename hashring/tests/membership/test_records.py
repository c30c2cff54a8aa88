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
import operator

import hashring
from hashring import claims
from hashring.membership import identity
from hashring.membership import records
from hashring.membership import values
from hashring.tests import base as test_base

UP = values.State.UP
AT = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


def record(name, state=UP, weight=1, attributes=None, heartbeat=AT):
    return values.Record(name, state, weight, attributes or {}, heartbeat)


class MembersTestCase(test_base.TestCase):
    def members(self, found):
        bad, claims_refused = [], []
        result = records.members(
            found,
            lambda *args: bad.append(args),
            lambda *args: claims_refused.append(args),
        )
        return result, bad, claims_refused

    def test_members_by_canonical_id_under_their_registered_names(self):
        found, bad, refused = self.members(
            [record('Host-A', weight=2), record('host-b')]
        )
        self.assertEqual({'host-a', 'host-b'}, set(found))
        self.assertEqual('Host-A', found['host-a'].name)
        self.assertEqual(2, found['host-a'].weight)
        self.assertEqual(AT, found['host-a'].last_heartbeat)
        self.assertEqual(([], []), (bad, refused))

    def test_bad_records_are_named_and_left_out(self):
        found, bad, _ = self.members(
            [
                record('good'),
                record('heavy', weight=values.MAX_WEIGHT + 1),
                record('none', weight=0),
                record('odd', weight=True),
                record('a\x00b'),
            ]
        )
        self.assertEqual(['good'], list(found))
        self.assertEqual(
            ['heavy', 'none', 'odd', 'a\x00b'], [name for name, _ in bad]
        )
        self.assertIn(f'above {values.MAX_WEIGHT}', bad[0][1])
        self.assertIn('below 1', bad[1][1])
        self.assertIn('not an integer', bad[2][1])
        self.assertIn('control characters', bad[3][1])

    def test_of_one_member_the_record_heard_from_last_is_kept(self):
        later = AT + datetime.timedelta(seconds=1)
        for order in (1, -1):
            with self.subTest(order=order):
                found, bad, _ = self.members(
                    [
                        record('host', weight=1),
                        record('HOST', weight=2, heartbeat=later),
                        record(
                            'Host',
                            values.State.DOWN,
                            weight=3,
                            heartbeat=later,
                        ),
                        record('other'),
                    ][::order]
                )
                self.assertEqual('HOST', found['host'].name)
                self.assertEqual(2, found['host'].weight)
                self.assertEqual(
                    {
                        ('host', "it is the same member as record 'HOST'"),
                        ('Host', "it is the same member as record 'HOST'"),
                    },
                    set(bad),
                )

    def test_of_two_running_processes_the_later_registration_is_kept(self):
        # Two services joined as one member, under names that differ in
        # case: both heartbeat, the first stops once it reads the second.
        first, second = sorted(identity.incarnation() for _ in range(2))
        later = AT + datetime.timedelta(seconds=1)
        for beat_first, beat_second in ((later, AT), (AT, later)):
            with self.subTest(first_heard_last=beat_first is later):
                found, bad, _ = self.members(
                    [
                        record(
                            'svc-2',
                            attributes={values.INCARNATION_ATTRIBUTE: first},
                            heartbeat=beat_first,
                        ),
                        record(
                            'SVC-2',
                            attributes={values.INCARNATION_ATTRIBUTE: second},
                            heartbeat=beat_second,
                        ),
                    ]
                )
                self.assertEqual('SVC-2', found['svc-2'].name)
                self.assertEqual(second, found['svc-2'].incarnation)
                self.assertEqual(
                    [('svc-2', "it is the same member as record 'SVC-2'")],
                    bad,
                )
        # A record of an older release, with none, is the earliest; a
        # stopped one is kept only where none runs.
        found, _, _ = self.members(
            [
                record('svc-2', heartbeat=later),
                record(
                    'SVC-2', attributes={values.INCARNATION_ATTRIBUTE: first}
                ),
                record(
                    'Svc-2',
                    values.State.DOWN,
                    attributes={values.INCARNATION_ATTRIBUTE: second},
                    heartbeat=later,
                ),
            ]
        )
        self.assertEqual('SVC-2', found['svc-2'].name)

    def test_ties_go_to_the_canonical_id_then_the_first_raw_id(self):
        for found_records, kept in (
            ([record('HOST'), record('host'), record('Host')], 'host'),
            ([record('HOST'), record('Host')], 'HOST'),
        ):
            with self.subTest(kept=kept):
                found, bad, _ = self.members(found_records[::-1])
                self.assertEqual(kept, found['host'].name)
                self.assertEqual(len(found_records) - 1, len(bad))

    def test_a_claim_is_taken_out_of_the_attributes(self):
        ring = hashring.HashRing({'a': 1})
        claim = claims.Claim('a', None, claims.RingSpec.of(ring))
        found, _, refused = self.members(
            [
                record(
                    'A',
                    attributes={
                        values.CLAIM_ATTRIBUTE: claim.to_dict(),
                        'zone': 'z1',
                    },
                ),
                record('b', attributes={values.CLAIM_ATTRIBUTE: 'nonsense'}),
            ]
        )
        self.assertEqual(claim, found['a'].claim)
        self.assertEqual({'zone': 'z1'}, dict(found['a'].attributes))
        self.assertRaises(
            TypeError, operator.setitem, found['a'].attributes, 'zone', 'z2'
        )
        # A claim that does not parse is refused, and the member kept.
        self.assertIsNone(found['b'].claim)
        self.assertEqual({}, dict(found['b'].attributes))
        self.assertEqual(['b'], [member for member, _ in refused])
        self.assertIn('A claim is a mapping', str(refused[0][1]))
        # Claims of one ring in one read share its spec, parsed once.
        both, _, _ = self.members(
            [
                record(n, attributes={values.CLAIM_ATTRIBUTE: claim.to_dict()})
                for n in ('a', 'c')
            ]
        )
        self.assertIs(both['a'].claim.intended, both['c'].claim.intended)
        # A member that publishes nothing shares one empty mapping.
        self.assertIs(
            values.NO_ATTRIBUTES,
            self.members([record('c')])[0]['c'].attributes,
        )

    def test_an_incarnation_is_taken_out_of_the_attributes(self):
        mine = identity.incarnation()
        found, bad, _ = self.members(
            [
                record(
                    'a',
                    attributes={
                        values.INCARNATION_ATTRIBUTE: mine,
                        'zone': 'z1',
                    },
                ),
                record('b', attributes={values.INCARNATION_ATTRIBUTE: 7}),
                record('c'),
            ]
        )
        self.assertEqual(
            [mine, None, None], [found[m].incarnation for m in 'abc']
        )
        self.assertEqual({'zone': 'z1'}, dict(found['a'].attributes))
        # One that does not read as one is not the member's attribute;
        # members left with none share one empty mapping.
        self.assertIs(values.NO_ATTRIBUTES, found['b'].attributes)
        self.assertEqual([], bad)


class PastNamesTestCase(test_base.TestCase):
    def test_the_member_under_other_names_only(self):
        found = {
            'g2': [record('Node-A'), record('node-b'), record('NODE-A ')],
            'g1': [record('node-a'), record('Node-A'), record('bad\x00')],
        }
        # Its own name is not its past; a name no member can have is
        # no member's.
        self.assertEqual(
            [('g1', 'node-a'), ('g2', 'NODE-A ')],
            records.past_names(found, 'Node-A'),
        )
        self.assertEqual([], records.past_names(found, 'node-c'))


class HeartbeatRangeTestCase(test_base.TestCase):
    def test_a_heartbeat_out_of_range_leaves_its_record_out(self):
        utc = datetime.timezone.utc
        found, bad = [], []
        for name, beat in (
            ('early', datetime.datetime.min.replace(tzinfo=utc)),
            ('first', values.EARLIEST_HEARTBEAT),
            ('now', AT),
            ('last', values.LATEST_HEARTBEAT),
            ('late', datetime.datetime.max.replace(tzinfo=utc)),
        ):
            found.append(record(name, heartbeat=beat))
        result = records.members(
            found, lambda *args: bad.append(args), lambda *args: None
        )
        self.assertEqual(['first', 'now', 'last'], list(result))
        self.assertEqual(['early', 'late'], [name for name, _ in bad])
        self.assertIn('heartbeat 0001-01-01T00:00:00+00:00 is out', bad[0][1])
