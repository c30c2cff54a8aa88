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

"""Records that end with a ZooKeeper session, kept in the right one.

tooz's ZooKeeper driver makes a member's record a node of the writer's
session, which ZooKeeper deletes when the session ends.  Two processes of
one member can hold the record in turn (a restart before the crashed
process's session ended, or two processes run as one member by mistake):
:func:`made_again` keeps it in the session of the process that runs on.
A server grants a session of 2 to 20 of its ticks whatever the client
asks (its minSessionTimeout and maxSessionTimeout, by default), and kazoo
keeps the length it got nowhere but in a log line: :func:`note_lengths`
catches it, and :func:`length` gives it.
"""

import importlib
import json
from typing import Any

from tooz import coordination
from tooz import utils as tooz_utils

from hashring.membership import base
from hashring.membership import identity
from hashring.membership import streaks
from hashring.membership import values


def made_again(coordinator: Any, group: bytes, caps: bytes) -> bool:
    """Make this member's record again where another session made it.

    A ZooKeeper record is a node that ends with the session that made it:
    a process restarted before its crashed one's session ended finds that
    one's record, which would vanish while the new process runs (its
    peers would take its keys).  A record a later incarnation made stays
    in its session: that process runs on, and this one stops once it
    reads it (:mod:`hashring.membership.incarnations`); made again here,
    it would end when this process exits, under the later one.

    Runtime complexity: one request, and a transaction where it swaps.

    :param coordinator: tooz's ZooKeeper coordinator of this member.
    :param group: the group's id.
    :param caps: the record this member writes.
    :returns: whether it made it again: False where the record is this
        session's or a later incarnation's, or the backend is not
        ZooKeeper.
    """
    client: Any = getattr(coordinator, '_coord', None)
    if not hasattr(client, 'client_id'):
        return False  # not kazoo's: no record ends with a session
    kazoo_errors = importlib.import_module('kazoo.exceptions')
    path = coordinator._path_member(group, coordinator._member_id)
    try:
        data, found = client.get(path)
    except kazoo_errors.NoNodeError:
        return False
    session = client.client_id  # None once the connection dropped
    if session is None or found.ephemeralOwner == session[0]:
        return False
    theirs, ours = _incarnation_in(data, True), _incarnation_in(caps, False)
    if theirs is not None and ours is not None and theirs > ours:
        return False
    # One transaction, so that no read finds the member gone meanwhile.
    swap = client.transaction()
    swap.delete(path, version=found.version)
    swap.create(path, tooz_utils.dumps(caps), ephemeral=True)
    failed = [r for r in swap.commit() if isinstance(r, Exception)]
    if failed and client.exists(path) is None:
        # Its session ended meanwhile: the record is free to make.
        coordinator.join_group(group, caps).get()
    elif failed:
        raise failed[0]  # the delete's: the create's says rolled back
    return True


class _LengthNoted:
    """kazoo's connection logger, noting the session each connect got.

    Every other call, and every message, goes to the logger as before.
    """

    #: seconds of the session the server last granted; None before one
    granted: float | None = None

    def __init__(self, logger: Any) -> None:
        self._logger = logger

    def log(self, level: int, msg: Any, *args: Any, **kwargs: Any) -> None:
        # kazoo 2.x: "Session created, session_id: %r session_passwd: %s
        # negotiated session timeout: %s ...", in milliseconds.
        if (
            isinstance(msg, str)
            and msg.startswith('Session created')
            and len(args) > 2
            and isinstance(args[2], int)
        ):
            self.granted = args[2] / 1000.0
        self._logger.log(level, msg, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


def note_lengths(coordinator: Any) -> None:
    """Note the length of each session a ZooKeeper coordinator gets.

    Call it before the coordinator starts; a coordinator of another
    backend is left as it is.

    :param coordinator: a tooz coordinator, not yet started.
    """
    connection = _connection(coordinator)
    if hasattr(connection, 'logger'):
        connection.logger = _LengthNoted(connection.logger)


def length(coordinator: Any) -> float | None:
    """Return the seconds of the session a coordinator's server granted.

    :param coordinator: a tooz coordinator, or None.
    :returns: the length of its last session, after which the server
        forgets the member's records unheard; None for another backend,
        before the first session, or where kazoo did not log it.
    """
    logger = getattr(_connection(coordinator), 'logger', None)
    return getattr(logger, 'granted', None)


def _connection(coordinator: Any) -> Any:
    """Return kazoo's connection handler of a coordinator, or None."""
    return getattr(getattr(coordinator, '_coord', None), '_connection', None)


def warn_if_short(
    member_id: str, session: float, dead_after: float, heartbeat: float
) -> None:
    """Warn where the server granted a session shorter than dead_after.

    :param member_id: the member whose session it is.
    :param session: the seconds granted (:func:`length`).
    :param dead_after: the source's ``dead_after``.
    :param heartbeat: the source's ``heartbeat_interval``.
    """
    if session >= dead_after:
        return
    base.LOG.warning(
        'ZooKeeper gave member %s a session of %gs, shorter than dead_after '
        '(%gs): its peers lose its record after %gs unheard. The member '
        'counts its own silences against that (a pause past it makes it '
        'check what it holds with its peers); to keep dead_after, give the '
        'server a maxSessionTimeout of at least %d ms (it grants 2 to 20 '
        'ticks by default)%s',
        member_id,
        session,
        dead_after,
        session,
        round(dead_after * 1000),
        ''
        if session * (1 - streaks.SESSION_MARGIN) > heartbeat
        else f'. heartbeat_interval ({heartbeat:g}s) is too long for such a '
        f'session: every heartbeat would look late',
    )


def _incarnation_in(caps: bytes, packed: bool) -> str | None:
    """Return the incarnation a record's capabilities carry, or None.

    :param caps: the capabilities, as the driver writes them.
    :param packed: whether they are as ZooKeeper holds them (packed by
        tooz).
    """
    try:
        record = json.loads(tooz_utils.loads(caps) if packed else caps)
        incarnation = record['attributes'][values.INCARNATION_ATTRIBUTE]
    except (coordination.ToozError, ValueError, TypeError, KeyError):
        return None  # another writer's, or an older release's: none
    return identity.incarnation_of(incarnation)
