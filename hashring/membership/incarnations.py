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

"""A member's watch over its own record: the later process runs on.

Every :meth:`~hashring.membership.MembershipSource.join` is an
incarnation of its member (:func:`hashring.membership.identity.incarnation`),
which the member's records carry.  Two services configured with one host
name, or with names that differ only in case, are one member, and would
manage the same nodes: when a registered source reads its member's record
and finds a later incarnation there, it stops
(:class:`~hashring.exception.DuplicateMemberError` from then on); an
earlier one, still running, is told so by this source's next heartbeat,
which writes the record again.  A record that holds another handoff
claim than the member publishes is written again likewise.
"""

import logging
import threading
import time
import typing

from hashring import claims
from hashring import exception
from hashring.membership import values

# One logger for all a source says, as before the split: operators and
# their filters know it by this name.
LOG = logging.getLogger('hashring.membership.base')


class Incarnations:
    """A registered source's watch for a later process (a mixin)."""

    _lock: threading.RLock
    _me: values.Record | None
    _unwritten: dict[str, bool]
    _resumed: bool
    _claims: 'dict[str, claims.Claim]'
    _stop: threading.Event
    _written_at: float
    read_timeout: float
    #: this registration of the member, which its records carry; None
    #: before a join, or as read by resume() from a record with none
    _incarnation: str | None
    #: (member, group, this incarnation, the later one) once stopped
    _duplicate: tuple[str, str, str, str] | None

    if typing.TYPE_CHECKING:
        # What MembershipSource provides.
        @property
        def backend(self) -> str: ...

        def _warn_once(self, message: str) -> None: ...

    def _require_unique(self) -> None:
        """Refuse to act once another process joined as this member.

        :raises hashring.exception.DuplicateMemberError: it did.
        """
        duplicate = self._duplicate
        if duplicate is not None:
            raise exception.DuplicateMemberError(*duplicate)

    def _check_own_record(self, group: str, member: values.Member) -> None:
        """Act on this member's record, read, where another process wrote it.

        A later incarnation stops this source.  An earlier one (a process
        still running, or a predecessor this one's restart overlapped), or
        a handoff claim other than the one this member publishes (written
        back by an operator's command that read the record before the
        member's last claim), has the record written again by the next
        heartbeat; an earlier process then reads it, and stops.

        :param group: the group read.
        :param member: this member as read there.
        :raises hashring.exception.DuplicateMemberError: a later process.
        """
        other = member.incarnation
        if self._resumed or (
            other in (None, self._incarnation)
            and member.claim == self._claims.get(group)
        ):
            return
        with self._lock:
            mine = self._incarnation
            me = self._me
            # While this member's own write is owed, its record may hold
            # what an earlier incarnation wrote, on a host whose clock ran
            # ahead of this one's, or an older claim.
            if mine is None or me is None or group in self._unwritten:
                return
            if other is None or other == mine:
                if time.monotonic() - self._written_at < self.read_timeout:
                    # A read that began before this member's last write
                    # may still hold the claim it replaced.
                    return
                LOG.info(
                    'The record of member %s in group %s of %s holds a '
                    'handoff claim it does not publish (written by another '
                    'process?); writing it again',
                    me.id,
                    group,
                    self.backend,
                )
                self._unwritten[group] = False
                return
            if other < mine:
                self._warn_once(
                    f'Member {me.id} of group {group!r} of {self.backend} '
                    f'was written by an earlier registration (incarnation '
                    f'{other}, this one {mine}): another process runs as '
                    f'it, or ran until this one started; writing this '
                    f'one\'s record again, which stops that process'
                )
                self._unwritten[group] = False
                return
            self._duplicate = (me.id, group, mine, other)
            # The heartbeat thread ends at its next wake-up.
            self._stop.set()
        self._let_go()
        error = exception.DuplicateMemberError(me.id, group, mine, other)
        LOG.error('%s', error)
        raise error

    # A driver hook.

    def _let_go(self) -> None:
        """Drop what keeps this member's records, without removing them.

        Called once another process joined as this member later.  A
        driver whose records live with a session (tooz) drops it without
        ending it, which would end the other process's records with it.
        """
