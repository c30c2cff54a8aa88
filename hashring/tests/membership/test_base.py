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

from oslo_config import cfg

from hashring import exception
from hashring import membership
from hashring.membership import base
from hashring.membership import static
from hashring import opts
from hashring.tests import base as test_base
from hashring.tests.membership import contract


class MemoryBackend:
    """A stand-in backend shared by the MemorySources of one test."""

    def __init__(self):
        self.groups = {}
        self.down = False
        self.clock = base.utcnow()


class MemorySource(base.MembershipSource):
    """A driver over MemoryBackend, to test the base class's logic."""

    name = 'memory'

    def __init__(self, backend, **overrides):
        super().__init__(None, **overrides)
        self.store = backend

    def _check(self):
        if self.store.down:
            raise exception.MembershipUnavailable(self.backend, 'down')

    def _read(self, group):
        self._check()
        return list(self.store.groups.get(group, {}).values()), (
            self.store.clock
        )

    def _register(self, group, record):
        self._check()
        self.store.groups.setdefault(group, {})[record.id] = base.Record(
            record.id,
            record.state,
            record.weight,
            record.attributes,
            self.store.clock,
        )

    def _beat(self, groups, record):
        self._check()
        lost = []
        for group in groups:
            old = self.store.groups.get(group, {}).get(record.id)
            if old is None:
                lost.append(group)
            else:
                self.store.groups[group][record.id] = base.Record(
                    old.id,
                    old.state,
                    old.weight,
                    old.attributes,
                    self.store.clock,
                )
        return lost

    def _unregister(self, group, member_id):
        self._check()
        self.store.groups.get(group, {}).pop(member_id, None)


class CanonicalIdTestCase(test_base.TestCase):
    def test_canonical(self):
        for name, canon in (
            ('Compute-1', 'compute-1'),
            ('  host.example.ORG\n', 'host.example.org'),
            ('Cafe\u0301', 'caf\u00e9'),
            ('caf\u00e9', 'caf\u00e9'),
        ):
            self.assertEqual(canon, membership.canonical_id(name))

    def test_bad_ids(self):
        for name in ('', '   ', None, 5, b'host', 'a\x00b', 'x' * 256):
            with self.subTest(name=name):
                err = self.assertRaises(
                    exception.InvalidMemberError, membership.canonical_id, name
                )
                self.assertIn(repr(name)[:20], str(err))


class SnapshotTestCase(test_base.TestCase):
    def test_up_offline_and_generation(self):
        members = {
            m.id: m
            for m in (
                base.Member('a', base.State.UP, 2),
                base.Member('b', base.State.DRAINING),
                base.Member('c', base.State.DOWN),
                base.Member('d', base.State.FORCED_DOWN),
                base.Member('e', base.State.DISABLED),
            )
        }
        snap = base.Snapshot('g', members, base.generation_of(members), None)
        self.assertEqual({'a': 2}, snap.up())
        self.assertEqual(4, snap.offline())
        self.assertEqual(5, len(snap))
        self.assertIn('b', snap)
        self.assertEqual(['a', 'b', 'c', 'd', 'e'], [m.id for m in snap])
        changed = dict(members, a=base.Member('a', base.State.UP, 3))
        self.assertNotEqual(snap.generation, base.generation_of(changed))
        self.assertEqual(snap.generation, base.generation_of(dict(members)))

    def test_frozen(self):
        member = base.Member('a', base.State.UP)
        self.assertRaises(AttributeError, setattr, member, 'weight', 2)


class LoadTestCase(test_base.TestCase):
    def test_unknown_driver_lists_the_installed_ones(self):
        err = self.assertRaises(
            exception.DriverNotFound, membership.load, 'nope'
        )
        self.assertIn("'nope'", str(err))
        for name in ('static', 'file', 'sql', 'tooz'):
            self.assertIn(name, err.available)
        self.assertIsInstance(err, ValueError)

    def test_driver_errors_are_not_hidden(self):
        err = self.assertRaises(
            exception.InvalidArgumentError,
            membership.load,
            'static',
            heartbeat_interval=10,
            dead_after=15,
        )
        self.assertIn('dead_after (15s) must be at least twice', str(err))
        err = self.assertRaises(
            exception.InvalidArgumentError, membership.load, 'file'
        )
        self.assertIn('membership_file', str(err))
        err = self.assertRaises(
            exception.InvalidArgumentError,
            membership.load,
            'static',
            no_such_option=1,
        )
        self.assertIn('no_such_option', str(err))

    def test_driver_from_configuration(self):
        conf = cfg.ConfigOpts()
        opts.register_opts(conf)
        conf([], default_config_files=[])
        conf.set_override('membership_driver', 'static', 'hashring')
        conf.set_override('members', ['a', 'B:2'], 'hashring')
        source = membership.load(conf=conf)
        self.assertIsInstance(source, static.StaticSource)
        self.assertEqual({'a': 1, 'b': 2}, source.get_members().up())


class BaseBehaviourTestCase(test_base.TestCase):
    def setUp(self):
        super().setUp()
        self.store = MemoryBackend()

    def source(self, **overrides):
        source = MemorySource(self.store, **{**contract.FAST, **overrides})
        self.addCleanup(source.close)
        return source

    def test_down_after_dead_after_by_the_backend_clock(self):
        a, reader = self.source(), self.source()
        a.join('a')
        a.stop()
        self.assertEqual({'a': 1}, reader.get_members().up())
        self.store.clock += datetime.timedelta(seconds=1.5)
        snapshot = reader.get_members()
        self.assertEqual(base.State.DOWN, snapshot.members['a'].state)

    def test_a_member_never_judges_itself_dead(self):
        a = self.source()
        a.join('a')
        a.drain()
        self.store.clock += datetime.timedelta(seconds=30)
        self.assertEqual(
            base.State.DRAINING, a.get_members().members['a'].state
        )
        self.assertEqual(
            base.State.DOWN, self.source().get_members().members['a'].state
        )

    def test_colliding_records_are_an_error(self):
        clock = self.store.clock
        self.store.groups['default'] = {
            'Host': base.Record('Host', base.State.UP, 1, {}, clock),
            'host': base.Record('host', base.State.UP, 1, {}, clock),
        }
        err = self.assertRaises(
            exception.InvalidMemberError, self.source().get_members
        )
        self.assertIn("'host'", str(err))

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

    def test_join_during_an_outage_completes_later(self):
        a = self.source()
        self.store.down = True
        self.assertRaises(exception.MembershipUnavailable, a.join, 'a')
        self.store.down = False
        self.assertTrue(
            contract.eventually(
                lambda: self.source().get_members().up() == {'a': 1}
            )
        )

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

    def test_state_changes_need_a_join(self):
        a = self.source()
        err = self.assertRaises(exception.InvalidArgumentError, a.drain)
        self.assertIn('Join a group', str(err))
        a.leave()  # leaving without joining is harmless

    def test_stop_and_leave_never_join_the_thread_holding_the_lock(self):
        # The heartbeat thread takes the source's lock to beat: joining it
        # while holding that lock deadlocks if it has just woken up, as
        # once hung CI.
        a = self.source()
        held = []
        real = a._stop_heartbeat

        def spy():
            held.append(a._lock._is_owned())
            real()

        a._stop_heartbeat = spy
        for end in (a.stop, a.leave):
            a.join('a')
            end()
        self.assertEqual([False, False], held)

    def test_leave_stops_the_thread(self):
        a = self.source()
        a.join('a')
        thread = a._thread
        a.leave()
        self.assertFalse(thread.is_alive())
        self.assertEqual({}, self.source().get_members().up())
