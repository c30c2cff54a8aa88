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
embedded default; PostgreSQL and MySQL work through their URLs.
"""

import datetime
import json
import threading
from typing import Any

from oslo_config import cfg
import sqlalchemy as sa
from sqlalchemy.ext import compiler
from sqlalchemy.sql import expression

from hashring import exception
from hashring.membership import base

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


def make_table(metadata: sa.MetaData) -> sa.Table:
    """Return the members table, defined on ``metadata``."""
    return sa.Table(
        TABLE,
        metadata,
        sa.Column('group_name', sa.String(255), primary_key=True),
        sa.Column('member_id', sa.String(255), primary_key=True),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('weight', sa.Integer, nullable=False, default=1),
        sa.Column('attributes', sa.Text, nullable=False, default='{}'),
        sa.Column('heartbeat_at', sa.DateTime(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Index('hashring_members_heartbeat_idx', 'heartbeat_at'),
    )


class SQLSource(base.MembershipSource):
    """Members in a database table (``[hashring] connection``).

    The table is created on first use, or by :meth:`create_schema`.  The
    heartbeat thread also deletes the records of members that have not
    heartbeat for ``[hashring] retention`` seconds.

    :param conf: as for :class:`~hashring.membership.MembershipSource`.
    :param overrides: option values, for example
        ``connection='sqlite:////var/lib/hashring/members.sqlite'``.
    :raises hashring.exception.InvalidArgumentError: no URL, a malformed
        URL, or a URL whose database driver is not installed.
    """

    name = 'sql'

    def __init__(
        self, conf: cfg.ConfigOpts | None = None, **overrides: Any
    ) -> None:
        super().__init__(conf, **overrides)
        url = self.required_option('connection')
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError as exc:
            raise exception.InvalidArgumentError(
                f'Invalid database URL {url!r}: {exc}'
            ) from exc
        self.url = parsed.render_as_string(hide_password=True)
        timeout = float(self.option('read_timeout'))
        kwargs: dict[str, Any] = {'pool_pre_ping': True}
        if parsed.get_backend_name() == 'sqlite':
            # Wait for another process's write lock rather than fail.
            kwargs['connect_args'] = {'timeout': timeout}
        elif parsed.get_backend_name() in ('postgresql', 'mysql', 'mariadb'):
            kwargs['connect_args'] = {'connect_timeout': max(1, int(timeout))}
        try:
            self.engine = sa.create_engine(parsed, **kwargs)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise exception.InvalidArgumentError(
                f'Cannot use database URL {self.url!r}: {exc}'
            ) from exc
        self.table = make_table(sa.MetaData())
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    @property
    def backend(self) -> str:
        return f'sql ({self.url})'

    def create_schema(self) -> None:
        """Create the members table if it does not exist.

        :raises hashring.exception.MembershipUnavailable: the database could
            not be reached.
        """
        with self._errors('create the members table'):
            try:
                self.table.metadata.create_all(self.engine)
            except (
                sa.exc.IntegrityError,
                sa.exc.OperationalError,
                sa.exc.ProgrammingError,
            ):
                # Another process created it between our check and our
                # CREATE; anything else is a real error.
                if not sa.inspect(self.engine).has_table(TABLE):
                    raise
        self._schema_ready = True

    def _ensure_schema(self) -> None:
        if not self._schema_ready:
            with self._schema_lock:
                if not self._schema_ready:
                    self.create_schema()

    def _read(self, group: str) -> tuple[list[base.Record], datetime.datetime]:
        self._ensure_schema()
        t = self.table
        with self._errors(f'read group {group!r}'):
            with self.engine.connect() as conn:
                now = conn.scalar(sa.select(utc_now()))
                rows = conn.execute(
                    sa.select(
                        t.c.member_id,
                        t.c.state,
                        t.c.weight,
                        t.c.attributes,
                        t.c.heartbeat_at,
                    ).where(t.c.group_name == group)
                ).all()
        return [self._record(group, *row) for row in rows], _aware(now)

    def _record(
        self,
        group: str,
        member_id: str,
        state: str,
        weight: int,
        attributes: str,
        heartbeat: datetime.datetime,
    ) -> base.Record:
        try:
            return base.Record(
                member_id,
                base.State(state),
                base.check_weight(member_id, weight),
                base.check_attributes(member_id, json.loads(attributes)),
                _aware(heartbeat),
            )
        except (ValueError, exception.HashRingError) as exc:
            raise exception.MembershipUnavailable(
                self.backend,
                f'bad record {member_id!r} in group {group!r}: {exc}',
                exc,
            ) from exc

    def _register(self, group: str, record: base.Record) -> None:
        self._ensure_schema()
        t = self.table
        values = {
            'state': record.state.value,
            'weight': record.weight,
            'attributes': json.dumps(dict(record.attributes), sort_keys=True),
            'heartbeat_at': utc_now(),
        }
        mine = (t.c.group_name == group) & (t.c.member_id == record.id)
        with self._errors(f'register {record.id!r} in group {group!r}'):
            with self.engine.begin() as conn:
                if conn.execute(
                    t.update().where(mine).values(**values)
                ).rowcount:
                    return
            try:
                with self.engine.begin() as conn:
                    conn.execute(
                        t.insert().values(
                            group_name=group,
                            member_id=record.id,
                            created_at=utc_now(),
                            **values,
                        )
                    )
            except sa.exc.IntegrityError:
                # Inserted meanwhile by this member's other thread.
                with self.engine.begin() as conn:
                    conn.execute(t.update().where(mine).values(**values))

    def _beat(self, groups: list[str], record: base.Record) -> list[str]:
        t = self.table
        forgotten = []
        with self._errors(f'heartbeat {record.id!r}'):
            with self.engine.begin() as conn:
                for group in groups:
                    result = conn.execute(
                        t.update()
                        .where(
                            (t.c.group_name == group)
                            & (t.c.member_id == record.id)
                        )
                        .values(heartbeat_at=utc_now())
                    )
                    if not result.rowcount:
                        forgotten.append(group)
        return forgotten

    def _unregister(self, group: str, member_id: str) -> None:
        t = self.table
        with self._errors(f'remove {member_id!r} from group {group!r}'):
            with self.engine.begin() as conn:
                conn.execute(
                    t.delete().where(
                        (t.c.group_name == group)
                        & (t.c.member_id == member_id)
                    )
                )

    def cleanup(self) -> int:
        """Delete records that have not heartbeat for ``retention`` seconds.

        :returns: how many records were deleted.
        :raises hashring.exception.MembershipUnavailable: the database could
            not be reached.
        """
        self._ensure_schema()
        t = self.table
        with self._errors('clean up old records'):
            with self.engine.begin() as conn:
                now = _aware(conn.scalar(sa.select(utc_now())))
                threshold = now.replace(tzinfo=None) - datetime.timedelta(
                    seconds=self.retention
                )
                removed = conn.execute(
                    t.delete().where(t.c.heartbeat_at < threshold)
                ).rowcount
        if removed:
            base.LOG.info(
                'Deleted %d member record(s) older than %ds from %s',
                removed,
                self.retention,
                self.backend,
            )
        return int(removed)

    def _close(self) -> None:
        self.engine.dispose()

    def _errors(self, action: str) -> Any:
        return _translate(self.backend, action)


class _translate:
    """Turn database errors into MembershipUnavailable."""

    def __init__(self, backend: str, action: str) -> None:
        self.backend = backend
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if exc is not None and isinstance(exc, sa.exc.SQLAlchemyError):
            reason = str(exc).splitlines()[0]
            raise exception.MembershipUnavailable(
                self.backend, f'cannot {self.action}: {reason}', exc
            ) from exc


def _aware(stamp: Any) -> datetime.datetime:
    """Return a naive UTC timestamp from the database as an aware one."""
    if isinstance(stamp, str):
        stamp = datetime.datetime.fromisoformat(stamp)
    if not isinstance(stamp, datetime.datetime):
        raise TypeError(f'expected a timestamp from the database: {stamp!r}')
    return stamp.replace(tzinfo=datetime.timezone.utc)
