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


class OutageTestCase(test_base.TestCase):
    def test_explains(self):
        t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        s = datetime.timedelta(seconds=1)
        outage = verdicts.Outage(t, t + 100 * s, t + 20 * s)
        minute = 60 * s
        self.assertTrue(outage.explains(t - 59 * s, minute))
        self.assertTrue(outage.explains(t + 20 * s, minute))
        self.assertFalse(outage.explains(t - 61 * s, minute))
        self.assertFalse(outage.explains(t + 21 * s, minute))


class ReachableTestCase(test_base.TestCase):
    def test_overlapping_outages_count_once(self):
        t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        s = datetime.timedelta(seconds=1)
        outages = [
            verdicts.Outage(t, t + 50 * s, t + 20 * s),
            verdicts.Outage(t + 5 * s, t + 60 * s, t + 20 * s),
        ]
        self.assertEqual(40 * s, verdicts.reachable(t, t + 100 * s, outages))

    def test_only_the_part_after_the_last_heartbeat_counts(self):
        t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        s = datetime.timedelta(seconds=1)
        outages = [verdicts.Outage(t, t + 50 * s, t + 20 * s)]
        reachable = verdicts.reachable(t + 30 * s, t + 100 * s, outages)
        self.assertEqual(50 * s, reachable)
