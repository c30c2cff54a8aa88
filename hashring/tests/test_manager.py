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

import itertools
import logging
import threading
import time

import fixtures
from tooz import hashring as tooz_hashring

from hashring import exception
from hashring import manager
from hashring.membership import base as membership_base
from hashring.tests import base
from hashring.tests import invariants


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeSource(membership_base.MembershipSource):
    """A membership the test sets directly, counting reads."""

    name = 'fake'

    def __init__(self, **overrides):
        super().__init__(None, **overrides)
        self.data = {}
        self.reads = 0
        self.down = False

    def set(self, group='default', **states):
        self.data[group] = {
            name: membership_base.State(state)
            for name, state in states.items()
        }

    def _read(self, group):
        self.reads += 1
        if self.down:
            raise exception.MembershipUnavailable(self.backend, 'switched off')
        records = [
            membership_base.Record(name, state, 1, {}, None)
            for name, state in self.data.get(group, {}).items()
        ]
        return records, membership_base.utcnow()


class ManagerTestCase(base.TestCase):
    """A manager over a fake source and clock (no tests here)."""

    def setUp(self):
        super().setUp()
        self.source = FakeSource()
        self.source.set(a='up', b='up', c='draining', d='down')
        self.clock = Clock()

    def manager(self, **kwargs):
        kwargs.setdefault('reset_interval', 15)
        kwargs.setdefault('max_stale', 60)
        return manager.RingManager(self.source, clock=self.clock, **kwargs)


class RingManagerTestCase(ManagerTestCase):
    def test_ring_of_up_members(self):
        ring = self.manager().get_ring()
        self.assertEqual({'a': 1, 'b': 1}, dict(ring.members))
        self.assertEqual(1, ring.generation)
        self.assertRegex(ring.fingerprint, '^[0-9a-f]{16}$')

    def test_host_is_added_only_when_not_listed(self):
        self.assertEqual(
            {'a', 'b', 'New'},
            set(self.manager(host='New').get_ring().members),
        )
        # A listed host keeps its state: a draining host stays off.
        self.assertEqual(
            {'a', 'b'}, set(self.manager(host='C').get_ring().members)
        )

    def test_the_fingerprint_is_not_computed_for_a_log_line_not_shown(self):
        # It hashes every point: a refresh must not pay for it unasked.
        self.useFixture(fixtures.FakeLogger('hashring', level=logging.WARNING))
        ring = self.manager().get_ring()
        self.assertIsNone(ring._fingerprint)
        self.assertRegex(ring.fingerprint, '^[0-9a-f]{16}$')

    def test_cached_until_reset_interval(self):
        mgr = self.manager()
        first = mgr.get_ring()
        reads = self.source.reads
        self.source.set(a='up', c='draining', e='up')
        self.clock.now += 14.9
        self.assertIs(first, mgr.get_ring())
        self.assertEqual(reads, self.source.reads)
        self.clock.now += 0.2
        second = mgr.get_ring()
        self.assertEqual({'a': 1, 'e': 1}, dict(second.members))
        self.assertEqual(2, second.generation)
        self.assertEqual(1, first.generation)
        self.assertEqual({'a': 1, 'b': 1}, dict(first.members))

    def test_a_refresh_hashes_only_the_members_that_changed(self):
        mgr = self.manager(partition_exponent=7)
        first = mgr.get_ring()
        self.source.set(a='up', b='up', e='up')
        self.clock.now += 15.1
        second = mgr.get_ring()
        # The points of a and b are the very objects of the first ring.
        kept = {id(p) for p in first._points[: first._count]}
        self.assertEqual(
            2 * 128,
            sum(id(p) in kept for p in second._points[: second._count]),
        )
        fresh = manager.ring_mod.HashRing({'a': 1, 'b': 1, 'e': 1}, 7)
        keys = [f'node-{i}' for i in range(500)]
        self.assertEqual(fresh.map_keys(keys), second.map_keys(keys))
        self.assertEqual(fresh.fingerprint, second.fingerprint)
        invariants.check(second)

    def test_a_refresh_that_replaces_every_member(self):
        # One member replaced by two: the update from the last ring raised
        # StopIteration out of get_ring().
        self.source.set(a='up')
        mgr = self.manager()
        mgr.get_ring()
        self.source.set(b='up', c='up')
        self.clock.now += 15.1
        second = mgr.get_ring()
        fresh = manager.ring_mod.HashRing(['b', 'c'])
        keys = [f'node-{i}' for i in range(500)]
        self.assertEqual(fresh.map_keys(keys), second.map_keys(keys))
        self.assertEqual(fresh.fingerprint, second.fingerprint)

    def test_unchanged_membership_keeps_the_ring(self):
        mgr = self.manager()
        first = mgr.get_ring()
        self.source.set(a='up', b='up', c='down')  # not on the ring either way
        self.assertIs(first, mgr.refresh())
        self.assertEqual(1, mgr.refresh().generation)

    def test_groups_are_separate(self):
        self.source.set('other', x='up')
        mgr = self.manager()
        self.assertEqual({'x': 1}, dict(mgr.get_ring('other').members))
        self.assertEqual({'a': 1, 'b': 1}, dict(mgr.get_ring().members))
        self.assertEqual(1, mgr.get_ring('other').generation)

    def test_empty_group_is_read_twice_then_an_error(self):
        mgr = self.manager()
        self.source.set('dead', p='down', q='forced_down')
        reads = self.source.reads
        err = self.assertRaises(exception.NoMembersError, mgr.get_ring, 'dead')
        self.assertEqual(reads + 2, self.source.reads)
        self.assertIn("'dead'", str(err))
        self.assertIn('2 offline', str(err))
        self.assertEqual(2, err.offline)
        self.assertIsInstance(err, LookupError)
        err = self.assertRaises(
            exception.NoMembersError, mgr.get_ring, 'unknown'
        )
        self.assertIn('0 offline', str(err))

    def test_second_read_finds_members(self):
        mgr = self.manager()
        source = self.source
        real = source._read

        def late(group):
            records, now = real(group)
            if source.reads == 1:
                return [], now
            return records, now

        source._read = late
        self.assertEqual({'a': 1, 'b': 1}, dict(mgr.get_ring().members))

    def test_a_registered_host_joins_only_its_own_rings(self):
        self.source.set('mine', a='up')
        self.source.set('theirs', b='up')
        self.source._me = manager.membership_base.Record(
            'me', manager.membership_base.State.UP, 1, {}, None
        )
        self.source._groups = {'mine'}
        mgr = self.manager(host='me')
        self.assertEqual({'a', 'me'}, set(mgr.get_ring('mine').members))
        self.assertEqual({'b'}, set(mgr.get_ring('theirs').members))

    def test_subscribers(self):
        mgr = self.manager(host='a')
        keys = [f'node-{i}' for i in range(300)]
        changes = []
        mgr.subscribe(changes.append, keys=keys)
        mgr.subscribe(lambda change: 1 / 0)  # logged, ignored
        first = mgr.get_ring()
        self.assertEqual(1, len(changes))
        self.assertIsNone(changes[0].old)
        self.assertIs(first, changes[0].new)
        owned = {k for k, o in zip(keys, first.map_keys(keys)) if o == 'a'}
        self.assertEqual(owned, set(changes[0].gained))
        self.assertTrue(all(v is None for v in changes[0].gained.values()))
        self.source.set(a='up', b='up', e='up')
        self.clock.now += 16
        with self.assertLogs('hashring.manager', 'ERROR'):
            second = mgr.get_ring()
        change = changes[1]
        self.assertIs(first, change.old)
        self.assertIs(second, change.new)
        self.assertTrue(change.lost)
        self.assertEqual({'e'}, set(change.lost.values()))
        self.assertEqual({}, change.gained)
        for key, new_owner in change.lost.items():
            self.assertEqual('a', first.get_node(key))
            self.assertEqual(new_owner, second.get_node(key))

    def test_subscriber_keys_can_be_a_callable(self):
        mgr = self.manager(host='b')
        current = ['x']
        seen = []
        mgr.subscribe(seen.append, keys=lambda: list(current))
        current.extend(f'k{i}' for i in range(100))
        ring = mgr.get_ring()
        expected = {k for k in current if ring.get_node(k) == 'b'}
        self.assertEqual(expected, set(seen[0].gained))

    def test_a_group_that_walks_replicas_gets_walk_tables_on_refresh(self):
        # The refreshing thread makes the new ring's walk tables, so that
        # no lookup thread does on its first walk.
        mgr = self.manager()
        first = mgr.get_ring()
        self.assertIsNone(first._walks)
        first.get_nodes('k', replicas=2)
        self.source.set(a='up', b='up', e='up')
        self.clock.now += 16
        second = mgr.get_ring()
        self.assertIsNot(first, second)
        self.assertIsNotNone(second._walks)
        theirs = tooz_hashring.HashRing(['a', 'b', 'e'], 2**5)
        for key in (f'node-{i}' for i in range(500)):
            self.assertEqual(
                base.tooz_walk(theirs, key.encode(), replicas=2),
                second.get_nodes(key, replicas=2),
            )
        # A ring built anew, after a change of exponent, makes them too.
        mgr.reconfigure(partition_exponent=3)
        third = mgr.get_ring()
        self.assertEqual(3, third.partition_exponent)
        self.assertIsNotNone(third._walks)

    def test_a_group_that_never_walks_replicas_makes_no_walk_tables(self):
        mgr = self.manager()
        first = mgr.get_ring()
        first.get_nodes('k')
        self.source.set(a='up', b='up', e='up')
        self.clock.now += 16
        second = mgr.get_ring()
        self.assertIsNot(first, second)
        self.assertIsNone(second._walks)

    def test_hot_path_takes_no_lock(self):
        mgr = self.manager()
        ring = mgr.get_ring()
        got = []
        with mgr._lock:
            worker = threading.Thread(
                target=lambda: got.append(mgr.get_ring())
            )
            worker.start()
            worker.join(5)
        self.assertEqual([ring], got)

    def test_threads_see_whole_rings(self):
        mgr = self.manager(reset_interval=0)
        keys = [f'n{i}' for i in range(200)]
        # One member leaves at each step: more at once would be presumed
        # an outage (hashring.membership.liveness).
        memberships = [
            ('a', 'b', 'c', 'd'),
            ('a', 'b', 'c', 'e'),
            ('a', 'b', 'd', 'e'),
        ]
        expected = {}
        for names in memberships:
            ring = manager.ring_mod.HashRing(dict.fromkeys(names, 1))
            expected[ring.fingerprint] = ring.map_keys(keys)
        sequence = itertools.cycle(memberships)

        def change():
            self.source.set(**dict.fromkeys(next(sequence), 'up'))

        def look():
            # 300 reads, and on until the rings changed under them (on a
            # loaded machine the changing thread may have had few turns).
            last, reads = 0, 0
            deadline = time.monotonic() + 30
            while reads < 300 or (last <= 3 and time.monotonic() < deadline):
                reads += 1
                ring = mgr.get_ring()
                if ring.generation < last:
                    raise AssertionError('generation went back')
                last = ring.generation
                if ring.map_keys(keys) != expected[ring.fingerprint]:
                    raise AssertionError('torn ring')

        self.assertEqual([], base.race(change, look, readers=6))
        self.assertGreater(mgr.get_ring().generation, 3)

    def test_bad_arguments(self):
        for kwargs, message in (
            ({'reset_interval': -1}, 'reset_interval -1'),
            ({'max_stale': -5}, 'max_stale -5'),
            ({'max_stale': float('nan')}, 'max_stale must be finite'),
            (
                {'reset_interval': '5'},
                "reset_interval must be a number, not '5'",
            ),
            ({'partition_exponent': 40}, 'partition_exponent'),
            ({'hash_function': 'shake_128'}, "'shake_128'"),
            ({'host': ''}, 'a member id is required'),
        ):
            with self.subTest(kwargs=kwargs):
                err = self.assertRaises(
                    exception.HashRingError,
                    manager.RingManager,
                    self.source,
                    **kwargs,
                )
                self.assertIn(message, str(err))

    def test_options_from_configuration(self):
        mgr = manager.RingManager(self.source)
        self.assertEqual(15.0, mgr.reset_interval)
        self.assertEqual(300.0, mgr.max_stale)
        self.assertEqual(5, mgr.partition_exponent)
        self.assertEqual('md5', mgr.hash_function)


class NotificationOrderTestCase(base.TestCase):
    def test_changes_arrive_in_generation_order_exactly_once(self):
        # Many threads refresh while the membership changes; a subscriber
        # that applies gained/lost in delivery order must end right.
        source = FakeSource()
        names = [f'm{i}' for i in range(6)]
        source.set(**dict.fromkeys(names[:3], 'up'))
        mgr = manager.RingManager(source, host='m0', reset_interval=0)
        keys = [f'k{i}' for i in range(500)]
        owned = set()
        seen = []
        running = []
        overlaps = []

        def apply(change):
            running.append(change)
            if len(running) > 1:
                overlaps.append(change.new.generation)
            # Slow, as a real subscriber is, so that other refreshes pile
            # up while it runs.
            time.sleep(0.002)
            seen.append(change.new.generation)
            owned.difference_update(change.lost)
            owned.update(change.gained)
            running.remove(change)

        mgr.subscribe(apply, keys)
        step = itertools.count()

        def churn():
            i = next(step)
            up = {names[0], names[1 + i % 5], names[1 + (i + 1) % 5]}
            source.set(**dict.fromkeys(sorted(up), 'up'))

        def look():
            for _ in range(100):
                mgr.get_ring()

        self.assertEqual([], base.race(churn, look, readers=6))
        ring = mgr.refresh()
        self.assertEqual([], overlaps)
        self.assertEqual(sorted(seen), seen)
        self.assertEqual(len(seen), len(set(seen)))
        self.assertEqual(list(range(1, ring.generation + 1)), seen)
        self.assertEqual(
            {k for k, o in zip(keys, ring.map_keys(keys)) if o == 'm0'}, owned
        )

    def test_not_a_source(self):
        for bad in (None, 'sql', object()):
            err = self.assertRaises(
                exception.InvalidArgumentError, manager.RingManager, bad
            )
            self.assertIn('needs a MembershipSource', str(err))
