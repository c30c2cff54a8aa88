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


from oslo_config import cfg

from hashring import exception
from hashring import membership
from hashring.membership import base
from hashring.membership import static
from hashring import opts
from hashring.tests import base as test_base
from hashring.tests.membership import memory


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
        for option in ('dead_after', 'settle_after'):
            err = self.assertRaises(
                exception.InvalidArgumentError,
                membership.load,
                'static',
                heartbeat_interval=10,
                **{option: 15},
            )
            self.assertIn(f'{option} (15s) must be at least twice', str(err))
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

    def test_settle_after_waits_out_a_hung_call_unless_set(self):
        def settle_after(**overrides):
            source = membership.load('static', members=['a'], **overrides)
            self.addCleanup(source.close)
            return source.settle_after

        # read_timeout (10 s) and two heartbeat intervals (10 s each).
        self.assertEqual(30.0, settle_after())
        self.assertEqual(
            5.0,
            settle_after(read_timeout=1, dead_after=8, heartbeat_interval=2),
        )
        self.assertEqual(24.0, settle_after(settle_after=24))
        conf = opts.ensure(None)
        conf.set_override('settle_after', 25.0, opts.GROUP)
        self.assertEqual(25.0, settle_after(conf=conf))

    def test_driver_from_configuration(self):
        conf = cfg.ConfigOpts()
        opts.register_opts(conf)
        conf([], default_config_files=[])
        conf.set_override('membership_driver', 'static', 'hashring')
        conf.set_override('members', ['a', 'B:2'], 'hashring')
        source = membership.load(conf=conf)
        self.assertIsInstance(source, static.StaticSource)
        self.assertEqual({'a': 1, 'b': 2}, source.get_members().up())


class BaseBehaviourTestCase(memory.MemoryTestMixin, test_base.TestCase):
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

    def test_colliding_records_keep_the_one_heard_from_last(self):
        clock = self.store.clock
        later = clock + datetime.timedelta(seconds=1)
        self.store.groups['default'] = {
            # The canonical id's record is the stale past of a host whose
            # name changed case; a down record loses to a live one.
            'host': base.Record('host', base.State.UP, 1, {}, clock),
            'HOST': base.Record('HOST', base.State.UP, 2, {}, later),
            'Host': base.Record('Host', base.State.DOWN, 3, {}, later),
            'other': base.Record('other', base.State.UP, 1, {}, clock),
        }
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            snapshot = self.source().get_members()
        self.assertEqual({'host': 2, 'other': 1}, snapshot.up())
        self.assertEqual('HOST', snapshot.members['host'].name)
        self.assertEqual(2, len(logs.output))
        for stale in ('host', 'Host'):
            self.assertTrue(
                any(
                    f"record {stale!r}" in line
                    and "same member as record 'HOST'" in line
                    for line in logs.output
                )
            )

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


class HardenedInputTestCase(test_base.TestCase):
    def test_keyword_overrides_are_checked_as_options_are(self):
        for name, value, message in (
            ('heartbeat_interval', float('nan'), 'must be finite'),
            ('dead_after', float('inf'), 'must be finite'),
            ('read_timeout', -1.0, 'read_timeout -1.0'),
            ('retention', '60', "must be a number, not '60'"),
            ('dead_after', True, 'must be a number, not True'),
            # Each overflowed a timedelta or a wait, at once or later.
            ('dead_after', 1e300, 'dead_after 1e+300'),
            ('read_timeout', 1e300, 'read_timeout 1e+300'),
            ('retention', 2**70, f'retention {2**70}'),
            ('heartbeat_interval', 1e6, 'heartbeat_interval 1000000.0'),
            ('members', True, 'members must be a list or a string, not True'),
        ):
            with self.subTest(name=name, value=value):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    membership.load,
                    'static',
                    **{name: value},
                )
                self.assertIn(message, str(err))

    def test_an_override_of_none_is_the_configured_value(self):
        conf = opts.ensure(None)
        conf.set_override('dead_after', 90.0, opts.GROUP)
        conf.set_override('members', ['a', 'b:2'], opts.GROUP)
        source = membership.load(
            'static', conf=conf, dead_after=None, members=None, group=None
        )
        self.addCleanup(source.close)
        # Each raised TypeError (float(None)) or read no members.
        self.assertEqual(90.0, source.dead_after)
        self.assertEqual(10.0, source.heartbeat_interval)
        self.assertEqual({'a': 1, 'b': 2}, source.get_members().up())

    def test_no_group_asked_for_reads_nothing(self):
        class Out(base.MembershipSource):
            name = 'out'

            def _read_groups(self, groups):
                raise exception.MembershipUnavailable(self.backend, 'down')

        source = Out()
        # An outage answers with an error, never with no snapshot...
        self.assertRaises(
            exception.MembershipUnavailable, source.get_groups, ['a']
        )
        # ...but no group asked for is no question: nothing is read.
        self.assertEqual({}, source.get_groups([]))
        self.assertEqual({}, source.get_groups(()))

    def test_a_driver_reads_one_group_or_several(self):
        class Neither(base.MembershipSource):
            name = 'neither'

        err = self.assertRaises(TypeError, Neither)
        self.assertIn('implements _read, _read_groups or both', str(err))

        class Several(base.MembershipSource):
            name = 'several'

            def _read_groups(self, groups):
                return {
                    g: [base.Record(f'{g}-m', base.State.UP, 1, {}, None)]
                    for g in groups or ['a', 'b']
                }, base.utcnow()

        source = Several()
        self.assertEqual({'x-m': 1}, source.get_members('x').placed())
        self.assertEqual(['a', 'b'], list(source.get_groups()))
