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
import uuid

import fixtures
import sqlalchemy as sa

from hashring.membership import sqltable
from hashring.tests import base as test_base
from hashring.tests.membership import servers
from hashring.tests.membership import sqlservers


class TableMixin:
    """The table and the server clock, in one dialect."""

    def engine(self):
        engine = sa.create_engine(self.url)
        self.addCleanup(engine.dispose)
        return engine

    def test_the_server_clock_in_utc(self):
        engine = self.engine()
        with engine.connect() as conn:
            now, ago = conn.execute(
                sa.select(sqltable.utc_now(), sqltable.utc_ago(90.5))
            ).one()
        now, ago = sqltable.aware(now), sqltable.aware(ago)
        here = datetime.datetime.now(datetime.timezone.utc)
        # The servers run on this host: their UTC is this host's, in any
        # time zone the session has.
        self.assertLess(abs((here - now).total_seconds()), 30)
        # To the microsecond (MySQL's default would be whole seconds).
        self.assertAlmostEqual(90.5, (now - ago).total_seconds(), delta=0.01)

    def test_the_table_keeps_microseconds(self):
        engine = self.engine()
        table = sqltable.make_table(sa.MetaData())
        # The servers are shared with the drivers' tests, whose table this
        # is: a row of a group of its own, and the table left in place.
        table.metadata.create_all(engine)
        group = f'sqltable-{uuid.uuid4().hex}'
        mine = table.c.group_name == group
        self.addCleanup(self._delete, engine, table.delete().where(mine))
        stamp = datetime.datetime(2026, 12, 3, 10, 0, 0, 123456)
        with engine.begin() as conn:
            conn.execute(
                table.insert().values(
                    group_name=group,
                    member_id='m',
                    state='up',
                    weight=1,
                    attributes='{}',
                    heartbeat_at=stamp,
                    created_at=sqltable.utc_now(),
                )
            )
            row = conn.execute(sa.select(table).where(mine)).one()
        self.assertEqual(
            stamp.replace(tzinfo=datetime.timezone.utc),
            sqltable.aware(row.heartbeat_at),
        )
        self.assertIsNone(row.outage_start)
        self.assertEqual(sqltable.TABLE, table.name)

    @staticmethod
    def _delete(engine, statement):
        with engine.begin() as conn:
            conn.execute(statement)


class SQLiteTableTestCase(TableMixin, test_base.TestCase):
    def setUp(self):
        super().setUp()
        path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members.sqlite'
        )
        self.url = f'sqlite:///{path}'


class PostgreSQLTableTestCase(TableMixin, test_base.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.url = servers.shared(sqlservers.PostgresServer, 'POSTGRESQL').url


class MariaDBTableTestCase(TableMixin, test_base.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.url = servers.shared(sqlservers.MariaDBServer, 'MYSQL').url


class AwareTestCase(test_base.TestCase):
    def test_naive_utc_and_sqlite_text(self):
        utc = datetime.timezone.utc
        expected = datetime.datetime(2026, 12, 3, 10, 0, 1, 500000, utc)
        naive = expected.replace(tzinfo=None)
        self.assertEqual(expected, sqltable.aware(naive))
        self.assertEqual(expected, sqltable.aware('2026-12-03 10:00:01.500'))

    def test_anything_else_is_named(self):
        for bad in (None, 12, b'2026-12-03'):
            err = self.assertRaises(TypeError, sqltable.aware, bad)
            self.assertIn(repr(bad), str(err))


class ConnectArgsTestCase(test_base.TestCase):
    def test_every_wait_is_bounded_by_the_timeout(self):
        self.assertEqual(
            {'timeout': 2.5}, sqltable.connect_args('sqlite', 'pysqlite', 2.5)
        )
        for driver in ('psycopg2', 'psycopg'):
            found = sqltable.connect_args('postgresql', driver, 2.5)
            self.assertEqual(2, found['connect_timeout'])
            self.assertEqual('-c statement_timeout=2500', found['options'])
            self.assertEqual(2500, found['tcp_user_timeout'])
        for backend in ('mysql', 'mariadb'):
            self.assertEqual(
                {'connect_timeout': 1, 'read_timeout': 1, 'write_timeout': 1},
                sqltable.connect_args(backend, 'pymysql', 0.5),
            )
        # A driver whose arguments are not known here gets none.
        self.assertEqual({}, sqltable.connect_args('postgresql', 'pg8000', 2))


class SQLitePathTestCase(test_base.TestCase):
    def test_a_file_is_named_by_its_absolute_path(self):
        here = self.useFixture(fixtures.TempDir()).path
        self.useFixture(fixtures.MonkeyPatch('os.getcwd', lambda: here))
        url = sa.engine.make_url('sqlite:///members.sqlite')
        self.assertEqual(
            os.path.join(here, 'members.sqlite'), sqltable.sqlite_path(url)
        )
        url = sa.engine.make_url('sqlite:////var/lib/hashring/m.sqlite')
        self.assertEqual(
            '/var/lib/hashring/m.sqlite', sqltable.sqlite_path(url)
        )

    def test_no_path_names_other_databases(self):
        for url in (
            'sqlite://',
            'sqlite:///:memory:',
            'sqlite:///file:members?mode=memory&uri=true',
            'postgresql://user@localhost/members',
        ):
            self.assertIsNone(
                sqltable.sqlite_path(sa.engine.make_url(url)), url
            )
