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

"""How a member leaves under the handoff protocol, keeping its keys.

A member that leaves drains first (:meth:`Leaving.drain`): its peers move
to rings without it but take none of its keys while its published ring
still gives them to it.  Once every live peer applies a ring without it
(:meth:`Leaving.waiting_for` is empty), it leaves the membership
(:meth:`Leaving.leave`), and its peers take the keys at their next call:
never managed twice, and unmanaged only until then.
"""

import logging
import threading
import time
import typing
from typing import Any

from hashring import _validate
from hashring import exception
from hashring import handover
from hashring.membership import values
from hashring import published

# The protocol's logger: operators know its messages by this name.
LOG = logging.getLogger('hashring.handoff')


class Leaving:
    """The leave of :class:`hashring.handoff.Protocol` (a mixin)."""

    if typing.TYPE_CHECKING:
        # What Protocol provides, for the type checker.
        manager: Any
        host: str
        _lock: threading.Lock
        _holding: bool
        _groups: dict[str, handover.Group]

    def drain(self) -> None:
        """Take this member off the ring, and keep its keys until it leaves.

        The peers move to rings without it, but take none of the keys it
        holds while it is a member: its published ring still gives them
        to it, and it keeps answering them as its own.  Once every peer
        applies a ring without it, :meth:`leave` removes its record and
        they take the keys at their next call - never twice, and
        unmanaged only until then.  (The source's own
        :meth:`~hashring.membership.MembershipSource.drain` hands them
        over while the member runs, as any ring change does: for a member
        kept out of the ring but not leaving.)

        :raises hashring.exception.MembershipUnavailable: as the source's
            ``drain()``; the keys are held from now all the same.
        """
        with self._lock:
            self._holding = True
            for state in self._groups.values():
                state.holding = True
        self.manager.source.drain()

    def waiting_for(self) -> list[str]:
        """Return the peers whose published rings still place this member.

        Only peers that may take its keys count: live, and not draining
        themselves (a draining peer takes nothing, and one that leaves
        too never applies a ring without this member while it holds).

        Runtime complexity: one membership read of every group it joined.

        :returns: their ids, in order; empty when every such peer that
            publishes a claim applies a ring without this member.
        :raises hashring.exception.MembershipUnavailable: a group could
            not be read.
        """
        source = self.manager.source
        waiting: set[str] = set()
        for snapshot in source.get_groups(sorted(source.groups)).values():
            waiting.update(
                m.id
                for m in snapshot
                if m.state is values.State.UP
                and m.claim is not None
                and m.id != self.host
                and published.gives_to(m.claim, self.host)
            )
        return sorted(waiting)

    def leave(self, timeout: float | None = None) -> bool:
        """Drain, wait until every live peer applies a ring without this
        member, then leave the membership.

        The member keeps its keys meanwhile (see :meth:`drain`): the
        consumer may go on acting on them, and filtering, until this
        returns; then they are its peers', which take them at their next
        call.

        :param timeout: seconds to wait for the peers; the source's
            ``dead_after`` when None.  Over a frozen backend, each of the
            drain, a read under way at the deadline and the leave may add
            up to the source's ``read_timeout``.
        :returns: True when every peer acknowledged, False when the
            timeout ran out first (it leaves anyway, and logs which peers
            had not).  True at once for a member that another process
            joined as later
            (:class:`~hashring.exception.DuplicateMemberError`): the keys
            are that process's, and so are the records.
        :raises hashring.exception.InvalidArgumentError: a bad timeout.
        """
        source = self.manager.source
        limit = (
            source.dead_after
            if timeout is None
            else _validate.seconds('timeout', timeout)
        )
        try:
            self.drain()
        except exception.MembershipUnavailable as exc:
            LOG.warning('Could not mark %s draining: %s', self.host, exc)
        except exception.DuplicateMemberError:
            # Logged when it was found; leave() forgets, and writes nothing.
            source.leave()
            return True
        start = time.monotonic()
        deadline = start + limit
        step = min(source.heartbeat_interval, 1.0)
        while True:
            try:
                waiting = self.waiting_for()
            except exception.MembershipUnavailable as exc:
                waiting = [f'(unreadable: {exc})']
            if not waiting or time.monotonic() >= deadline:
                break
            time.sleep(min(step, max(0.0, deadline - time.monotonic())))
        if waiting:
            LOG.warning(
                'Leaving %s after %.1fs (timeout %gs) without the '
                'acknowledgement of %s',
                source.backend,
                time.monotonic() - start,
                limit,
                ', '.join(waiting),
            )
        source.leave()
        return not waiting
