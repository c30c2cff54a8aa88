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
"""

import importlib
import json
from typing import Any

from tooz import coordination
from tooz import utils as tooz_utils

from hashring.membership import identity
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
