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

from hashring.membership import verdicts
from hashring.tests import base as test_base


#: One second; and the start of every span here.
S = datetime.timedelta(seconds=1)
T = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)


class OutageTestCase(test_base.TestCase):
    #: 100 s long; a member heard 20 s after its start wrote during it.
    outage = verdicts.Outage(T, T + 100 * S, T + 20 * S)

    def test_explains(self):
        minute = 60 * S
        self.assertTrue(self.outage.explains(T - 59 * S, minute))
        self.assertTrue(self.outage.explains(T + 20 * S, minute))
        self.assertFalse(self.outage.explains(T - 61 * S, minute))
        self.assertFalse(self.outage.explains(T + 21 * S, minute))

    def test_explains_a_member_presumed_up_through_an_earlier_one(self):
        minute, last = 60 * S, T - 90 * S
        # Heard of 90 s before it, but an earlier outage that explained
        # that silence ended 10 s before it: alive as it began.
        self.assertFalse(self.outage.explains(last, minute))
        self.assertTrue(self.outage.explains(last, minute, T - 10 * S))
        self.assertFalse(self.outage.explains(last, minute, T - 61 * S))


class ReachableTestCase(test_base.TestCase):
    def test_overlapping_outages_count_once(self):
        outages = [
            verdicts.Outage(T, T + 50 * S, T + 20 * S),
            verdicts.Outage(T + 5 * S, T + 60 * S, T + 20 * S),
        ]
        self.assertEqual(40 * S, verdicts.reachable(T, T + 100 * S, outages))

    def test_only_the_part_after_the_last_heartbeat_counts(self):
        outages = [verdicts.Outage(T, T + 50 * S, T + 20 * S)]
        reachable = verdicts.reachable(T + 30 * S, T + 100 * S, outages)
        self.assertEqual(50 * S, reachable)


class ExplainingTestCase(test_base.TestCase):
    minute, kept = 60 * S, 70 * S
    first = verdicts.Outage(T, T + 100 * S, T + 20 * S)
    second = verdicts.Outage(T + 150 * S, T + 200 * S, T + 160 * S)

    def explaining(self, last, outages):
        return verdicts.explaining(last, outages, self.minute, self.kept)

    def test_back_to_back_outages_chain(self):
        # Heard of 160 s before the second began, but presumed up through
        # the first, which ended 50 s before it: both explain the silence.
        both = [self.first, self.second]
        self.assertEqual(both, self.explaining(T - 10 * S, both[::-1]))
        self.assertEqual([self.second], self.explaining(T + 95 * S, both))
        self.assertEqual([], self.explaining(T - 61 * S, both))

    def test_a_gap_longer_than_kept_breaks_the_chain(self):
        later = verdicts.Outage(T + 171 * S, T + 200 * S, T + 180 * S)
        both = [self.first, later]
        self.assertEqual([self.first], self.explaining(T - 10 * S, both))


class KeptTestCase(test_base.TestCase):
    keep = 70 * S
    first = verdicts.Outage(T, T + 100 * S, T + 20 * S)

    def test_an_old_outage_goes_unless_a_kept_one_chains_onto_it(self):
        now = T + 250 * S
        chained = verdicts.Outage(T + 150 * S, T + 200 * S, T + 160 * S)
        both = [self.first, chained]
        self.assertEqual(both, verdicts.kept(both, now, self.keep))
        apart = verdicts.Outage(T + 180 * S, T + 200 * S, T + 190 * S)
        self.assertEqual(
            [apart], verdicts.kept([self.first, apart], now, self.keep)
        )
        self.assertEqual([], verdicts.kept([self.first], now, self.keep))
