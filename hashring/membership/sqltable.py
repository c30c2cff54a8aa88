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

"""The sql driver's table, the server clock that times its rows, and writes.

:mod:`hashring.membership.sql` reads and writes the members table that
:func:`make_table` defines.  Its heartbeat times are the database
server's clock in UTC (:class:`utc_now`, :class:`utc_ago`), written out in
each dialect (SQLite, PostgreSQL, MySQL and MariaDB), so that services on
hosts whose clocks disagree still agree on who is alive.  Each dialect's
driver also takes the arguments that bound its waits
(:func:`connect_args`), and the driver's writes set the columns of
:func:`record_values` and :func:`beat_values`.
"""

import datetime
import json
import os
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql
from sqlalchemy.ext import compiler
from sqlalchemy.sql import expression

from hashring.membership import values

#: The members table's name.
TABLE = 'hashring_members'


class utc_now(expression.FunctionElement[datetime.datetime]):  # noqa: N801
    """The database server's current time in UTC, as a naive timestamp."""

    type = sa.DateTime()
    inherit_cache = True


@compiler.compiles(utc_now)
def _utc_now_default(element: Any, compiler: Any, **kw: Any) -> str:
    # SQLite's clock is in UTC; keep its milliseconds.
    return "strftime('%Y-%m-%d %H:%M:%f', 'now')"


@compiler.compiles(utc_now, 'postgresql')
def _utc_now_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return "(now() AT TIME ZONE 'utc')"


@compiler.compiles(utc_now, 'mysql')
@compiler.compiles(utc_now, 'mariadb')
def _utc_now_mysql(element: Any, compiler: Any, **kw: Any) -> str:
    return 'UTC_TIMESTAMP(6)'


class utc_ago(expression.FunctionElement[datetime.datetime]):  # noqa: N801
    """The database server's time in UTC some seconds ago (naive)."""

    type = sa.DateTime()
    inherit_cache = False

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = float(seconds)


@compiler.compiles(utc_ago)
def _utc_ago_default(element: Any, compiler: Any, **kw: Any) -> str:
    return (
        f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-{element.seconds:f} seconds')"
    )


@compiler.compiles(utc_ago, 'postgresql')
def _utc_ago_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    ago = f"interval '{element.seconds:f} seconds'"
    return f"((now() AT TIME ZONE 'utc') - {ago})"


@compiler.compiles(utc_ago, 'mysql')
@compiler.compiles(utc_ago, 'mariadb')
def _utc_ago_mysql(element: Any, compiler: Any, **kw: Any) -> str:
    micro = int(element.seconds * 1e6)
    return f'(UTC_TIMESTAMP(6) - INTERVAL {micro} MICROSECOND)'


#: A timestamp to the microsecond: MySQL's and MariaDB's DATETIME keeps
#: whole seconds, which would age a heartbeat by up to a second (MySQL
#: even rounds it into the future).
TIMESTAMP = sa.DateTime().with_variant(
    mysql.DATETIME(fsp=6), 'mysql', 'mariadb'
)


#: A group or member name, compared byte for byte as on every other
#: backend: MySQL's and MariaDB's default collations fold case and accents,
#: and made members 'ce-2' and 'c\u00e9-2' one row, so that one of them
#: was on no ring.
NAME = sa.String(255).with_variant(
    mysql.VARCHAR(255, charset='utf8mb4', collation='utf8mb4_bin'),
    'mysql',
    'mariadb',
)


def make_table(metadata: sa.MetaData) -> sa.Table:
    """Return the members table, defined on ``metadata``."""
    return sa.Table(
        TABLE,
        metadata,
        sa.Column('group_name', NAME, primary_key=True),
        sa.Column('member_id', NAME, primary_key=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('weight', sa.Integer, nullable=False, default=1),
        sa.Column('attributes', sa.Text, nullable=False, default='{}'),
        sa.Column('heartbeat_at', TIMESTAMP, nullable=False),
        sa.Column('created_at', TIMESTAMP, nullable=False),
        # The span the member could not heartbeat, published with its first
        # heartbeat after (hashring.membership.liveness).
        sa.Column('outage_start', TIMESTAMP, nullable=True),
        sa.Column('outage_end', TIMESTAMP, nullable=True),
        sa.Index('hashring_members_heartbeat_idx', 'heartbeat_at'),
    )


def record_values(
    table: sa.Table,
    record: Any,
    keep_state: bool,
    interval: float,
    own: bool = False,
) -> tuple[list[tuple[Any, Any]], dict[str, Any]]:
    """Return the columns that a write of a member's record sets.

    :param table: the members table (:func:`make_table`).
    :param record: the :class:`hashring.membership.values.Record`.
    :param keep_state: a running member's write (a claim, a new weight)
        rather than a join: it keeps the state stored (an operator may
        have drained it from another process; a state that does not read
        as one is replaced, so that the member's own write mends its
        record), and is a heartbeat, which may be its first after an
        outage (:func:`beat_values`).  A join's is not: a restart after a
        crash is no outage.
    :param interval: the heartbeat interval, in seconds.
    :param own: see :func:`beat_values`.
    :returns: the (column, value) pairs of an update, in the order to set
        them, and the values of an insert by column name.
    """
    t = table
    state: Any = record.state.value
    if keep_state:
        state = sa.case(
            (t.c.state.in_(values.STATE_VALUES), t.c.state), else_=state
        )
    attributes = json.dumps(dict(record.attributes), sort_keys=True)
    update = [
        (t.c.state, state),
        (t.c.weight, record.weight),
        (t.c.attributes, attributes),
        *(
            beat_values(t, False, interval, own)
            if keep_state
            else [(t.c.heartbeat_at, utc_now())]
        ),
    ]
    insert = {
        'state': record.state.value,
        'weight': record.weight,
        'attributes': attributes,
        'heartbeat_at': utc_now(),
        'created_at': utc_now(),
    }
    return update, insert


def beat_values(
    table: sa.Table, recovering: bool, interval: float, own: bool = False
) -> list[tuple[Any, Any]]:
    """Return the columns that a heartbeat sets, in the order to set them.

    The span since the last heartbeat is an outage when a write failed
    since, or when the server finds it longer than two intervals: a write
    that a stalled server runs late (a frozen PostgreSQL does) was sent
    before anything failed, and would otherwise make this member look
    alive and the others, yet to write, dead for want of the outage.

    :param table: the members table (:func:`make_table`).
    :param recovering: a write failed since the last heartbeat.
    :param interval: the heartbeat interval, in seconds.
    :param own: the member's own silence (its process stopped) explains
        a late write: no outage unless ``recovering``
        (:meth:`hashring.membership.streaks.Streaks._gap_is_own`).
    """
    t = table
    gap: Any = t.c.heartbeat_at < utc_ago(2 * interval)
    if recovering:
        gap = sa.true()
    elif own:
        gap = sa.false()
    # Ordered: MySQL evaluates SET clauses left to right, so the outage's
    # start must be read before heartbeat_at is overwritten.
    return [
        (
            t.c.outage_start,
            sa.case((gap, t.c.heartbeat_at), else_=t.c.outage_start),
        ),
        (t.c.outage_end, sa.case((gap, utc_now()), else_=t.c.outage_end)),
        (t.c.heartbeat_at, utc_now()),
    ]


def aware(stamp: Any) -> datetime.datetime:
    """Return a naive UTC timestamp from the database as an aware one.

    :param stamp: a naive timestamp, or its ISO text (SQLite's).
    :raises TypeError: the database returned something else.
    """
    if isinstance(stamp, str):
        stamp = datetime.datetime.fromisoformat(stamp)
    if not isinstance(stamp, datetime.datetime):
        raise TypeError(f'expected a timestamp from the database: {stamp!r}')
    return stamp.replace(tzinfo=datetime.timezone.utc)


def sqlite_path(url: sa.engine.URL) -> str | None:
    """Return the absolute path of a URL's SQLite file.

    :param url: a parsed database URL.
    :returns: the path; None for another database, or an SQLite database
        in memory or named by a ``file:`` URI, which no path names.
    """
    database = url.database
    if url.get_backend_name() != 'sqlite' or not database:
        return None
    if database == ':memory:' or database.startswith('file:'):
        return None
    return os.path.abspath(database)


def connect_args(backend: str, driver: str, timeout: float) -> dict[str, Any]:
    """Return the DBAPI arguments that bound each wait by ``timeout``.

    :param backend: the URL's backend name (``sqlite``, ``postgresql``,
        ``mysql``, ``mariadb``).
    :param driver: its DBAPI driver's name.
    :param timeout: seconds.
    :returns: arguments for ``create_engine(connect_args=...)``; none for
        a driver not known here.
    """
    if backend == 'sqlite':
        # Wait for another process's write lock rather than fail.
        return {'timeout': timeout}
    seconds = max(1, int(timeout))
    if backend == 'postgresql' and driver in ('psycopg2', 'psycopg'):
        return {
            'connect_timeout': seconds,
            # A server that stops answering mid-query: the server ends a
            # slow statement itself, and TCP gives up on a host that is gone.
            'options': f'-c statement_timeout={int(timeout * 1000)}',
            'keepalives': 1,
            'keepalives_idle': seconds,
            'keepalives_interval': 1,
            'keepalives_count': 3,
            'tcp_user_timeout': int(timeout * 1000),
        }
    if backend in ('mysql', 'mariadb') and driver in ('pymysql', 'mysqldb'):
        return {
            'connect_timeout': seconds,
            'read_timeout': seconds,
            'write_timeout': seconds,
        }
    return {}
