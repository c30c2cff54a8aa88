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

import os
import threading
import time

import fixtures

from hashring import exception
from hashring import manager
from hashring import membership
from hashring.tests import base
from hashring.tests import test_manager


class UpkeepTestCase(test_manager.ManagerTestCase):
    def test_reconfigure_rebuilds_the_rings_at_the_next_call(self):
        mgr = self.manager()
        first = mgr.get_ring()
        mgr.reconfigure(partition_exponent=6, hash_function='sha256')
        second = mgr.get_ring()
        self.assertEqual(dict(first.members), dict(second.members))
        self.assertEqual(6, second.partition_exponent)
        self.assertEqual('sha256', second.hash_function)
        self.assertEqual(first.generation + 1, second.generation)
        self.assertNotEqual(first.fingerprint, second.fingerprint)
        self.assertIs(second, mgr.get_ring())
        # A bad value names itself, and changes nothing.
        for bad in ({'partition_exponent': 99}, {'hash_function': 'crc'}):
            error = self.assertRaises(
                exception.InvalidArgumentError, mgr.reconfigure, **bad
            )
            self.assertIn(str(next(iter(bad.values()))), str(error))
        self.assertEqual(6, mgr.partition_exponent)
        self.assertEqual('sha256', mgr.hash_function)

    def test_outage_serves_the_last_ring_then_fails(self):
        mgr = self.manager()
        good = mgr.get_ring()
        self.source.down = True
        self.clock.now += 20
        with self.assertLogs('hashring.manager', 'WARNING') as logs:
            self.assertIs(good, mgr.get_ring())
        self.assertIn('membership is unavailable', logs.output[0])
        self.assertIn('20s old', logs.output[0])
        # Not retried on every call during the outage.
        reads = self.source.reads
        mgr.get_ring()
        self.assertEqual(reads, self.source.reads)
        self.clock.now += 45
        err = self.assertRaises(exception.RingUnavailable, mgr.get_ring)
        self.assertIn('longer than max_stale (60s)', str(err))
        self.assertIsInstance(err.cause, exception.MembershipUnavailable)
        self.source.down = False
        self.assertEqual(good.fingerprint, mgr.get_ring().fingerprint)

    def test_outage_before_any_ring(self):
        self.source.down = True
        err = self.assertRaises(
            exception.RingUnavailable, self.manager().get_ring
        )
        self.assertIn('could not be read', str(err))

    def test_alive(self):
        mgr = self.manager(host='me')
        self.assertEqual({'a', 'b', 'c', 'me'}, mgr.alive())

    def test_alive_through_a_reset_on_another_thread(self):
        # A reset() between alive()'s get_ring() and its read of the
        # entry raised KeyError, in every filter call of that moment.
        mgr = self.manager(host='me')
        get_ring = mgr.get_ring
        resets = []

        def get_ring_then_reset(group=None):
            ring = get_ring(group)
            if len(resets) < 2:
                resets.append(group)
                mgr.reset()
            return ring

        mgr.get_ring = get_ring_then_reset
        self.assertEqual({'a', 'b', 'c', 'me'}, mgr.alive())
        self.assertEqual(2, len(resets))
        resets.clear()
        mgr.get_ring = lambda group=None: mgr.reset()
        err = self.assertRaises(exception.RingUnavailable, mgr.alive)
        self.assertIn('reset at every read', str(err))

    def test_stats_are_what_was_last_seen(self):
        mgr = self.manager()
        self.assertEqual(
            {
                'states': {},
                'rebuilds': 0,
                'outages': 0,
                'stale_seconds': 0.0,
            },
            mgr.stats(),
        )
        mgr.get_ring()
        reads = self.source.reads
        self.assertEqual(
            {
                'states': {'up': 2, 'draining': 1, 'down': 1},
                'rebuilds': 1,
                'outages': 0,
                'stale_seconds': 0.0,
            },
            mgr.stats(),
        )
        # Nothing is read for them.
        self.assertEqual(reads, self.source.reads)
        # An outage: counted once, and the ring's age while it lasts.
        self.source.down = True
        for step in (20, 10):
            self.clock.now += step
            mgr.get_ring()
        stats = mgr.stats()
        self.assertEqual(1, stats['outages'])
        self.assertEqual(30.0, stats['stale_seconds'])
        self.source.down = False
        self.source.set(a='up', b='up', c='draining', d='down', e='up')
        self.clock.now += 20
        mgr.get_ring()
        self.assertEqual(
            {
                'states': {'up': 3, 'draining': 1, 'down': 1},
                'rebuilds': 2,
                'outages': 1,
                'stale_seconds': 0.0,
            },
            mgr.stats(),
        )

    def test_reset_reads_again_and_generations_carry_on(self):
        mgr = self.manager()
        first = mgr.get_ring()
        reads = self.source.reads
        mgr.reset()
        again = mgr.get_ring()
        self.assertEqual(reads + 1, self.source.reads)
        self.assertIsNot(first, again)
        self.assertEqual(first.fingerprint, again.fingerprint)
        self.assertEqual(first.generation + 1, again.generation)

    def test_after_a_change_subscribers_and_balance_run_unlocked(self):
        mgr = self.manager(max_peak_to_mean=1.01)
        seen = []

        def check(group, ring, bound, logged):
            # The lock is free: a balance check builds rings.
            seen.append(
                ('balance', group, ring.generation, mgr._lock.locked())
            )

        self.useFixture(fixtures.MockPatch('hashring.balance.check', check))
        mgr.subscribe(
            lambda change: seen.append(
                (
                    'change',
                    change.group,
                    change.new.generation,
                    mgr._lock.locked(),
                )
            )
        )
        mgr.get_ring()
        self.source.set(a='up', b='up', c='up')
        mgr.refresh()
        mgr.get_rings(['default'])
        self.assertEqual(
            [
                ('change', 'default', 1, False),
                ('balance', 'default', 1, False),
                ('change', 'default', 2, False),
                ('balance', 'default', 2, False),
            ],
            seen,
        )


class WaitReadyTestCase(base.TestCase):
    """The readiness gate, over a real file source that peers join."""

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'm')
        self.reader = self.source()
        self.reader.create()

    def source(self):
        # No test here judges a death: on a loaded machine a heartbeat
        # thread starved for a second made worker-1 look dead (0 of 2).
        return self.file_source(self.path, dead_after=60.0)

    def join_later(self, names, delay):
        def join():
            time.sleep(delay)
            for name in names:
                self.source().join(name)

        thread = threading.Thread(target=join, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)

    def test_waits_for_peers(self):
        mgr = manager.RingManager(self.reader)
        self.join_later(['Worker-1', 'worker-2', 'worker-3'], 0.3)
        start = time.monotonic()
        ring = mgr.wait_ready(min_members=3, timeout=20)
        self.assertLess(time.monotonic() - start, 20)
        self.assertEqual(
            {'Worker-1', 'worker-2', 'worker-3'}, set(ring.members)
        )
        self.assertIs(ring, mgr.get_ring())

    def test_times_out_naming_what_it_has(self):
        self.source().join('worker-1')
        mgr = manager.RingManager(self.reader)
        start = time.monotonic()
        err = self.assertRaises(
            exception.RingNotReady, mgr.wait_ready, min_members=2, timeout=0.5
        )
        self.assertLess(time.monotonic() - start, 5)
        self.assertEqual(1, err.members)
        self.assertIsInstance(err, TimeoutError)
        self.assertIsInstance(err, exception.RingUnavailable)
        self.assertIn('1 of the 2 members needed after 0.5s', str(err))

    def test_says_how_long_a_read_in_flight_made_it_wait(self):
        # A read of a frozen backend is bounded by read_timeout, not by
        # the wait's timeout: the message said "after 0.1s" after 1 s.
        def frozen():
            time.sleep(5)
            return ['a']

        source = membership.load('callable', function=frozen, read_timeout=1)
        self.addCleanup(source.close)
        mgr = manager.RingManager(source)
        err = self.assertRaises(
            exception.RingNotReady, mgr.wait_ready, timeout=0.1
        )
        waited = float(str(err).split('(waited ')[1].split('s)')[0])
        self.assertGreaterEqual(waited, 1.0)
        self.assertIn('needed after 0.1s', str(err))
        self.assertIn('no answer within 1s', str(err))

    def test_an_outage_is_waited_through_and_reported(self):
        os.remove(self.path)
        mgr = manager.RingManager(self.reader)
        err = self.assertRaises(
            exception.RingNotReady, mgr.wait_ready, timeout=0.3
        )
        self.assertEqual(0, err.members)
        self.assertIn('does not exist', str(err))
        self.assertIsInstance(err.cause, exception.RingUnavailable)

    def test_bad_arguments(self):
        mgr = manager.RingManager(self.reader)
        for kwargs, bad in (
            ({'min_members': 0}, '0'),
            ({'min_members': True}, 'True'),
            ({'timeout': -1}, '-1'),
            ({'timeout': float('nan')}, 'nan'),
        ):
            with self.subTest(**kwargs):
                err = self.assertRaises(
                    exception.InvalidArgumentError, mgr.wait_ready, **kwargs
                )
                self.assertIn(bad, str(err))
