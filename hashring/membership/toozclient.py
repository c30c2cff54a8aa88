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

"""The tooz driver's client: a coordinator on a worker, and its reads.

:mod:`hashring.membership.tooz` calls tooz through :class:`Client`, whose
calls run on a worker thread of its own and are abandoned at a deadline
(:mod:`hashring.membership.bounded`); a fresh one replaces it when
a ZooKeeper that lost its data refuses it (:data:`RENEWED`).
:func:`members_of` reads a group,
in one request where tooz can (9.1 and later), else a request per member.
:func:`failures` names what a call raises when the backend fails: tooz's
errors, and those of the backend's client library that tooz lets through.
"""

from collections.abc import Callable
import threading
import time
from typing import Any
from typing import TypeVar
import urllib.parse

from oslo_utils import importutils
from tooz import coordination

from hashring.membership import base
from hashring.membership import bounded
from hashring.membership import sessions

T = TypeVar('T')

#: The base error of each backend's client library.  tooz lets some
#: through: redis-py raises its ConnectionError once its retries of a
#: refused connection are spent (about 4 s), well within read_timeout.
CLIENT_ERRORS = {
    'redis': 'redis.exceptions.RedisError',
    'rediss': 'redis.exceptions.RedisError',
    'etcd3+http': 'etcd3gw.exceptions.Etcd3Exception',
    'etcd3+https': 'etcd3gw.exceptions.Etcd3Exception',
    'zookeeper': 'kazoo.exceptions.KazooException',
    'kazoo': 'kazoo.exceptions.KazooException',
}

#: Whether this tooz reads a group's members and their capabilities in
#: one request.  tooz added it in 9.1, which needs Python 3.11; older
#: releases (8.1 is the last for Python 3.10) take a request per member.
READS_WHOLE_GROUPS = hasattr(
    coordination.CoordinationDriver, 'get_members_with_capabilities'
)

#: Seconds close() waits for a backend to let go of a member: a frozen
#: server must not hold a service's shutdown.
CLOSE_TIMEOUT = 2.0


def failures(scheme: str) -> tuple[type[BaseException], ...]:
    """Return the errors a call raises when a tooz backend fails.

    :param scheme: the backend URL's scheme; its tooz driver, and so its
        client library, is already imported.
    :returns: tooz's errors, ``OSError`` (a frozen server's deadline is a
        ``TimeoutError``), ``UnicodeError`` (tooz's ZooKeeper driver
        meeting a member id it cannot read), and the client library's
        base error (:data:`CLIENT_ERRORS`).
    """
    client = CLIENT_ERRORS.get(scheme)
    return (
        coordination.ToozError,
        OSError,
        UnicodeError,
        *([importutils.import_class(client)] if client else []),
    )


#: tooz backends whose client a fresh one replaces after an outage of
#: ``renew_after``: kazoo will not reconnect to a ZooKeeper behind the
#: last transaction it saw (an ensemble that lost its data), and tooz
#: makes its namespace only when a coordinator starts.
RENEWED = frozenset({'zookeeper', 'kazoo'})

#: The most seconds the renewal probe sleeps at once: Python 3.10's
#: ``time.sleep()`` resumes after a stop of the process for what was left.
PROBE_STEP = 1.0

#: The group a fresh reader's client reads to show that the backend
#: answers it.
PROBE_GROUP = b'hashring-probe'


class Client:
    """One tooz coordinator, used from one worker thread at a time.

    :param url: the tooz backend URL.
    :param member_id: the coordinator's member id.
    :param timeout: seconds a call may take.
    :param renew_after: for the :data:`RENEWED` backends, seconds of
        failed calls after which a fresh coordinator is tried, in the
        background, while this one is still not connected; the next call
        moves to it once it has read the backend and no group this one
        joined lists its member any more.  None: never.
    :param on_lost: called (on kazoo's thread; it must not block) when a
        ZooKeeper session of this client ends, and the records it held
        with it.
    :param reconnect_within: for ZooKeeper, the most seconds between
        kazoo's attempts to connect again (its own back-off grows to an
        hour); None: kazoo's.
    :param stalls: where the calls count the process's stalls.
    """

    def __init__(
        self,
        url: str,
        member_id: str,
        timeout: float,
        renew_after: float | None = None,
        on_lost: Callable[[], None] | None = None,
        reconnect_within: float | None = None,
        stalls: bounded.Stalls | None = None,
    ) -> None:
        self.url = url
        self.member_id = member_id.encode('utf-8')
        self.timeout = timeout
        self.coordinator: Any = None
        self.caller = bounded.Caller('hashring-tooz', timeout, stalls=stalls)
        scheme = urllib.parse.urlsplit(url).scheme
        self._renew_after = renew_after if scheme in RENEWED else None
        self._failing_since: float | None = None
        self._probing = False
        self._fresh: Client | None = None
        self._closed = False
        self._on_lost = on_lost
        self._reconnect_within = reconnect_within
        self._options: dict[str, Any] = {}
        if reconnect_within is not None and scheme in RENEWED:
            # A session outlives a server's restart by its timeout,
            # dead_after: a client whose next try comes later (kazoo's
            # back-off, doubling from 0.1 s, is past 6 s after a 10 s
            # outage) loses it, and its member is judged dead.
            self._options['connection_retry'] = {
                'max_tries': -1,
                'delay': 0.1,
                'backoff': 2,
                'max_delay': reconnect_within,
            }
        self._lock = threading.Lock()

    def call(self, func: Callable[[Any], T]) -> T:
        """Run func(coordinator) on the worker, within the deadline."""

        def run() -> T:
            if self.coordinator is None:
                coordinator = coordination.get_coordinator(
                    self.url, self.member_id, **self._options
                )
                sessions.note_lengths(coordinator)
                coordinator.start(start_heart=False)
                self._listen(coordinator)
                self.coordinator = coordinator
            return func(self.coordinator)

        self._move_to_fresh()
        started = time.monotonic()
        if self._renew_after is not None and not self._connected():
            # Its call may wait out the deadline (the first after an
            # outage began, too): renewal counts from now.
            self._failed(started)
        try:
            result = self.caller.call(run)
        except Exception:
            self._failed(started)
            raise
        self._failing_since = None
        return result

    @property
    def session_length(self) -> float | None:
        """Seconds of the ZooKeeper session this client last got, or None.

        The server forgets the records of a session it has not heard from
        for that long: by default 2 to 20 of its ticks, whatever was asked.
        """
        return sessions.length(self.coordinator)

    def _listen(self, coordinator: Any) -> None:
        # A member learns at once that its session ended, rather than at
        # its next heartbeat, while its peers already take its keys.
        client: Any = getattr(coordinator, '_coord', None)
        on_lost = self._on_lost
        if on_lost is not None and hasattr(client, 'add_listener'):
            client.add_listener(
                lambda state: on_lost() if state == 'LOST' else None
            )

    def _connected(self) -> bool:
        # kazoo's client says whether it holds a connection; others are
        # taken to reconnect by themselves.
        return bool(getattr(self._client(), 'connected', True))

    def _client(self) -> Any:
        return getattr(self.coordinator, '_coord', None)

    def _failed(self, started: float) -> None:
        with self._lock:
            if self._failing_since is None:
                self._failing_since = started
            if (
                self._renew_after is None
                or self._probing
                or self._closed
                or self._fresh is not None
            ):
                return
            self._probing = True
        threading.Thread(
            target=self._renew, name='hashring-tooz-probe', daemon=True
        ).start()

    def _renew(self) -> None:
        """Try fresh clients while this one fails and is not connected.

        Every ``renew_after`` from the first failure, until a call works
        again, this client reconnects, or a fresh one reads the backend:
        then this one's connection is closed, so that a call stuck on it
        fails at once rather than at its deadline, and the next call
        moves to the fresh one (:meth:`_move_to_fresh`).  Each member
        thus writes again within about ``renew_after`` of the server's
        return, not within calls of ``read_timeout`` each, which its
        peers, reading through clients that moved sooner, would take for
        a crash.
        """
        assert self._renew_after is not None
        while True:
            with self._lock:
                since = self._failing_since
                if self._closed or since is None:
                    self._probing = False  # closed, or a call worked
                    return
                wait = since + self._renew_after - time.monotonic()
            if wait > 0:
                time.sleep(min(wait, PROBE_STEP))
                continue
            fresh = None if self._connected() else self._probe()
            with self._lock:
                if fresh is not None and not self._closed:
                    self._fresh, self._probing = fresh, False
                    # This one's, before a call moves to the fresh one.
                    old = self._client()
                    break
                # Not again before another renew_after.
                self._failing_since = time.monotonic()
            if fresh is not None:
                _retire(fresh.coordinator, fresh.caller)  # closed meanwhile
        if old is not None:
            threading.Thread(target=_stop, args=(old,), daemon=True).start()

    def _probe(self) -> 'Client | None':
        """Return a fresh client that read the backend, or None."""
        fresh = Client(
            self.url,
            self.member_id.decode(),
            self.timeout,
            reconnect_within=self._reconnect_within,
            stalls=self.caller.stalls,
        )
        # The groups this client's session joined: while one still lists
        # the member, the session lives on in the server (a ZooKeeper back
        # with its data), and this client will reconnect to it; a fresh
        # session would lose the member's record when the old one ends.
        joined = sorted(getattr(self.coordinator, '_joined_groups', ()))
        member = self.member_id

        def probe(coordinator: Any) -> None:
            for group in joined or [PROBE_GROUP]:
                try:
                    listed = members_of(coordinator, group)
                except coordination.GroupNotCreated:
                    continue  # the backend answered
                if member in listed:
                    raise coordination.ToozError(
                        'the old session still holds the member'
                    )

        try:
            fresh.call(probe)
        except Exception as exc:
            base.LOG.debug('A fresh tooz client failed too: %s', exc)
            _retire(fresh.coordinator, fresh.caller)
            return None
        return fresh

    def _move_to_fresh(self) -> None:
        with self._lock:
            fresh, self._fresh = self._fresh, None
        if fresh is None:
            return
        if self._connected():
            _retire(
                fresh.coordinator, fresh.caller
            )  # this one came back meanwhile
            return
        base.LOG.warning(
            'The tooz client of %s to %s failed for longer than %gs and '
            'is not connected, while a new one reads the backend: moving '
            'to the new one (a ZooKeeper that lost its data refuses the '
            'old)',
            self.member_id.decode(),
            base.mask_url(self.url),
            self._renew_after,
        )
        _retire(self.coordinator, self.caller)
        self._listen(fresh.coordinator)
        self.coordinator, self.caller = fresh.coordinator, fresh.caller
        self._failing_since = None

    def close(self) -> None:
        """Stop the coordinator, waiting :data:`CLOSE_TIMEOUT` at most."""

        def stop() -> None:
            if self.coordinator is not None:
                try:
                    self.coordinator.stop()
                finally:
                    self.coordinator = None

        try:
            self.caller.call(stop, min(self.timeout, CLOSE_TIMEOUT))
        except Exception as exc:
            base.LOG.debug(
                'Stopping the tooz coordinator failed: %s', base.mask(exc)
            )
            # Its stop, stuck on a frozen or lost server, would hold the
            # client, which tries to reconnect for ever, then leaves: the
            # record of a member that may have joined again meanwhile.
            # The caller closes once the connection has.
            _retire(self.coordinator, self.caller)
        else:
            self.caller.close()
        with self._lock:
            self._closed = True
            fresh, self._fresh = self._fresh, None
        if fresh is not None:
            _retire(fresh.coordinator, fresh.caller)


def _stop(client: Any) -> None:
    """Close a kazoo client's connection: the calls waiting on it fail."""
    try:
        client.stop()
        client.close()
    except Exception as exc:
        base.LOG.debug('Stopping a tooz client failed: %s', exc)


def _retire(coordinator: Any, caller: bounded.Caller) -> None:
    """Close a coordinator's connection in the background, without a leave.

    A leave would remove the member's record, which a fresh client now
    keeps; closing the connection also ends a call stuck on it.
    """
    client = getattr(coordinator, '_coord', None)

    def stop() -> None:
        if client is not None:
            _stop(client)
        caller.close()

    threading.Thread(
        target=stop, name='hashring-tooz-retire', daemon=True
    ).start()


def members_of(coordinator: Any, group: bytes) -> dict[bytes, Any]:
    """Return the members of a tooz group and their capabilities.

    Runtime complexity: one request, or (tooz before 9.1, or a driver
    without the call) ``1 + m`` requests for ``m`` members.

    :param coordinator: a started tooz coordinator.
    :param group: the group's id.
    :returns: ``{member id: capabilities}``, as the backend has them.
    :raises tooz.coordination.GroupNotCreated: there is no such group.
    :raises: the errors of :func:`failures`, where the backend fails.
    """
    if READS_WHOLE_GROUPS:
        try:
            return dict(coordinator.get_members_with_capabilities(group).get())
        except NotImplementedError:
            pass  # a driver without it: a request per member, as before 9.1
    found: dict[bytes, Any] = {}
    for member in coordinator.get_members(group).get():
        try:
            found[member] = coordinator.get_member_capabilities(
                group, member
            ).get()
        except coordination.MemberNotJoined:
            # It left between the two requests: no longer a member, as
            # the next read would say.  (Not an outage: the backend
            # answered.)
            continue
    return found
