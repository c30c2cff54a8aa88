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

import fixtures

from hashring import exception
from hashring.membership import bounded
from hashring.tests import base as test_base
from hashring.tests.membership import memory


class ClockedTestCase(memory.MemoryTestMixin, test_base.TestCase):
    """A member on a clock of the test's (no tests here)."""

    def setUp(self):
        super().setUp()
        self.now = 1000.0
        # An hour between beats: only the test's calls write.
        self.a = self.source(heartbeat_interval=3600, dead_after=7200)
        self.a._clock = lambda: self.now


class StreakTestCase(ClockedTestCase):
    """When a member's heartbeats lapse: unbroken_since()."""

    def test_none_before_the_join_then_the_join(self):
        self.assertIsNone(self.a.unbroken_since())
        self.a.join('a')
        self.assertEqual(1000.0, self.a.unbroken_since())

    def test_beats_in_time_keep_the_streak(self):
        self.a.join('a')
        for _ in range(3):
            self.now += 5000  # late, not lapsed
            self.a.heartbeat()
        self.assertEqual(1000.0, self.a.unbroken_since())

    def test_a_beat_after_a_pause_starts_a_streak(self):
        self.a.join('a')
        # The process stopped: no beat for dead_after less a third of an
        # interval, between the start of one and the end of the next.
        self.now += 7200 - 1200
        self.assertIsNone(self.a.unbroken_since())  # it lasts
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            self.a.heartbeat()
        self.assertEqual(self.now, self.a.unbroken_since())
        self.assertEqual(
            [
                'Member a had no heartbeat on memory for 6000.0s '
                '(dead_after is 7200s): if its peers could write '
                'meanwhile, they judged it dead and may have taken what '
                'it held'
            ],
            [r.getMessage() for r in logs.records],
        )

    def test_a_beat_after_failures_starts_a_streak_with_less_noise(self):
        self.a.join('a')
        self.store.down = True
        self.now += 7000
        self.assertRaises(exception.MembershipUnavailable, self.a.heartbeat)
        self.store.down = False
        with self.assertLogs('hashring.membership.base', 'INFO') as logs:
            self.a.heartbeat()
        self.assertEqual(self.now, self.a.unbroken_since())
        self.assertEqual(['INFO'], [r.levelname for r in logs.records])

    def test_a_forgotten_record_starts_a_streak(self):
        self.a.join('a')
        self.now += 60
        del self.store.groups[self.a.default_group]['a']
        with self.assertLogs('hashring.membership.base', 'WARNING'):
            self.a.heartbeat()
        self.assertEqual(1060.0, self.a.unbroken_since())

    def test_leaving_ends_it(self):
        self.a.join('a')
        self.a.leave()
        self.assertIsNone(self.a.unbroken_since())


class SessionTestCase(ClockedTestCase):
    """A backend that forgets the member sooner than dead_after."""

    def test_a_shorter_session_bounds_the_lapses(self):
        # A ZooKeeper session the server cut to 600 s (dead_after is
        # 7200): silent past nine tenths of it, the member has lapsed.
        self.a._session_length = lambda: 600.0
        self.a.join('a')
        self.now += 539
        self.assertEqual(1000.0, self.a.unbroken_since())
        self.assertIsNone(self.a.last_silence())
        self.now += 2
        self.assertIsNone(self.a.unbroken_since())
        self.assertEqual(self.now, self.a.last_silence())
        self.a.heartbeat()
        self.assertEqual(self.now, self.a.unbroken_since())

    def test_a_longer_session_changes_nothing(self):
        # The server granted more than asked: dead_after bounds them.
        self.a._session_length = lambda: 9000.0
        self.a.join('a')
        self.now += 5000
        self.assertEqual(1000.0, self.a.unbroken_since())
        self.now += 500  # past dead_after less half an interval
        self.assertIsNone(self.a.unbroken_since())


class SilenceTestCase(ClockedTestCase):
    """When no heartbeat was even tried for a lapse: last_silence()."""

    def test_none_until_a_silence(self):
        self.assertIsNone(self.a.last_silence())
        self.a.join('a')
        for _ in range(3):
            self.now += 5000  # late, not lapsed (the bound is 5400 s)
            self.a.heartbeat()
        self.assertIsNone(self.a.last_silence())

    def test_a_silence_while_it_lasts_then_when_it_ended(self):
        self.a.join('a')
        self.now += 6000  # the process stopped
        self.assertEqual(self.now, self.a.last_silence())
        self.now += 1
        self.assertEqual(self.now, self.a.last_silence())
        ended = self.now
        self.store.down = True  # the first beat after it fails: still one
        self.assertRaises(exception.MembershipUnavailable, self.a.heartbeat)
        self.now += 5000
        self.assertEqual(ended, self.a.last_silence())
        self.store.down = False
        self.a.heartbeat()
        self.assertEqual(ended, self.a.last_silence())
        self.now += 6000  # another
        self.a.heartbeat()
        self.assertEqual(self.now, self.a.last_silence())

    def test_heartbeats_that_fail_are_no_silence(self):
        # An outage: the beats are tried, and fail, for longer than the
        # lapse bound; unbroken_since() sees the lapse, but no silence.
        self.a.join('a')
        self.store.down = True
        for _ in range(4):
            self.now += 3000
            self.assertRaises(
                exception.MembershipUnavailable, self.a.heartbeat
            )
        self.assertIsNone(self.a.unbroken_since())
        self.assertIsNone(self.a.last_silence())

    def test_a_heartbeat_that_hangs_is_no_silence(self):
        # A call held by a frozen backend, or waiting for the lock a
        # consumer's write holds: tried, not silent, while it lasts.
        self.a.join('a')
        seen = []
        beat = self.a._beat

        def hanging(*args):
            self.now += 6000
            seen.append(self.a.last_silence())
            return beat(*args)

        self.useFixture(
            fixtures.MockPatchObject(self.a, '_beat', side_effect=hanging)
        )
        self.a.heartbeat()
        self.assertEqual([None], seen)
        self.assertIsNone(self.a.last_silence())

    def beat_through(self, stop, hang=0.0):
        """Heartbeat, the process stopped while the beat waits an answer.

        :param stop: seconds the process is stopped for, in the backend
            call (the source's callers wait there, and see it).
        :param hang: seconds the backend takes besides.
        :returns: what last_silence() said in the call, after the stop.
        """
        self.a._stalls = bounded.Stalls(lambda: self.now)
        caller = bounded.Caller('hashring-test', 10, stalls=self.a._stalls)
        seen = []
        beat = self.a._beat

        def stopped():
            self.now += stop

        def waiting(*args):
            self.now += hang
            caller.call(stopped)
            seen.append(self.a.last_silence())
            return beat(*args)

        self.useFixture(
            fixtures.MockPatchObject(self.a, '_beat', side_effect=waiting)
        )
        self.a.heartbeat()
        return seen[0]

    def test_a_stop_while_a_heartbeat_waits_is_a_silence(self):
        # A heartbeat under way when the process stopped goes on after
        # it: the stop was no try (a ZooKeeper may have ended the session
        # meanwhile, and the beat fail).
        self.a.join('a')
        self.now += 1000
        self.assertEqual(self.now + 5000, self.beat_through(5000))
        self.assertEqual(self.now, self.a.last_silence())
        self.assertEqual(self.now, self.a.unbroken_since())

    def test_a_stop_and_the_wait_before_it_make_one(self):
        # 1000 s from the last beat to this one, and a stop of 4500: past
        # the lapse bound (5400 s) together.
        self.a.join('a')
        self.now += 1000
        self.assertEqual(self.now + 4500, self.beat_through(4500))

    def test_a_short_stop_in_a_slow_heartbeat_is_none(self):
        # The backend took 6000 s (an outage, not a silence); the process
        # stopped for 60 s of it.
        self.a.join('a')
        self.now += 1000
        self.assertIsNone(self.beat_through(60, hang=6000))
        self.assertIsNone(self.a.last_silence())

    def test_a_write_after_a_silence_is_its_own_gap(self):
        self.a.join('a')
        self.now += 1000
        self.assertFalse(self.a._gap_is_own())  # late, not silent
        self.now += 5000
        self.assertTrue(self.a._gap_is_own())  # silent, a claim's write
        self.a.heartbeat()
        self.assertFalse(self.a._gap_is_own())  # written since

    def test_a_failed_write_makes_the_gap_an_outage(self):
        self.a.join('a')
        self.store.down = True
        self.now += 100
        self.assertRaises(exception.MembershipUnavailable, self.a.heartbeat)
        self.now += 6000  # then silent, too
        self.assertIsNotNone(self.a.last_silence())
        self.assertFalse(self.a._gap_is_own())

    def test_a_new_join_forgets_it(self):
        self.a.join('a')
        self.now += 6000
        self.a.heartbeat()
        self.assertIsNotNone(self.a.last_silence())
        self.a.leave()
        self.assertIsNone(self.a.last_silence())
        self.a.join('a')
        self.assertIsNone(self.a.last_silence())
