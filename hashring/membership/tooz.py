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
and is abandoned after ``read_timeout`` seconds: a read during an outage
fails with MembershipUnavailable in bounded time, and a call still stuck
in tooz's retries does not keep the process from exiting.
"""

from collections.abc import Callable
import concurrent.futures
import datetime
import importlib.metadata
import json
import queue
import threading
from typing import Any
from typing import TypeVar
import urllib.parse
import uuid
import weakref

from oslo_config import cfg
from oslo_utils import strutils
from tooz import coordination

from hashring import exception
from hashring.membership import base

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


_Call = tuple[Callable[[], Any], concurrent.futures.Future[Any]]


class _Worker:
    """Run calls in order on one daemon thread, started by the first call.

    Not a ``ThreadPoolExecutor``: Python joins an executor's threads when it
    exits (futurist's too), so a call stuck in tooz's retries, which last
    about a minute for a refused Redis connection, would hold a process
    that has finished, a command-line run for one, for that long.
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        # A worker dropped without shutdown() still ends its thread.
        weakref.finalize(self, self._calls.put, None)

    def submit(self, func: Callable[[], T]) -> concurrent.futures.Future[T]:
        """Queue a call; returns its future."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=_serve,
                    args=(self._calls,),
                    name=self._name,
                    daemon=True,
                )
                self._thread.start()
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        self._calls.put((func, future))
        return future

    def shutdown(self) -> None:
        """Let the thread end once the calls queued before are done."""
        self._calls.put(None)


def _serve(calls: queue.SimpleQueue[_Call | None]) -> None:
    """Run queued calls until a None; the loop of a _Worker's thread."""
    while (call := calls.get()) is not None:
        func, future = call
        if not future.set_running_or_notify_cancel():
            continue
        try:
            result = func()
        except BaseException as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)


class _Client:
    """One tooz coordinator, used from one worker thread at a time."""

    def __init__(self, url: str, member_id: str, timeout: float) -> None:
        self.url = url
        self.member_id = member_id.encode('utf-8')
        self.timeout = timeout
        self.coordinator: Any = None
        self.pool = _Worker('hashring-tooz')

    def call(self, func: Callable[[Any], T]) -> T:
        """Run func(coordinator) on the worker, within the deadline."""

        def run() -> T:
            if self.coordinator is None:
                coordinator = coordination.get_coordinator(
                    self.url, self.member_id
                )
                coordinator.start(start_heart=False)
                self.coordinator = coordinator
            return func(self.coordinator)

        future = self.pool.submit(run)
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise TimeoutError(f'no answer within {self.timeout:g}s') from None

    def close(self) -> None:
        def stop() -> None:
            if self.coordinator is not None:
                try:
                    self.coordinator.stop()
                finally:
                    self.coordinator = None

        future = self.pool.submit(stop)
        try:
            future.result(timeout=self.timeout)
        except Exception as exc:
            base.LOG.debug('Stopping the tooz coordinator failed: %s', exc)
        self.pool.shutdown()


class ToozSource(base.MembershipSource):
    """Members of tooz groups (``[hashring] backend_url``).

    Tested against Redis, etcd (``etcd3+http://``, tooz's etcd3gw driver)
    and tooz's file backend; ZooKeeper works through tooz's kazoo driver
    (``zookeeper://``, with the kazoo package installed).  A group that
    tooz reports missing is an empty group, because the backend answered;
    a backend that does not answer raises MembershipUnavailable.

    :param conf: as for :class:`~hashring.membership.MembershipSource`.
    :param overrides: option values, for example
        ``backend_url='etcd3+http://127.0.0.1:2379'``.
    :raises hashring.exception.InvalidArgumentError: no URL, or a URL whose
        scheme no installed tooz driver handles.
    """

    name = 'tooz'

    def __init__(
        self, conf: cfg.ConfigOpts | None = None, **overrides: Any
    ) -> None:
        super().__init__(conf, **overrides)
        url = self.required_option('backend_url')
        parsed = urllib.parse.urlsplit(url)
        # The names, without importing every tooz driver to learn them.
        schemes = sorted(
            ep.name
            for ep in importlib.metadata.entry_points(group='tooz.backends')
        )
        if parsed.scheme not in schemes:
            raise exception.InvalidArgumentError(
                f'Invalid tooz backend URL {mask_url(url)!r}: '
                f'no tooz driver for {parsed.scheme!r}; installed: '
                f'{", ".join(schemes)}'
            )
        param = _TIMEOUT_PARAMS.get(parsed.scheme)
        query = urllib.parse.parse_qs(parsed.query)
        if param and param not in query:
            # The backend expires members; make it do so after dead_after.
            query[param] = [str(max(1, round(self.dead_after)))]
            url = urllib.parse.urlunsplit(
                parsed._replace(query=urllib.parse.urlencode(query, True))
            )
        self.url = url
        self.timeout = float(self.option('read_timeout'))
        self._reader = _Client(
            url, f'hashring-reader-{uuid.uuid4().hex}', self.timeout
        )
        self._writer: _Client | None = None
        self._writer_lock = threading.Lock()

    @property
    def backend(self) -> str:
        return f'tooz ({mask_url(self.url)})'

    def _call(
        self, client: _Client, action: str, func: Callable[[Any], T]
    ) -> T:
        try:
            return client.call(func)
        except (coordination.ToozError, OSError, TimeoutError) as exc:
            raise exception.MembershipUnavailable(
                self.backend, f'cannot {action}: {exc}', exc
            ) from exc

    def _read(self, group: str) -> tuple[list[base.Record], datetime.datetime]:
        key = group.encode('utf-8')

        def members(coordinator: Any) -> dict[bytes, Any] | None:
            try:
                try:
                    return dict(
                        coordinator.get_members_with_capabilities(key).get()
                    )
                except NotImplementedError:
                    ids = coordinator.get_members(key).get()
                    return {
                        m: coordinator.get_member_capabilities(key, m).get()
                        for m in ids
                    }
            except coordination.GroupNotCreated:
                # The backend answered: the group has no members.
                return None

        found = self._call(self._reader, f'read group {group!r}', members)
        now = base.utcnow()
        if not found:
            return [], now
        return [
            self._record(group, member, caps) for member, caps in found.items()
        ], now

    def _record(self, group: str, member: Any, caps: Any) -> base.Record:
        member_id = (
            member.decode('utf-8') if isinstance(member, bytes) else member
        )
        try:
            if isinstance(caps, bytes):
                try:
                    caps = json.loads(caps)
                except ValueError:
                    caps = None
            if not isinstance(caps, dict):
                # A member that joined without hashring's capabilities (a
                # tooz Partitioner's carry a weight, which is kept).
                caps = {}
            return base.Record(
                member_id,
                base.State(caps.get('state', 'up')),
                base.check_weight(member_id, caps.get('weight', 1)),
                base.check_attributes(member_id, caps.get('attributes')),
                None,
            )
        except (ValueError, exception.HashRingError) as exc:
            raise exception.MembershipUnavailable(
                self.backend,
                f'bad record {member_id!r} in group {group!r}: {exc}',
                exc,
            ) from exc

    def _writer_for(self, member_id: str) -> _Client:
        with self._writer_lock:
            if self._writer is None:
                self._writer = _Client(self.url, member_id, self.timeout)
            return self._writer

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

    def _register(self, group: str, record: base.Record) -> None:
        key = group.encode('utf-8')
        caps = self._caps(record)

        def join(coordinator: Any) -> None:
            try:
                coordinator.create_group(key).get()
            except coordination.GroupAlreadyExist:
                pass
            try:
                coordinator.join_group(key, caps).get()
            except coordination.MemberAlreadyExist:
                try:
                    coordinator.update_capabilities(key, caps).get()
                except NotImplementedError:
                    # tooz's file driver cannot change capabilities.
                    coordinator.leave_group(key).get()
                    coordinator.join_group(key, caps).get()

        self._call(
            self._writer_for(record.id),
            f'register {record.id!r} in group {group!r}',
            join,
        )

    def _beat(self, groups: list[str], record: base.Record) -> list[str]:
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

        return self._call(
            self._writer_for(record.id), f'heartbeat {record.id!r}', beat
        )

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

    def _close(self) -> None:
        self._close_writer()
        self._reader.close()
        self._reader = _Client(
            self.url, f'hashring-reader-{uuid.uuid4().hex}', self.timeout
        )


def mask_url(url: str) -> str:
    """Return a URL with its password, in userinfo or query, masked."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is not None:
        host = parts.netloc.rpartition('@')[2]
        user = parts.username or ''
        parts = parts._replace(netloc=f'{user}:***@{host}')
    return strutils.mask_password(urllib.parse.urlunsplit(parts))
