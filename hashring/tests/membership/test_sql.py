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
import os

import fixtures
import sqlalchemy as sa

from hashring import exception
from hashring import membership
from hashring.membership import base
from hashring.membership import sqltable
from hashring.tests import base as test_base
from hashring.tests.membership import contract
from hashring.tests.membership import contract_claims
from hashring.tests.membership import contract_outages
from hashring.tests.membership import outages
from hashring.tests.membership import servers
from hashring.tests.membership import sqlservers


class SQLMixin(
    contract_claims.OperatorStates, contract_outages.PublishedOutages
):
    driver = 'sql'

    def options(self):
        return {'connection': self.url}

    def engine(self):
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        return engine

    def test_get_groups_is_one_query(self):
        groups = [f'{self.group}-{i}' for i in range(5)]
        node = self.source()
        for group in groups:
            node.join('Node-A', group)
        self.reader.get_members(self.group)  # the schema check, once
        statements = []
        sa.event.listen(
            self.reader.engine,
            'before_cursor_execute',
            lambda *args: statements.append(args[2]),
        )
        snapshots = self.reader.get_groups(groups)
        self.assertEqual(groups, list(snapshots))
        selects = [s for s in statements if 'hashring_members' in s]
        self.assertEqual(1, len(selects), statements)

    def forget(self, group, member_id):
        table = sqltable.make_table(sa.MetaData())
        with self.engine().begin() as conn:
            conn.execute(
                table.delete().where(
                    (table.c.group_name == group)
                    & (table.c.member_id == member_id)
                )
            )

    def age_record(self, group, member_id, seconds):
        table = sqltable.make_table(sa.MetaData())
        with self.engine().begin() as conn:
            stamp = conn.scalar(sa.select(sqltable.utc_now()))
            if isinstance(stamp, str):
                stamp = datetime.datetime.fromisoformat(stamp)
            conn.execute(
                table.update()
                .where(
                    (table.c.group_name == group)
                    & (table.c.member_id == member_id)
                )
                .values(
                    heartbeat_at=stamp - datetime.timedelta(seconds=seconds)
                )
            )

    def test_self_is_never_dead_from_its_own_stale_record(self):
        a = self.source(heartbeat_interval=60, dead_after=120)
        a.join('a', self.group)
        self.age_record(self.group, 'a', 3600)
        self.assertEqual({'a': 1}, a.get_members(self.group).up())
        other = self.source(heartbeat_interval=60, dead_after=120)
        snapshot = other.get_members(self.group)
        self.assertEqual(base.State.DOWN, snapshot.members['a'].state)

    def test_a_late_heartbeat_publishes_its_gap_as_an_outage(self):
        # A heartbeat that lands two intervals or more after the one
        # before - a write a stalled server ran late - publishes the span,
        # though no write of its member failed; one on time publishes
        # nothing.
        a = self.source(heartbeat_interval=10, dead_after=30)
        a.join('a', self.group)
        a.heartbeat()
        self.assertIsNone(self.record('a').outage)
        self.age_record(self.group, 'a', 25)
        before = self.record('a').heartbeat
        a.heartbeat()
        after = self.record('a')
        self.assertEqual(before, after.outage[0])
        self.assertEqual(after.heartbeat, after.outage[1])
        # Its peers' silence over the span is explained to a new reader.
        b = self.source(heartbeat_interval=10, dead_after=30)
        b.join('b', self.group)
        self.age_record(self.group, 'b', 40)
        reader = self.source(heartbeat_interval=10, dead_after=30)
        self.assertEqual({'a', 'b'}, set(reader.get_members(self.group).up()))

    def test_heartbeats_use_the_database_clock_in_utc(self):
        a = self.source()
        a.join('a', self.group)
        member = self.reader.get_members(self.group).members['a']
        snapshot = self.reader.get_members(self.group)
        age = (snapshot.read_at - member.last_heartbeat).total_seconds()
        self.assertGreaterEqual(age, -0.001)
        self.assertLess(age, 5)

    def test_cleanup_after_retention(self):
        # No heartbeat in the test's time: the first would clean up too.
        a = self.source(heartbeat_interval=30, dead_after=60)
        a.join('fresh', self.group)
        b = self.source(heartbeat_interval=30, dead_after=60)
        b.join('stale', self.group)
        b.stop()
        self.age_record(self.group, 'stale', 8 * 24 * 3600)
        removed = a.cleanup()
        self.assertGreaterEqual(removed, 1)
        self.assertEqual(
            ['fresh'], list(self.reader.get_members(self.group).members)
        )

    def test_a_bad_row_is_left_out_and_the_others_read(self):
        table = sqltable.make_table(sa.MetaData())
        for name in ('good', 'deep', 'garbled', 'weird'):
            self.source().join(name, self.group)
        with self.engine().begin() as conn:
            for name, values in (
                # Nested beyond the parser: RecursionError took the whole
                # group down.
                ('deep', {'attributes': '[' * 5000 + ']' * 5000}),
                ('garbled', {'attributes': '{"a": '}),
                ('weird', {'state': 'sideways'}),
            ):
                conn.execute(
                    table.update()
                    .where(
                        (table.c.group_name == self.group)
                        & (table.c.member_id == name)
                    )
                    .values(**values)
                )
        with self.assertLogs('hashring.membership.base', 'WARNING') as logs:
            self.assertEqual(
                {'good': 1}, self.reader.get_members(self.group).up()
            )
        text = '\n'.join(logs.output)
        for name in ('deep', 'garbled', 'weird'):
            self.assertIn(repr(name), text)

    def test_a_claim_mends_a_state_that_does_not_read(self):
        # A claim keeps the state stored (an operator's drain), but not
        # one that would leave the member's record unread.
        table = sqltable.make_table(sa.MetaData())
        node = self.source()
        node.join('a', self.group)
        mine = (table.c.group_name == self.group) & (table.c.member_id == 'a')
        for stored, read in (
            ('sideways', base.State.UP),
            ('disabled', base.State.DISABLED),
        ):
            with self.engine().begin() as conn:
                conn.execute(table.update().where(mine).values(state=stored))
            node.publish(self.group, None)
            self.assertEqual(
                read, self.reader.get_members(self.group).members['a'].state
            )

    def test_schema(self):
        self.source().create_schema()
        self.source().create_schema()  # twice is harmless
        names = sa.inspect(self.engine()).get_table_names()
        self.assertIn('hashring_members', names)


class SQLiteContractTestCase(SQLMixin, contract.Contract, test_base.TestCase):
    def setUp(self):
        path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.sqlite'
        )
        self.url = f'sqlite:///{path}'
        super().setUp()


class PostgreSQLContractTestCase(
    SQLMixin, contract.Contract, test_base.TestCase
):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.srv = servers.shared(sqlservers.PostgresServer, 'POSTGRESQL')
        cls.url = cls.srv.url


class MariaDBContractTestCase(SQLMixin, contract.Contract, test_base.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.srv = servers.shared(sqlservers.MariaDBServer, 'MYSQL')
        cls.url = cls.srv.url


class ServerOutageMixin(outages.Outage):
    """Outages of a database server the test starts, freezes and stops."""

    driver = 'sql'
    url_option = 'connection'

    def test_a_reinitialised_database_recovers_without_help(self):
        a = self.source()
        a.join('a', 'g')
        self.srv.wipe()
        reader = self.source()
        self.assertTrue(
            contract.eventually(
                lambda: _up_or_none(reader, 'g') == {'a': 1}, timeout=30
            )
        )


class PostgreSQLOutageTestCase(ServerOutageMixin, test_base.TestCase):
    server_class = sqlservers.PostgresServer


class MariaDBOutageTestCase(ServerOutageMixin, test_base.TestCase):
    server_class = sqlservers.MariaDBServer


class SQLiteOutageTestCase(outages.Freeze, test_base.TestCase):
    """A process frozen inside a write transaction is SQLite's outage."""

    driver = 'sql'

    def setUp(self):
        super().setUp()
        self.path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.sqlite'
        )
        self.srv = outages.FrozenLockHolder(self, 'sqlite', self.path)
        self.group = 'outage'

    def options(self):
        return {'connection': f'sqlite:///{self.path}'}


class SQLBadInputTestCase(test_base.TestCase):
    def test_bad_urls(self):
        for url, message in (
            ('notaurl', "Invalid database URL 'notaurl'"),
            ('nosuchdb://x/y', "Cannot use database URL 'nosuchdb://x/y'"),
        ):
            err = self.assertRaises(
                exception.InvalidArgumentError,
                membership.load,
                'sql',
                connection=url,
            )
            self.assertIn(message, str(err))
        err = self.assertRaises(
            exception.InvalidArgumentError, membership.load, 'sql'
        )
        self.assertIn('[hashring] connection', str(err))

    def test_bad_values_are_typed_errors(self):
        for kwargs, message in (
            ({'connection': 123}, 'connection must be a string, not 123'),
            (
                {'connection': 'postgresql://u@h:abc/db'},
                "Invalid database URL 'postgresql://u@h:abc/db'",
            ),
        ):
            with self.subTest(kwargs=kwargs):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    membership.load,
                    'sql',
                    **kwargs,
                )
                self.assertIn(message, str(err))

    def test_a_password_in_the_query_string_is_masked(self):
        source = membership.load(
            'sql',
            connection='postgresql+psycopg2://nova@127.0.0.1:1/db'
            '?password=s3cret',
            read_timeout=1,
        )
        self.addCleanup(source.close)
        self.assertNotIn('s3cret', source.backend)
        err = self.assertRaises(
            exception.MembershipUnavailable, source.get_members
        )
        self.assertNotIn('s3cret', str(err))
        self.assertIn('password=***', str(err))

    def test_unreachable_host_is_unavailable_and_hides_the_password(self):
        source = membership.load(
            'sql',
            connection='postgresql+psycopg2://nova:s3cret@127.0.0.1:1/db',
            read_timeout=1,
        )
        self.addCleanup(source.close)
        err = self.assertRaises(
            exception.MembershipUnavailable, source.get_members
        )
        self.assertNotIn('s3cret', str(err))
        self.assertIn('127.0.0.1:1', str(err))


class SQLRecoveryTestCase(test_base.TestCase):
    """An SQLite file deleted, created or emptied under running sources."""

    def setUp(self):
        super().setUp()
        self.path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.sqlite'
        )
        self.url = f'sqlite:///{self.path}'

    def source(self, **overrides):
        source = membership.load(
            'sql', connection=self.url, **{**contract.FAST, **overrides}
        )
        self.addCleanup(source.close)
        return source

    def test_a_deleted_sqlite_file_is_followed_not_split(self):
        slow = {'heartbeat_interval': 30, 'dead_after': 60}
        old = self.source(**slow)
        old.join('old', 'g')
        os.unlink(self.path)
        # A process started now creates a new file and joins it...
        new = self.source(**slow)
        new.join('new', 'g')
        # ...and the old one follows it: one membership, not two.
        old.heartbeat()
        for reader in (old, new, self.source(**slow)):
            self.assertEqual(
                {'new': 1, 'old': 1}, reader.get_members('g').up()
            )

    def test_a_new_sqlite_file_is_logged_with_its_path(self):
        # A mistyped path makes a membership of its own: the log says so.
        source = self.source()
        with self.assertLogs('hashring.membership.sql', 'WARNING') as logs:
            self.assertEqual({}, source.get_members('g').up())
            source.get_members('g')
        self.assertEqual(1, len(logs.output))
        self.assertIn(
            f'No SQLite file at {self.path}: creating one', logs.output[0]
        )
        self.assertIn('[hashring] connection', logs.output[0])
        with self.assertNoLogs('hashring.membership.sql', 'WARNING'):
            self.assertEqual({}, self.source().get_members('g').up())

    def test_a_dropped_table_is_created_again_and_members_rejoin(self):
        self.source().join('a', 'g', weight=2)
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        with engine.begin() as conn:
            conn.execute(sa.text('DROP TABLE hashring_members'))
        reader = self.source()
        self.assertTrue(
            contract.eventually(
                lambda: reader.get_members('g').up() == {'a': 2}
            )
        )


def _up_or_none(source, group):
    try:
        return source.get_members(group).up()
    except exception.MembershipUnavailable:
        return None
