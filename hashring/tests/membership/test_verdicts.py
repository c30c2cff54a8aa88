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
