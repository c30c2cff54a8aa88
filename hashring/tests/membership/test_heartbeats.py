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
import time
import types


from hashring import exception
from hashring.membership import heartbeats
from hashring.tests import base as test_base
from hashring.tests.membership import contract
from hashring.tests.membership import memory


class HeartbeatsTestCase(memory.MemoryTestMixin, test_base.TestCase):
    """A member's heartbeat and its thread, over the in-memory backend."""

    def test_heartbeat_survives_outages_and_rejoins(self):
        a = self.source()
        a.join('a', weight=2)
        self.store.down = True
        self.assertTrue(contract.eventually(lambda: a.beat_failures >= 3))
        self.assertTrue(a._thread.is_alive())
        self.store.down = False
        self.store.groups.clear()  # the backend lost everything
        self.assertTrue(
            contract.eventually(
                lambda: self.source().get_members().up() == {'a': 2}
            )
        )
        self.assertEqual(0, a.beat_failures)

    def test_backoff_is_bounded_by_the_interval(self):
        a = self.source(heartbeat_interval=0.3, dead_after=1.0)
        a.join('a')
        self.store.down = True
        started = time.monotonic()
        self.assertTrue(
            contract.eventually(lambda: a.beat_failures >= 6, timeout=10)
        )
        # 0.5-second first retry doubles but never waits past 0.3s here.
        self.assertLess(time.monotonic() - started, 6 * 0.3 + 1.5)

    def test_a_heartbeat_joins_again_where_the_backend_forgot(self):
        # An hour between beats: only the test's calls write.
        a = self.source(heartbeat_interval=3600, dead_after=7200)
        a.join('a', 'g1', weight=2)
        a.join('a', 'g2', weight=2)
        del self.store.groups['g2']['a']
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            a.heartbeat()
        self.assertEqual(
            ['memory forgot member a of group g2; joining again'],
            [r.getMessage() for r in logs.records],
        )
        self.assertEqual(2, self.store.groups['g2']['a'].weight)
        self.assertEqual({'a': 2}, self.source().get_members('g1').up())

    def test_the_beat_after_a_failure_publishes_the_outage(self):
        a = self.source(heartbeat_interval=3600, dead_after=7200)
        a.join('a')
        group = a.default_group
        before = self.store.groups[group]['a'].heartbeat
        self.store.down = True
        self.assertRaises(exception.MembershipUnavailable, a.heartbeat)
        self.store.down = False
        self.store.clock += datetime.timedelta(seconds=30)
        a.heartbeat()
        record = self.store.groups[group]['a']
        # The span it could not write, from its last beat to this one.
        self.assertEqual((before, self.store.clock), record.outage)
        self.store.clock += datetime.timedelta(seconds=30)
        a.heartbeat()
        # A beat on time publishes no new outage.
        self.assertEqual(
            (before, before + datetime.timedelta(seconds=30)),
            self.store.groups[group]['a'].outage,
        )

    def test_the_first_heartbeat_cleans_up_on_a_host_just_booted(self):
        # Its monotonic clock, which starts at boot, reads a minute.
        started = time.monotonic()
        self.patch(
            heartbeats,
            'time',
            types.SimpleNamespace(
                monotonic=lambda: time.monotonic() - started + 60
            ),
        )
        a = self.source()
        cleaned = []
        a.cleanup = lambda: cleaned.append(a.beat_failures) or 0
        a.join('a')
        self.assertTrue(contract.eventually(lambda: cleaned))
        # Then not again for a tenth of the retention (a week).
        time.sleep(contract.FAST['heartbeat_interval'] * 4)
        self.assertEqual([0], cleaned)

    def test_a_failed_clean_up_is_not_a_failed_heartbeat(self):
        a = self.source()
        cleaned = []

        def cleanup():
            cleaned.append(time.monotonic())
            raise exception.MembershipUnavailable('memory', 'frozen')

        a.cleanup = cleanup
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            a.join('a')
            self.assertTrue(contract.eventually(lambda: cleaned))
            time.sleep(contract.FAST['heartbeat_interval'] * 4)
        self.assertEqual(1, len(cleaned))  # not again for a while
        self.assertEqual(0, a.beat_failures)
        self.assertEqual(
            [
                'Cleaning up old member records on memory failed, next try '
                'in 60480s'
            ],
            [r.getMessage().split(':')[0] for r in logs.records],
        )
        self.assertEqual({'a': 1}, self.source().get_members().up())

    def test_no_heartbeat_before_a_join(self):
        a = self.source()
        a.heartbeat()  # nothing to refresh, nothing written
        self.assertEqual({}, self.store.groups)
        self.assertIsNone(a._thread)
