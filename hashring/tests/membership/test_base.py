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
import subprocess
import sys
import time

import hypothesis

from oslo_config import cfg

from hashring import exception
from hashring import membership
from hashring.membership import base
from hashring.membership import static
from hashring import opts
from hashring.tests import base as test_base
from hashring.tests.membership import contract
from hashring.tests.membership import memory


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


def without(modules, code):
    """Run code in a fresh interpreter where modules cannot be imported."""
    script = (
        'import sys\n'
        f'for name in {modules!r}:\n'
        '    sys.modules[name] = None  # as if not installed\n'
        'from hashring import exception, membership\n'
        'try:\n'
        f'    {code}\n'
        'except exception.HashRingError as exc:\n'
        '    print(type(exc).__name__, exc)\n'
    )
    result = subprocess.run(
        [sys.executable, '-c', script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.strip()


class LoadTestCase(test_base.TestCase):
    def test_a_driver_whose_extra_is_missing_says_what_to_install(self):
        for modules, code, message in (
            (
                ['sqlalchemy'],
                "membership.load('sql', connection='sqlite://')",
                "MissingDependency The 'sql' membership driver needs the "
                "Python module 'sqlalchemy', which is not installed: pip "
                "install 'oslo.hashring[sql]'",
            ),
            (
                ['tooz'],
                "membership.load('tooz', backend_url='file:///tmp')",
                "MissingDependency The 'tooz' membership driver needs the "
                "Python module 'tooz', which is not installed: pip install "
                "'oslo.hashring[tooz]'",
            ),
            (
                ['kazoo'],
                "membership.load('tooz', backend_url='zookeeper://h:2181')",
                "MissingDependency The tooz backend 'zookeeper' needs the "
                "Python module 'kazoo', which is not installed: pip install "
                "'oslo.hashring[zookeeper]'",
            ),
            (
                ['psycopg2'],
                "membership.load('sql', connection="
                "'postgresql+psycopg2://u:secret@h/db')",
                "MissingDependency Database URL 'postgresql+psycopg2://u:***"
                "@h/db' needs the Python module 'psycopg2', which is not "
                "installed: pip install 'oslo.hashring[postgresql]'",
            ),
            (
                ['pymysql'],
                "membership.load('sql', connection='mysql+pymysql://h/db')",
                "pip install 'oslo.hashring[mysql]'",
            ),
            (
                ['sqlalchemy', 'tooz'],
                "membership.load('nope')",
                "DriverNotFound No membership driver named 'nope'; "
                'installed drivers: callable, file, static; needing an '
                "extra: sql (pip install 'oslo.hashring[sql]'), tooz (pip "
                "install 'oslo.hashring[tooz]')",
            ),
        ):
            with self.subTest(modules=modules, code=code):
                out = without(modules, code)
                self.assertIn(message, out)
                self.assertEqual(1, len(out.splitlines()), out)

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
        self.store = memory.MemoryBackend()

    def source(self, **overrides):
        source = memory.MemorySource(
            self.store, **{**contract.FAST, **overrides}
        )
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
        a, b = self.source(), self.source()
        a.join('a')
        a.drain()
        b.join('b')
        # Silence a's thread but keep its identity, as a starved one is.
        a._stop_heartbeat()
        self.store.clock += datetime.timedelta(seconds=30)
        b.heartbeat()  # b is alive: the backend was writable all along
        self.assertEqual(
            base.State.DRAINING, a.get_members().members['a'].state
        )
        self.assertEqual(
            base.State.DOWN, self.source().get_members().members['a'].state
        )

    def test_colliding_records_keep_one_for_every_reader(self):
        clock = self.store.clock
        self.store.groups['default'] = {
            'HOST': base.Record('HOST', base.State.UP, 1, {}, clock),
            'host': base.Record('host', base.State.UP, 2, {}, clock),
            'Host': base.Record('Host', base.State.UP, 3, {}, clock),
        }
        reader = self.source()
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            snapshot = reader.get_members()
        # The record stored under the canonical id wins, as every hashring
        # writer stores it; the others are named in the log.
        self.assertEqual({'host': 2}, snapshot.up())
        self.assertIn("record 'HOST'", logs.output[0])
        self.assertIn("same member as record 'host'", logs.output[0])
        self.assertEqual(2, len(logs.output))
        # Once: a second read logs nothing new.
        with self.assertNoLogs('hashring.membership.base', 'WARNING'):
            reader.get_members()
        del self.store.groups['default']['host']
        self.assertEqual({'host': 1}, self.source().get_members().up())

    def test_one_bad_record_never_takes_the_group_down(self):
        clock = self.store.clock
        self.store.groups['default'] = {
            'good': base.Record('good', base.State.UP, 1, {}, clock),
            'heavy': base.Record('heavy', base.State.UP, 10**9, {}, clock),
            'a\x00b': base.Record('a\x00b', base.State.UP, 1, {}, clock),
            'odd': base.Record('odd', base.State.UP, True, {}, clock),
        }
        reader = self.source()
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            self.assertEqual({'good': 1}, reader.get_members().up())
        text = '\n'.join(logs.output)
        self.assertIn("'heavy'", text)
        self.assertIn('weight 1000000000 is above 1000', text)
        self.assertIn("'a\\x00b'", text)
        self.assertIn("'odd'", text)
        # Logged once per bad record, not on every read.
        with self.assertNoLogs('hashring.membership.base', 'WARNING'):
            reader.get_members()

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


class HardenedInputTestCase(test_base.TestCase):
    @hypothesis.given(hypothesis.strategies.text(min_size=1, max_size=20))
    def test_canonical_id_is_idempotent(self, name):
        try:
            canon = membership.canonical_id(name)
        except exception.InvalidMemberError:
            return
        self.assertEqual(canon, membership.canonical_id(canon))

    def test_canonical_id_of_a_composing_lower_case(self):
        canon = membership.canonical_id('J\u030c-host')
        self.assertEqual('\u01f0-host', canon)
        self.assertEqual(canon, membership.canonical_id(canon))

    def test_group_names_end_at_the_end(self):
        for group in ('abc\n', 'abc\n\n', '\nabc'):
            self.assertRaises(
                exception.InvalidArgumentError, base.check_group, group
            )

    def test_keyword_overrides_are_checked_as_options_are(self):
        for name, value, message in (
            ('heartbeat_interval', float('nan'), 'must be finite'),
            ('dead_after', float('inf'), 'must be finite'),
            ('read_timeout', -1.0, 'read_timeout -1.0'),
            ('retention', '60', "must be a number, not '60'"),
            ('dead_after', True, 'must be a number, not True'),
        ):
            with self.subTest(name=name, value=value):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    membership.load,
                    'static',
                    **{name: value},
                )
                self.assertIn(message, str(err))

    def test_attributes_are_json_bounded_and_finite(self):
        deep = {}
        for _ in range(100_000):
            deep = {'x': deep}
        for attributes, message in (
            (deep, 'nest deeper than 32'),
            ({'x': float('nan')}, 'are not JSON'),
            ({'x': [float('inf')]}, 'are not JSON'),
        ):
            err = self.assertRaises(
                exception.InvalidMemberError,
                base.check_attributes,
                'm',
                attributes,
            )
            self.assertIn(message, str(err))

    def test_weights_are_capped_where_members_join(self):
        self.assertEqual(1000, base.check_weight('m', 1000))
        err = self.assertRaises(
            exception.InvalidMemberError, base.check_weight, 'm', 2**19 - 100
        )
        self.assertIn('above 1000', str(err))

    def test_passwords_are_masked_in_query_strings_too(self):
        for url in (
            'postgresql://u:s3cret@h/db',
            'postgresql://u@h/db?password=s3cret&sslmode=require',
            'redis://h:6379?sentinel_password=s3cret',
        ):
            masked = base.mask_url(url)
            self.assertNotIn('s3cret', masked)
            self.assertIn('h', masked)
        self.assertIn(
            'sslmode=require',
            base.mask_url('postgresql://h/db?password=x&sslmode=require'),
        )
        self.assertEqual('sqlite:////tmp/x', base.mask_url('sqlite:////tmp/x'))
        self.assertNotIn('s3cret', base.mask('failed: password=s3cret here'))
