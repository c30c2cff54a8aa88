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

"""The tooz driver: group membership in a tooz coordination backend.

Each member joins a tooz group with capabilities that carry its state,
weight and attributes; the backend itself forgets a member that stops
heartbeating (a lease in etcd, a key expiry in Redis, a session in
ZooKeeper), after ``dead_after`` seconds.  tooz's drivers retry a lost
connection for a long time, so every call here runs on a worker thread
and is abandoned after ``read_timeout`` seconds
(:class:`hashring.membership.toozclient.Client`): a read during an outage
fails with MembershipUnavailable in bounded time.  tooz's own executor is
set to run calls synchronously on that worker (``executor=synchronous``),
because Python joins an executor's threads at exit, and a call stuck on a
frozen server would hold the process for minutes.
"""

from collections.abc import Callable
import datetime
import importlib.metadata
import json
import threading
from typing import Any
from typing import TypeVar
import urllib.parse
import uuid

from oslo_config import cfg
from tooz import coordination

from hashring import exception
from hashring.membership import base
from hashring.membership import sessions
from hashring.membership import toozclient

T = TypeVar('T')

#: URL parameters, per tooz backend, that set how long a member that
#: stopped heartbeating stays in its groups.
_TIMEOUT_PARAMS = {
    'redis': 'membership_timeout',
    'rediss': 'membership_timeout',
    'etcd3+http': 'membership_timeout',
    'etcd3+https': 'membership_timeout',
    'file': 'timeout',
    'zookeeper': 'timeout',
    'kazoo': 'timeout',
}


# kazoo's driver decodes the member ids it lists as ASCII.
_UNREADABLE = 'reads only ASCII member ids: its group would become unreadable'
# tooz's etcd3gw driver, from tooz 9.0, decodes the key in leave_group()
# as UTF-8, and etcd3gw encodes it back as Latin-1: the key deleted is
# another.  Refused with tooz 8 as well: both share a group in an upgrade.
_UNREMOVABLE = (
    'removes only ASCII member ids: the record would stay, on the ring, '
    'until dead_after after leave()'
)

#: tooz drivers that can keep only ASCII member ids, and why.
ASCII_ONLY = {
    'zookeeper': _UNREADABLE,
    'kazoo': _UNREADABLE,
    'etcd3+http': _UNREMOVABLE,
    'etcd3+https': _UNREMOVABLE,
}


class ToozSource(base.MembershipSource):
    """Members of tooz groups (``[hashring] backend_url``).

    Tested against Redis, etcd (``etcd3+http://``, tooz's etcd3gw driver),
    ZooKeeper (``zookeeper://``, tooz's kazoo driver) and tooz's file
    backend.  A group that
    tooz reports missing is an empty group, because the backend answered;
    a backend that does not answer raises MembershipUnavailable.

    :param conf: as for :class:`~hashring.membership.MembershipSource`.
    :param overrides: option values, for example
        ``backend_url='etcd3+http://127.0.0.1:2379'``.
    :raises hashring.exception.InvalidArgumentError: no URL, or a URL whose
        scheme no installed tooz driver handles.
    :raises hashring.exception.MissingDependency: the client library of the
        URL's backend (redis, etcd3gw, kazoo) is not installed.
    """

    name = 'tooz'
    # tooz leaves the group when the client's session ends.
    durable_records = False

    def __init__(
        self, conf: cfg.ConfigOpts | None = None, **overrides: Any
    ) -> None:
        super().__init__(conf, **overrides)
        url = self.required_option('backend_url')
        parsed = urllib.parse.urlsplit(url)
        # The names, without importing every tooz driver to learn them.
        backends = {
            ep.name: ep
            for ep in importlib.metadata.entry_points(group='tooz.backends')
        }
        if parsed.scheme not in backends:
            raise exception.InvalidArgumentError(
                f'Invalid tooz backend URL {base.mask_url(url)!r}: '
                f'no tooz driver for {parsed.scheme!r}; installed: '
                f'{", ".join(sorted(backends))}'
            )
        try:
            # Now rather than at the first call, which would report a
            # missing client library as an outage.
            backends[parsed.scheme].load()
        except ModuleNotFoundError as exc:
            raise exception.MissingDependency(
                f'The tooz backend {parsed.scheme!r}', exc.name or '?'
            ) from None
        try:
            parsed.port
        except ValueError as exc:
            raise exception.InvalidArgumentError(
                f'Invalid tooz backend URL {base.mask_url(url)!r}: {exc}'
            ) from exc
        param = _TIMEOUT_PARAMS.get(parsed.scheme)
        query = urllib.parse.parse_qs(parsed.query)
        if param and param not in query:
            # The backend expires members; make it do so after dead_after.
            query[param] = [str(max(1, round(self.dead_after)))]
        # Calls already run on a worker of ours; a thread pool of tooz's
        # would be joined at exit, stuck calls and all.
        query.setdefault('executor', ['synchronous'])
        url = urllib.parse.urlunsplit(
            parsed._replace(query=urllib.parse.urlencode(query, True))
        )
        self.url = url
        self._ascii_only = ASCII_ONLY.get(parsed.scheme)
        self._failures = toozclient.failures(parsed.scheme)
        self.timeout = self.read_timeout
        self._reader = self._client(f'hashring-reader-{uuid.uuid4().hex}')
        self._writer: toozclient.Client | None = None
        self._writer_lock = threading.Lock()
        # The session length last warned of (_check_session()).
        self._warned_session: float | None = None

    def _client(
        self, member_id: str, on_lost: Any = None
    ) -> toozclient.Client:
        # Past dead_after of failures the backend has expired this
        # client's members anyway: a fresh client loses nothing.
        return toozclient.Client(
            self.url,
            member_id,
            self.timeout,
            renew_after=self.dead_after,
            on_lost=on_lost,
            reconnect_within=self.heartbeat_interval,
            stalls=self._stalls,
        )

    @property
    def backend(self) -> str:
        return f'tooz ({base.mask_url(self.url)})'

    def _call(
        self, client: toozclient.Client, action: str, func: Callable[[Any], T]
    ) -> T:
        try:
            return client.call(func)
        except self._failures as exc:
            # Some errors have no message (tooz's etcd driver, the server
            # gone): their name says what happened.
            reason = base.mask(exc) or type(exc).__name__
            raise exception.MembershipUnavailable(
                self.backend, f'cannot {action}: {reason}', exc
            ) from exc

    def _read_groups(
        self, groups: list[str] | None
    ) -> tuple[dict[str, list[base.Record]], datetime.datetime]:
        def members(coordinator: Any, key: bytes) -> dict[bytes, Any]:
            try:
                return toozclient.members_of(coordinator, key)
            except coordination.GroupNotCreated:
                # The backend answered: the group has no members.
                return {}

        def read(coordinator: Any) -> dict[str, dict[bytes, Any]]:
            # tooz has no call that reads several groups: one client, one
            # bounded call, a request per group.
            names = groups
            if names is None:
                names = sorted(
                    g.decode('utf-8', 'replace')
                    for g in coordinator.get_groups().get()
                )
                names = [n for n in names if base.GROUP_RE.fullmatch(n)]
            return {n: members(coordinator, n.encode('utf-8')) for n in names}

        found = self._call(self._reader, base.reading(groups), read)
        now = base.utcnow()
        result: dict[str, list[base.Record]] = {}
        for group, listed in found.items():
            records = result.setdefault(group, [])
            for member, caps in listed.items():
                try:
                    records.append(self._record(member, caps))
                except (TypeError, ValueError, exception.HashRingError) as exc:
                    self._bad_record(group, member, exc)
        return result, now

    def _record(self, member: Any, caps: Any) -> base.Record:
        member_id = (
            member.decode('utf-8') if isinstance(member, bytes) else member
        )
        if isinstance(caps, bytes):
            try:
                caps = json.loads(caps)
            except (ValueError, RecursionError):
                caps = None
        if not isinstance(caps, dict):
            # A member that joined without hashring's capabilities (a tooz
            # Partitioner's carry a weight, which is kept).
            caps = {}
        return base.Record(
            member_id,
            base.State(caps.get('state', 'up')),
            base.check_weight(member_id, caps.get('weight', 1)),
            base.check_attributes(member_id, caps.get('attributes')),
            None,
        )

    def _writer_for(self, member_id: str) -> toozclient.Client:
        with self._writer_lock:
            if self._writer is None:
                # Its session's end drops the member: join again at once.
                self._writer = self._client(member_id, self.beat_soon)
            return self._writer

    def _session_length(self) -> float | None:
        writer = self._writer
        return None if writer is None else writer.session_length

    def _check_session(self, member_id: str) -> None:
        """Warn once per length of a session that ends before dead_after."""
        session = self._session_length()
        if session is not None and session != self._warned_session:
            self._warned_session = session
            sessions.warn_if_short(
                member_id, session, self.dead_after, self.heartbeat_interval
            )

    @staticmethod
    def _caps(record: base.Record) -> bytes:
        return json.dumps(
            {
                'state': record.state.value,
                'weight': record.weight,
                'attributes': dict(record.attributes),
            },
            sort_keys=True,
        ).encode('utf-8')

    def _check_name(self, name: str) -> None:
        if self._ascii_only and not name.isascii():
            raise exception.InvalidMemberError(
                name,
                f"tooz's {urllib.parse.urlsplit(self.url).scheme} driver "
                f'{self._ascii_only}',
            )

    def _register(self, group: str, record: base.Record) -> None:
        key = group.encode('utf-8')
        caps = self._caps(record)

        def join(coordinator: Any) -> bool:
            # A write is a sign of life, and may come first after a pause
            # past dead_after (a claim published before the heartbeat
            # thread ran again): etcd refuses keys on the lease it
            # expired meanwhile ("Not Found") until tooz's heartbeat
            # renews it, and Redis peers drop a record whose heartbeat
            # key expired.  Not an outage: heartbeat, then write.
            coordinator.heartbeat()
            try:
                coordinator.create_group(key).get()
            except coordination.GroupAlreadyExist:
                pass
            try:
                coordinator.join_group(key, caps).get()
            except coordination.MemberAlreadyExist:
                if sessions.made_again(coordinator, key, caps):
                    return False
                try:
                    coordinator.update_capabilities(key, caps).get()
                except NotImplementedError:
                    # tooz's file driver cannot change capabilities.
                    coordinator.leave_group(key).get()
                    coordinator.join_group(key, caps).get()
                return False
            return True

        if self._call(
            self._writer_for(record.id),
            f'register {record.id!r} in group {group!r}',
            join,
        ):
            self._made_again(group)
        self._check_session(record.id)

    def _beat(
        self, groups: list[str], record: base.Record, recovering: bool
    ) -> list[str]:
        # The backend expires silent members itself: nothing to publish.
        me = record.id.encode('utf-8')

        def beat(coordinator: Any) -> list[str]:
            coordinator.heartbeat()
            lost = []
            for group in groups:
                try:
                    members = coordinator.get_members(group.encode()).get()
                except coordination.GroupNotCreated:
                    members = ()
                if me not in members:
                    lost.append(group)
            return lost

        lost = self._call(
            self._writer_for(record.id), f'heartbeat {record.id!r}', beat
        )
        self._check_session(record.id)
        return lost

    def _unregister(self, group: str, member_id: str) -> None:
        key = group.encode('utf-8')

        def leave(coordinator: Any) -> None:
            try:
                coordinator.leave_group(key).get()
            except (
                coordination.GroupNotCreated,
                coordination.MemberNotJoined,
            ):
                pass

        self._call(
            self._writer_for(member_id),
            f'remove {member_id!r} from group {group!r}',
            leave,
        )

    def leave(self) -> None:
        super().leave()
        self._close_writer()

    def _close_writer(self) -> None:
        with self._writer_lock:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def _let_go(self) -> None:
        # Dropped, not stopped, as after a fork: the member id is the other
        # process's now, and stopping this session would end its record
        # (tooz's Redis driver deletes the member's heartbeat key, and
        # ZooKeeper the member's node if this session made it).
        with self._writer_lock:
            self._writer = None

    def _after_fork(self) -> None:
        super()._after_fork()
        # Dropped, not stopped: stopping the parent's writer would end the
        # member's session, and with it its membership, for the parent.
        self._writer = None
        self._writer_lock = threading.Lock()
        self._reader = self._client(f'hashring-reader-{uuid.uuid4().hex}')

    def _close(self) -> None:
        self._close_writer()
        self._reader.close()
        self._reader = self._client(f'hashring-reader-{uuid.uuid4().hex}')
