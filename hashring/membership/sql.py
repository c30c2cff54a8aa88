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

"""The sql driver: members in a database table, through SQLAlchemy.

One table, ``hashring_members``, keyed by (group, member), holds each
member's state, weight, attributes and last heartbeat.  Heartbeat times are
written and compared by the database's own clock, in UTC, so services on
hosts whose clocks disagree still agree on who is alive.  SQLite is the
embedded default; PostgreSQL and MySQL or MariaDB work through their URLs
(all three tested against real servers).

Every call runs on a worker thread and is abandoned after ``read_timeout``
(:mod:`hashring.membership.bounded`): a frozen server cannot hold a caller.
A table that disappears (a re-initialised database, a deleted SQLite file)
is created again on the next call, and members re-join with their next
heartbeat.  With SQLite, every call checks that the file at the configured
path is still the one this process has open, and re-opens it if not, so
that all processes follow the file at the path: a process started after
the file was deleted and created again never keeps a private membership
apart from the others.
"""

from collections.abc import Iterator
import contextlib
import datetime
import json
import logging
import os
import threading
from typing import Any

from oslo_config import cfg
import sqlalchemy as sa

from hashring import exception
from hashring.membership import base
from hashring.membership import bounded
from hashring.membership import sqltable

LOG = logging.getLogger(__name__)


class SQLSource(base.MembershipSource):
    """Members in a database table (``[hashring] connection``).

    The table is created on first use, or by :meth:`create_schema`.  The
    heartbeat thread also deletes the records of members that have not
    heartbeat for ``[hashring] retention`` seconds.

    :param conf: as for :class:`~hashring.membership.MembershipSource`.
    :param overrides: option values, for example
        ``connection='sqlite:////var/lib/hashring/members.sqlite'``.
    :raises hashring.exception.InvalidArgumentError: no URL, or a malformed
        URL.
    :raises hashring.exception.MissingDependency: the URL's database driver
        is not installed (``psycopg2`` for PostgreSQL, ``pymysql`` for
        MySQL and MariaDB).
    """

    name = 'sql'

    def __init__(
        self, conf: cfg.ConfigOpts | None = None, **overrides: Any
    ) -> None:
        super().__init__(conf, **overrides)
        url = self.required_option('connection')
        try:
            parsed = sa.engine.make_url(url)
        except (sa.exc.ArgumentError, ValueError) as exc:
            raise exception.InvalidArgumentError(
                f'Invalid database URL {base.mask_url(url)!r}: '
                f'{base.mask(exc)}'
            ) from exc
        self.url = base.mask_url(parsed.render_as_string(hide_password=True))
        timeout = self.read_timeout
        try:
            backend_name = parsed.get_backend_name()
            self.engine = sa.create_engine(
                parsed,
                pool_pre_ping=True,
                # A pool emptied by calls stuck on a frozen server must not
                # make the next caller wait longer than one call may.
                pool_timeout=timeout,
                connect_args=sqltable.connect_args(
                    backend_name, parsed.get_driver_name(), timeout
                ),
            )
        except ModuleNotFoundError as exc:
            raise exception.MissingDependency(
                f'Database URL {self.url!r}', exc.name or parsed.drivername
            ) from None
        except (sa.exc.ArgumentError, ImportError, ValueError) as exc:
            raise exception.InvalidArgumentError(
                f'Cannot use database URL {self.url!r}: {base.mask(exc)}'
            ) from exc
        self.path = sqltable.sqlite_path(parsed)
        self._file_id: tuple[int, int] | None = None
        self.table = sqltable.make_table(sa.MetaData())
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        self._caller = bounded.Caller(
            'hashring-sql', timeout, replace=True, stalls=self._stalls
        )

    @property
    def backend(self) -> str:
        return f'sql ({self.url})'

    def create_schema(self) -> None:
        """Create the members table if it does not exist.

        :raises hashring.exception.MembershipUnavailable: the database could
            not be reached.
        """
        with self._errors('create the members table'):
            self._caller.call(self._create)

    def _create(self) -> None:
        self._follow_file()
        if self.path is not None and self._file_id is None:
            LOG.warning(
                'No SQLite file at %s: creating one, with no member. If '
                'other services use this membership already, check '
                '[hashring] connection: a mistyped path makes a '
                'membership, and rings, of their own',
                self.path,
            )
        try:
            self.table.metadata.create_all(self.engine)
        except (
            sa.exc.IntegrityError,
            sa.exc.OperationalError,
            sa.exc.ProgrammingError,
        ):
            # Another process created it between our check and our CREATE;
            # anything else is a real error.
            if not sa.inspect(self.engine).has_table(sqltable.TABLE):
                raise
        self._schema_ready = True

    def _follow_file(self) -> None:
        """Re-open an SQLite file that was deleted or replaced."""
        if self.path is None:
            return
        try:
            st = os.stat(self.path)
            found: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            found = None
        if self._file_id is not None and found != self._file_id:
            LOG.warning(
                'The SQLite file %s was %s; opening the one at that path, '
                'as every other process does',
                self.path,
                'deleted' if found is None else 'replaced',
            )
            self.engine.dispose()
            self._schema_ready = False
        self._file_id = found

    def _run(self, action: str, func: Any) -> Any:
        """Run func(conn) in a transaction, within read_timeout.

        A members table that has gone (a re-initialised database, a deleted
        SQLite file) is created again, and the call tried once more.
        """

        def attempt() -> Any:
            with self._schema_lock:
                self._follow_file()
                if not self._schema_ready:
                    self._create()
            try:
                with self.engine.begin() as conn:
                    result = func(conn)
            except (sa.exc.OperationalError, sa.exc.ProgrammingError):
                if sa.inspect(self.engine).has_table(sqltable.TABLE):
                    raise
                LOG.warning(
                    'The members table of %s has gone; creating it again '
                    '(members join again with their next heartbeat)',
                    self.backend,
                )
                self._judge.unreachable()
                with self._schema_lock:
                    self._create()
                with self.engine.begin() as conn:
                    result = func(conn)
            if self.path is not None and self._file_id is None:
                # The file was created by this call.
                self._follow_file()
            return result

        with self._errors(action):
            return self._caller.call(attempt)

    def _read_groups(
        self, groups: list[str] | None
    ) -> tuple[dict[str, list[base.Record]], datetime.datetime]:
        t = self.table
        query = sa.select(
            t.c.group_name,
            t.c.member_id,
            t.c.state,
            t.c.weight,
            t.c.attributes,
            t.c.heartbeat_at,
            t.c.outage_start,
            t.c.outage_end,
        )
        if groups is not None:
            query = query.where(t.c.group_name.in_(groups))

        def read(conn: Any) -> tuple[Any, list[Any]]:
            now = conn.scalar(sa.select(sqltable.utc_now()))
            return now, conn.execute(query).all()

        now, rows = self._run(base.reading(groups), read)
        found: dict[str, list[base.Record]] = {}
        for group, *row in rows:
            try:
                found.setdefault(group, []).append(self._record(*row))
            except (
                TypeError,
                ValueError,
                RecursionError,  # attributes nested beyond the parser
                exception.HashRingError,
            ) as exc:
                self._bad_record(group, row[0], exc)
        return found, sqltable.aware(now)

    def _record(
        self,
        member_id: str,
        state: str,
        weight: int,
        attributes: str,
        heartbeat: datetime.datetime,
        outage_start: datetime.datetime | None,
        outage_end: datetime.datetime | None,
    ) -> base.Record:
        outage = (
            None
            if outage_start is None or outage_end is None
            else (sqltable.aware(outage_start), sqltable.aware(outage_end))
        )
        return base.Record(
            member_id,
            base.State(state),
            base.check_weight(member_id, weight),
            base.check_attributes(member_id, json.loads(attributes)),
            sqltable.aware(heartbeat),
            outage,
        )

    def _row(self, group: str, member_id: str) -> Any:
        """The condition that selects a member's row in a group."""
        t = self.table
        return (t.c.group_name == group) & (t.c.member_id == member_id)

    def _register(self, group: str, record: base.Record) -> None:
        self._upsert(group, record, keep_state=False)

    def _rewrite(self, group: str, record: base.Record) -> None:
        self._upsert(group, record, keep_state=True)

    def _set_state(self, group: str, record: base.Record) -> None:
        t = self.table
        mine = self._row(group, record.id)

        def update(conn: Any) -> int:
            changed = t.update().where(mine).values(state=record.state.value)
            return int(conn.execute(changed).rowcount)

        action = f'set the state of {record.id!r} in group {group!r}'
        if not self._run(action, update):
            self._register(group, record)  # gone since it was read

    def _upsert(
        self, group: str, record: base.Record, keep_state: bool
    ) -> None:
        t = self.table
        changes, fields = sqltable.record_values(
            t, record, keep_state, self.heartbeat_interval, self._gap_is_own()
        )
        mine = self._row(group, record.id)
        action = f'register {record.id!r} in group {group!r}'

        def update(conn: Any) -> int:
            changed = t.update().where(mine).ordered_values(*changes)
            return int(conn.execute(changed).rowcount)

        def insert(conn: Any) -> None:
            conn.execute(
                t.insert().values(
                    {**fields, 'group_name': group, 'member_id': record.id}
                )
            )

        if self._run(action, update):
            return
        try:
            self._run(action, insert)
        except exception.MembershipUnavailable as exc:
            if not isinstance(exc.cause, sa.exc.IntegrityError):
                raise
            # Inserted meanwhile by this member's other thread.
            self._run(action, update)
        else:
            self._made_again(group)

    def _beat(
        self, groups: list[str], record: base.Record, recovering: bool
    ) -> list[str]:
        t = self.table
        values = sqltable.beat_values(
            t, recovering, self.heartbeat_interval, self._gap_is_own()
        )

        def beat(conn: Any) -> list[str]:
            forgotten = []
            for group in groups:
                result = conn.execute(
                    t.update()
                    .where(self._row(group, record.id))
                    .ordered_values(*values)
                )
                if not result.rowcount:
                    forgotten.append(group)
            return forgotten

        forgotten: list[str] = self._run(f'heartbeat {record.id!r}', beat)
        return forgotten

    def _unregister(self, group: str, member_id: str) -> None:
        t = self.table

        def delete(conn: Any) -> None:
            conn.execute(t.delete().where(self._row(group, member_id)))

        self._run(f'remove {member_id!r} from group {group!r}', delete)

    def cleanup(self) -> int:
        """Delete records that have not heartbeat for ``retention`` seconds.

        :returns: how many records were deleted.
        :raises hashring.exception.MembershipUnavailable: the database could
            not be reached.
        """
        t = self.table

        def delete(conn: Any) -> int:
            # The server's clock, as for the heartbeats themselves.
            old = t.c.heartbeat_at < sqltable.utc_ago(self.retention)
            return int(conn.execute(t.delete().where(old)).rowcount)

        removed: int = self._run('clean up old records', delete)
        if removed:
            base.LOG.info(
                'Deleted %d member record(s) older than %ds from %s',
                removed,
                self.retention,
                self.backend,
            )
        return removed

    def _close(self) -> None:
        self._caller.close()

    def _after_fork(self) -> None:
        super()._after_fork()
        # The parent's pooled connections are its own: dropped here
        # without closing them under the parent (SQLAlchemy's advice for
        # forked workers).
        self.engine.dispose(close=False)
        self._schema_lock = threading.Lock()
        self._caller.after_fork()
        self.engine.dispose()

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn database errors within into MembershipUnavailable."""
        try:
            yield
        except (sa.exc.SQLAlchemyError, OSError) as exc:
            # TimeoutError (a frozen server) is an OSError.
            reason = base.mask(str(exc).splitlines()[0] or type(exc).__name__)
            raise exception.MembershipUnavailable(
                self.backend, f'cannot {action}: {reason}', exc
            ) from exc
