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

"""The liveness judge, on a backend whose clock the test moves.

Heartbeats are driven by hand (the threads' interval is longer than any
test), so every step of an outage is exact.  The same promises are tested
against real servers, frozen and wiped, in test_sql, test_tooz and
test_tooz_zookeeper.
"""

import datetime

from hashring import exception
from hashring import manager
from hashring.membership import base
from hashring.membership import liveness
from hashring.tests import base as test_base
from hashring.tests.membership import memory

#: Seconds; the threads never beat on their own within a test.
SLOW = {'heartbeat_interval': 10.0, 'dead_after': 60.0, 'read_timeout': 1.0}


class Backend:
    """Three members and a reader on a backend whose clock the test moves."""

    timing = SLOW

    def setUp(self):
        super().setUp()
        self.store = memory.MemoryBackend()
        self.members = {}
        for name in ('a', 'b', 'c'):
            source = self.source()
            source.join(name)
            self.members[name] = source
        self.reader = self.source()
        self.assertEqual({'a', 'b', 'c'}, set(self.reader.get_members().up()))

    def source(self):
        source = memory.MemorySource(self.store, **self.timing)
        self.addCleanup(source.close)
        return source

    def advance(self, seconds):
        self.store.clock += datetime.timedelta(seconds=seconds)

    def beat(self, *names):
        for name in names:
            self.members[name].heartbeat()

    def outage(self, seconds, reader=None):
        """Take the backend away for seconds; members' beats fail."""
        self.store.down = True
        for reader_ in (self.reader, reader):
            if reader_ is not None:
                self.assertRaises(
                    exception.MembershipUnavailable, reader_.get_members
                )
        for name in self.members:
            self.assertRaises(exception.MembershipUnavailable, self.beat, name)
        self.advance(seconds)
        self.store.down = False

    def up(self, reader=None):
        return set((reader or self.reader).get_members().up())

    def assert_c_down(self):
        """Check that the reader judges c dead, and a and b up."""
        snapshot = self.reader.get_members()
        self.assertEqual(base.State.DOWN, snapshot.members['c'].state)
        self.assertEqual({'a', 'b'}, set(snapshot.up()))


class OutageTestCase(Backend, test_base.TestCase):
    def test_an_outage_seen_by_the_reader_kills_no_one(self):
        generation = self.reader.get_members().generation
        self.outage(90)
        snapshot = self.reader.get_members()
        self.assertEqual({'a', 'b', 'c'}, set(snapshot.up()))
        self.assertEqual({'a', 'b', 'c'}, snapshot.presumed)
        # The ring does not change: the same generation.
        self.assertEqual(generation, snapshot.generation)

    def test_a_crash_during_the_outage_is_found_after_dead_after(self):
        self.outage(90)
        # The reader's outage ends at its first read after it: a manager
        # reads within one refresh.
        self.assertEqual({'a', 'b', 'c'}, self.up())
        self.beat('a', 'b')  # c crashed during the outage
        for _ in range(5):
            self.advance(10)
            self.beat('a', 'b')
            self.assertEqual({'a', 'b', 'c'}, self.up())
        self.advance(11)
        self.beat('a', 'b')
        # 61 reachable seconds since the backend came back, 0 before it.
        self.assert_c_down()

    def test_a_reader_started_after_the_outage_learns_of_it(self):
        self.outage(90)
        # Before anyone has written again: all silent together.
        late = self.source()
        self.assertEqual({'a', 'b', 'c'}, self.up(late))
        # a published the outage with its first heartbeat after it; b and
        # c have not beaten yet and stay.
        self.beat('a')
        fresh = self.source()
        snapshot = fresh.get_members()
        self.assertEqual({'a', 'b', 'c'}, set(snapshot.up()))
        self.assertEqual({'b', 'c'}, snapshot.presumed)
        record = self.store.groups['default']['a']
        self.assertEqual(90, (record.outage[1] - record.outage[0]).seconds)
        self.advance(5)
        self.beat('b')  # b publishes 95 s: it retried 5 s after the end
        self.advance(56)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b', 'c'}, self.up(self.source()))
        # dead_after of reachable time after the last published outage.
        self.advance(5)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b'}, self.up(self.source()))

    def cut_off_a(self, c_until, read=False):
        """Cut a alone off for 200 s, while b beats on; c until c_until.

        :param read: whether the reader reads every 10 s meanwhile.
        """
        for second in range(10, 201, 10):
            self.advance(10)
            self.store.down = True
            self.assertRaises(exception.MembershipUnavailable, self.beat, 'a')
            self.store.down = False
            self.beat('b')
            if second <= c_until:
                self.beat('c')
            if read:
                self.up()

    def test_a_member_that_wrote_during_a_partial_outage_gets_no_respite(self):
        # Only a is cut off; b and c write on; c crashes 50 s in.
        self.cut_off_a(50)
        self.members['a'].heartbeat()  # publishes 200 s of outage
        snapshot = self.source().get_members()
        self.assertEqual(base.State.DOWN, snapshot.members['c'].state)
        self.assertEqual({'a', 'b'}, set(snapshot.up()))

    def test_a_span_the_reader_saw_written_through_explains_no_crash(self):
        # a alone is cut off for 200 s while b writes on and the reader
        # reads; c crashes 20 s in, within the silences a's span could
        # explain (three intervals from its start).
        self.cut_off_a(20, read=True)
        self.assertEqual({'b'}, self.up())
        self.members['a'].heartbeat()  # publishes 200 s of outage
        self.assert_c_down()
        # A reader that saw no write within it takes it for an outage.
        self.assertEqual({'a', 'b', 'c'}, self.up(self.source()))

    def test_a_beat_within_a_known_outage_refutes_no_later_one(self):
        # b comes back first, within the outage the reader saw; a 9 s
        # later, publishing 99 s.  b's first beat is no sign that the
        # backend was writable within a's span: c, which crashed as the
        # outage began, is judged dead_after after a's span, not b's.
        self.outage(90)
        self.beat('b')
        self.assertEqual({'a', 'b', 'c'}, self.up())
        self.advance(9)
        self.beat('a')
        for _ in range(5):
            self.advance(10)
            self.beat('a', 'b')
            self.assertEqual({'a', 'b', 'c'}, self.up())
        self.advance(9)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b', 'c'}, self.up())  # 59 s after a's
        self.advance(2)
        self.assertEqual({'a', 'b'}, self.up())

    def test_members_silenced_together_all_stay_while_the_last_is_within(
        self,
    ):
        # They beat an interval apart; then nobody can write while reads
        # work (a frozen lock holder, a table locked against writes).  At
        # 61 s a passed dead_after and c has not: a is not dead for that.
        self.beat('a')
        self.advance(5)
        self.beat('b')
        self.advance(4)
        self.beat('c')
        self.advance(52)
        snapshot = self.reader.get_members()
        self.assertEqual({'a', 'b', 'c'}, set(snapshot.up()))
        self.assertEqual({'a'}, snapshot.presumed)
        # c crashed: once a and b write again, the silence everywhere is
        # over, and c is judged by its own.  (These beats publish no
        # outage: this backend does so only after a failed one.)
        self.advance(30)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b'}, self.up())

    def test_a_lone_member_that_falls_silent_is_a_crash(self):
        self.store.groups['solo'] = {}
        solo = self.source()
        solo.join('x', 'solo')
        solo._stop_heartbeat()
        solo._me = None
        self.advance(61)
        snapshot = self.reader.get_members('solo')
        self.assertEqual(base.State.DOWN, snapshot.members['x'].state)

    def test_a_wiped_backend_kills_no_one_and_they_rejoin(self):
        self.store.groups.clear()
        snapshot = self.reader.get_members()
        self.assertEqual({'a', 'b', 'c'}, set(snapshot.up()))
        self.assertEqual({'a', 'b', 'c'}, snapshot.presumed)
        self.advance(5)
        self.beat('a', 'b')  # they find their records gone and rejoin
        snapshot = self.reader.get_members()
        self.assertEqual({'a', 'b', 'c'}, set(snapshot.up()))
        self.assertEqual({'c'}, snapshot.presumed)
        self.assertIn('a', self.store.groups['default'])
        self.advance(56)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b'}, self.up())
        self.assertNotIn('c', self.reader.get_members())

    def wipe_and_rejoin(self, reader, *names):
        """Add d, empty the backend, let names rejoin; return reader's view."""
        self.members['d'] = self.source()
        self.members['d'].join('d')
        self.assertEqual({'a', 'b', 'c', 'd'}, self.up(reader))
        self.store.groups.clear()
        self.advance(1)
        self.beat(*names)  # they find their records gone and rejoin
        return reader.get_members()

    def test_a_read_without_the_readers_own_record_kills_no_one(self):
        # Two of four rejoined before a's first read after the wipe: not
        # most vanished, but a's own record went with the others.
        snapshot = self.wipe_and_rejoin(self.members['a'], 'b', 'c')
        self.assertEqual({'a', 'b', 'c', 'd'}, set(snapshot.up()))
        self.assertEqual({'a', 'd'}, snapshot.presumed)

    def test_a_read_after_its_own_record_was_forgotten_kills_no_one(self):
        # a's heartbeat found its record gone and rejoined, as b and c
        # did, before its read: one of four vanished, with a's own.
        snapshot = self.wipe_and_rejoin(self.members['a'], 'a', 'b', 'c')
        self.assertEqual({'a', 'b', 'c', 'd'}, set(snapshot.up()))
        self.assertEqual({'d'}, snapshot.presumed)
        # d rejoins: judged as any member again.
        self.beat('d')
        self.assertEqual(frozenset(), self.members['a'].get_members().presumed)

    def test_one_vanished_member_of_four_is_gone_for_another_reader(self):
        # The same read by a reader whose own record was not lost: one of
        # four vanishing is a departure.
        snapshot = self.wipe_and_rejoin(self.reader, 'a', 'b', 'c')
        self.assertEqual({'a', 'b', 'c'}, set(snapshot.up()))
        self.assertNotIn('d', snapshot)

    def test_a_read_that_waited_out_a_wipe_kills_no_one(self):
        # The same wipe, within a read that no failure ended: its client
        # retried until the backend was back (as redis-py does for about
        # 3.6 s).  A read slower than two intervals (and a second) is an
        # outage.
        reader = self.reader
        reader._clock = lambda: self.store.clock.timestamp()
        self.members['d'] = self.source()
        self.members['d'].join('d')
        self.assertEqual({'a', 'b', 'c', 'd'}, self.up())
        read = reader._read_groups

        def waited(groups):
            self.store.groups.clear()
            self.advance(21)  # past the slack, 20 s
            self.beat('a', 'b', 'c')  # they rejoin as it comes back
            return read(groups)

        self.patch(reader, '_read_groups', waited)
        snapshot = reader.get_members()
        self.assertEqual({'a', 'b', 'c', 'd'}, set(snapshot.up()))
        self.assertEqual({'d'}, snapshot.presumed)

    def test_a_slow_write_opens_an_outage_as_a_failed_one_does(self):
        a = self.members['a']
        a._clock = lambda: self.store.clock.timestamp()
        self.assertEqual({'a', 'b', 'c'}, self.up(a))
        self.advance(5)
        self.beat('b', 'c')
        write = a._register

        def waited(group, record):
            # Its client retried through an outage, in which c's record
            # expired (one of three: no mass disappearance).
            self.advance(25)
            del self.store.groups[group]['c']
            write(group, record)

        self.patch(a, '_register', waited)
        a.drain()  # its state's write
        self.beat('b')
        snapshot = a.get_members()
        self.assertEqual({'b', 'c'}, set(snapshot.up()))
        self.assertEqual({'c'}, snapshot.presumed)

    def test_a_graceful_leave_is_seen_at_once(self):
        self.members['c'].leave()
        self.assertEqual({'a', 'b'}, self.up())
        self.assertEqual(frozenset(), self.reader.get_members().presumed)

    def test_an_outage_never_changes_a_managers_ring(self):
        ring_manager = manager.RingManager(
            self.reader, reset_interval=0, max_stale=300
        )
        ring = ring_manager.get_ring()
        self.store.down = True
        self.assertIs(ring, ring_manager.get_ring())  # served stale
        self.advance(120)
        self.store.down = False
        self.assertIs(ring, ring_manager.get_ring())
        self.beat('a', 'b', 'c')
        self.assertIs(ring, ring_manager.get_ring())


class RecoveryTestCase(Backend, test_base.TestCase):
    """dead_after shorter than a call may take (read_timeout)."""

    timing = {'heartbeat_interval': 1.0, 'dead_after': 5.0, 'read_timeout': 20}

    def test_a_member_has_read_timeout_after_an_outage_to_write(self):
        # c's heartbeat sent as the backend went away waits out its 20 s:
        # it writes again 22 s after the backend's return at the latest.
        self.outage(30)
        self.assertEqual({'a', 'b', 'c'}, self.up())
        for _ in range(21):
            self.advance(1)
            self.beat('a', 'b')
            self.assertEqual({'a', 'b', 'c'}, self.up())
        self.beat('c')  # 21 s after: in time
        self.advance(5)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b', 'c'}, self.up())

    def test_a_crash_during_the_outage_is_found_after_the_recovery(self):
        self.outage(30)
        self.assertEqual({'a', 'b', 'c'}, self.up())
        self.beat('a', 'b')  # c crashed during the outage
        self.advance(21.5)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b', 'c'}, self.up())
        self.advance(1)
        self.beat('a', 'b')
        # 22.5 s since the backend came back: read_timeout and two
        # intervals, more than dead_after's 5.
        self.assert_c_down()

    def test_a_vanished_member_has_the_recovery_too(self):
        self.store.groups.clear()  # a wiped backend
        self.assertEqual({'a', 'b', 'c'}, self.up())
        self.advance(1)
        self.beat('a', 'b')  # they rejoin; c's call is cut off
        self.c_kept_then_gone(20, 2)

    def c_kept_then_gone(self, kept, gone):
        """Check c stays after kept more seconds, and is gone after gone.

        a and b beat on at each step; c's record vanished with the
        backend's, and c never writes again.
        """
        self.advance(kept)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b', 'c'}, self.up())
        self.advance(gone)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b'}, self.up())

    def two_outages(self):
        """An outage of 30 s; the records lost 10 s after; a and b back.

        c's call, cut off by the first outage, waits out its 20 s; the
        second (a mass disappearance) comes before c could write.  c was
        presumed up, not heard of, as it began: the outages chain.
        """
        self.outage(30)
        self.assertEqual({'a', 'b', 'c'}, self.up())
        self.beat('a', 'b')
        self.assertEqual({'a', 'b', 'c'}, self.up())  # a and b heard of
        self.advance(10)
        self.store.groups.clear()
        self.assertEqual({'a', 'b', 'c'}, self.up())
        self.advance(1)
        self.beat('a', 'b')  # they rejoin

    def test_an_outage_right_after_another_keeps_its_members(self):
        self.two_outages()
        # 23 s after the first outage: its recovery alone would be over.
        self.advance(12)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b', 'c'}, self.up())
        self.beat('c')  # back, 22 s after its call's deadline
        self.assertEqual({'a', 'b', 'c'}, self.up())

    def test_a_crash_before_two_outages_is_found_after_the_last(self):
        self.two_outages()
        # Gone 22 s after the second outage ended (the read that saw it).
        self.c_kept_then_gone(20, 2)

    def test_a_reader_out_since_before_an_outage_keeps_those_it_went_with(
        self,
    ):
        # a reads, then runs no call for 4 s (a pause, or a quiet spell)
        # while b and c beat; its next call fails in the outage.  Its
        # first read after is the earliest news it has: what it missed
        # went silent with the backend, not before it.
        a = self.members['a']
        a._clock = lambda: self.store.clock.timestamp()
        self.assertEqual({'a', 'b', 'c'}, self.up(a))
        self.advance(4)
        self.beat('b', 'c')
        self.outage(30, reader=a)
        self.beat('a')  # a's own write (its span explains nobody else)
        self.assertEqual({'a', 'b', 'c'}, self.up(a))
        self.beat('b')  # c crashed in the outage
        self.advance(22.5)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b'}, self.up(a))

    def test_a_member_silent_before_the_outage_is_not_saved(self):
        # c fell silent long before: the outage explains nothing of it.
        self.advance(3)
        self.beat('a', 'b')
        self.advance(3)
        self.beat('a', 'b')
        self.assertEqual({'a', 'b'}, self.up())
        self.outage(30)
        self.assertEqual({'a', 'b'}, self.up())


class BlindSpanTestCase(test_base.TestCase):
    def test_the_first_failure_bounds_the_silences_it_explains(self):
        clock = [0.0]
        judge = liveness.Judge(5, 1, 20, clock=lambda: clock[0])
        t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        s = datetime.timedelta(seconds=1)
        judge.reached(t)
        clock[0] = 4.0
        judge.unreachable()  # the reader's first call after 4 s fails
        clock[0] = 30.0
        judge.unreachable()
        clock[0] = 34.0
        judge.reached(t + 34 * s)
        heard = {
            'a': (None, t + 34 * s),  # the reader's own member wrote
            'c': (None, t + 4 * s),  # heard before the failure
            'd': (None, t + 5 * s),  # heard after: its silence is its own
        }
        verdict = judge.judge('g', t + 34 * s, heard)
        self.assertEqual(frozenset({'c'}), verdict.presumed)
        self.assertEqual(frozenset({'d'}), verdict.dead)

    def test_a_call_late_by_less_than_a_second_is_no_outage(self):
        t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        s = datetime.timedelta(seconds=1)
        heard = {'c': (None, t)}  # c heartbeat as the call began
        verdicts = []
        for took in (0.5, 1.5):
            clock = [0.0]
            judge = liveness.Judge(1, 0.1, 1, clock=lambda: clock[0])
            judge.reached(t)
            clock[0] = took
            judge.took(0.0)  # a slow fsync, then a hidden outage
            judge.reached(t + took * s)
            verdicts.append(judge.judge('g', t + 1.6 * s, heard))
        self.assertEqual(frozenset({'c'}), verdicts[0].dead)
        self.assertEqual(frozenset({'c'}), verdicts[1].presumed)
