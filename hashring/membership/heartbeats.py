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

"""Heartbeating: a registered member's records kept fresh by a thread.

The part of :class:`hashring.membership.registration.Registration` that
runs on its own: :meth:`~Heartbeats.heartbeat` refreshes this member's
records (joining again the groups whose backend forgot it, and writing
again what a failed write left behind: :meth:`~Heartbeats._write_records`
keeps it), and a daemon thread calls it every ``heartbeat_interval``,
backing off from :data:`FIRST_RETRY` after a failure.  A failure is never
fatal to the thread: a heartbeat thread that died would leave a live
service looking dead.
"""

import dataclasses
import logging
import sys
import threading
import time
import typing
from typing import Any

from hashring import claims
from hashring import exception
from hashring.membership import liveness
from hashring.membership import streaks
from hashring.membership import values

# One logger for all a source says, as before the split: operators and
# their filters know it by this name.
LOG = logging.getLogger('hashring.membership.base')

#: First retry after a failed heartbeat, in seconds; it doubles up to the
#: heartbeat interval.
FIRST_RETRY = 0.5


class Heartbeats(streaks.Streaks):
    """A membership source's heartbeat and its thread (a mixin)."""

    retention: float
    #: heartbeats failed in a row; 0 while they work
    beat_failures: int
    _lock: threading.RLock
    _me: values.Record | None
    _groups: set[str]
    _unwritten: dict[str, bool]
    _claims: 'dict[str, claims.Claim]'
    _resumed: bool
    _incarnation: str | None
    _stop: threading.Event
    _soon: threading.Event
    _thread: threading.Thread | None
    _written_at: float
    _last_cleanup: float
    _missed: bool
    _judge: liveness.Judge
    name: str

    if typing.TYPE_CHECKING:
        # What Registration and MembershipSource provide.
        def _require_own(self) -> None: ...

        def _register(self, group: str, record: values.Record) -> None: ...

        def _rewrite(self, group: str, record: values.Record) -> None: ...

        def _set_state(self, group: str, record: values.Record) -> None: ...

    # Driver hooks of the heartbeat; the default _beat() means "not supported".

    def _beat(
        self, groups: list[str], record: values.Record, recovering: bool
    ) -> list[str]:
        """Refresh this member's records; return the groups that lost it.

        :param recovering: a write failed since the last heartbeat that
            succeeded; a driver that stores heartbeat times publishes the
            span from the last one to now as the record's outage (and,
            unless ``_gap_is_own()``, a span over two intervals).
        """
        raise exception.RegistrationNotSupported(self.name)

    def cleanup(self) -> int:
        """Delete records that have not heartbeat for ``retention`` seconds.

        The heartbeat thread calls it now and then.  Drivers whose backend
        does not expire records itself implement it.

        :returns: how many records were deleted.
        :raises hashring.exception.MembershipUnavailable: the backend could
            not be written.
        """
        return 0

    def heartbeat(self) -> None:
        """Refresh this member's records now, re-joining where forgotten.

        A group whose record a write failed to change (a join, a state
        change, a claim published) is written as that write would have
        written it: a claim keeps the state stored.

        :raises hashring.exception.MembershipUnavailable: the backend could
            not be written.
        :raises hashring.exception.InvalidArgumentError: in a process forked
            from the member's (see :meth:`_after_fork`).
        """
        self._require_own()
        # Before the lock: a heartbeat that waits for a write of the
        # consumer's thread to end is no silence.
        self._trying()
        try:
            self._refresh()
        finally:
            self._tried()

    def _refresh(self) -> None:
        """Refresh the records: the heartbeat, once noted as tried."""
        with self._lock:
            me = self._me
            groups = sorted(self._groups)
            if me is None:
                return
            started, missed = self._clock(), self._missed
            try:
                forgotten = self._beat(groups, me, missed)
            except exception.MembershipUnavailable:
                self._missed = True
                self._judge.unreachable()
                raise
            self._missed = False
            for group in forgotten:
                # Before it joins again: a read after that must still see
                # whom the backend lost with it.
                self._judge.forgot(group)
                self._settling(group)  # as the record comes back
                LOG.warning(
                    '%s forgot member %s of group %s; joining again',
                    self.backend,
                    me.id,
                    group,
                )
            behind = self._unwritten.keys() - forgotten
            if behind:
                LOG.info(
                    'Writing the record of member %s to group(s) %s of %s '
                    'again: a write there failed',
                    me.id,
                    ', '.join(sorted(behind)),
                    self.backend,
                )
            # A forgotten record is written whole; the others as the
            # write that failed would have written them.
            self._write_records(
                self._unwritten.keys() | set(forgotten), stated=set(forgotten)
            )
            self._judge.took(started)
            self._beat_ended(started, forgotten, missed)

    def _write_records(
        self, groups: set[str], stated: set[str] | None = None
    ) -> None:
        """Write this member's record to groups, in name order.

        Call it holding the lock.  A group whose write fails stays in
        ``_unwritten`` for the next heartbeat to write.

        :param stated: the groups where the write sets this member's state
            (a join, its own state change; None: every group); the others
            keep the state stored (a claim, a new weight in groups joined
            before), which an operator's ``hashring drain`` may have
            written from another process.  A group that still owes a
            state write writes it.
        :raises hashring.exception.MembershipUnavailable: a write failed.
        """
        for group in groups:
            self._unwritten[group] = (
                stated is None
                or group in stated
                or self._unwritten.get(group, False)
            )
        # For a member that runs elsewhere (resumed), its state alone: its
        # weight, attributes and claim as read may be stale by now.
        stating = self._set_state if self._resumed else self._register
        begun = self._clock()
        for group in sorted(groups):
            write = stating if self._unwritten[group] else self._rewrite
            try:
                write(group, self._record_for(group))
            except exception.MembershipUnavailable:
                self._judge.unreachable()
                raise
            del self._unwritten[group]
            self._written_at = time.monotonic()
        self._judge.took(begun)

    def _made_again(self, group: str) -> None:
        """Note that a write found no record of this member and made one.

        Call it holding the lock, once the write is done.  The backend
        lost it (a restart emptied it), as a heartbeat that finds it gone
        tells the judge
        (:meth:`~hashring.membership.liveness.Judge.forgot`): what
        vanished meanwhile went with it.  A first join makes one too,
        where nothing known can vanish, and no claim stood.  Where a claim
        stood, the record stands anew, as after a lapse
        (:meth:`_stood_anew`), and its claim says it is settling: the
        write is made again so.
        """
        self._judge.forgot(group)
        if group not in self._claims:
            return
        self._stood_anew()
        if self._settling(group):
            self._rewrite(group, self._record_for(group))

    def _settling(self, group: str) -> bool:
        """Mark this member's claim in a group settling, if it has one.

        Call it holding the lock, as its record stands anew: its rings
        hand nothing (:func:`hashring.taking.handed`) until the protocol
        publishes, settled, again.  They leave out a draining member that
        keeps its nodes and may have yet to rejoin: a newcomer would take
        them.

        :returns: whether the claim changed.
        """
        claim = self._claims.get(group)
        if claim is None or claim.settling:
            return False
        self._claims[group] = dataclasses.replace(claim, settling=True)
        return True

    def _record_for(self, group: str) -> values.Record:
        """Return this member's record for a group, with its claim.

        The record carries this registration's incarnation, so that two
        processes joined as one member see each other.
        """
        me = self._me
        assert me is not None
        own: dict[str, Any] = {}
        claim = self._claims.get(group)
        if claim is not None:
            own[values.CLAIM_ATTRIBUTE] = claim.to_dict()
        if self._incarnation is not None:
            own[values.INCARNATION_ATTRIBUTE] = self._incarnation
        if not own:
            return me
        return dataclasses.replace(me, attributes={**me.attributes, **own})

    def _start_heartbeat(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._soon.clear()
        self._thread = threading.Thread(
            target=self._heartbeat_loop,
            name=f'hashring-heartbeat-{self.name}',
            daemon=True,
        )
        self._thread.start()

    def beat_soon(self) -> None:
        """Heartbeat now rather than at the end of the interval.

        For a backend that has just dropped this member's record (a
        ZooKeeper session that ended): the heartbeat joins again, and ends
        the lapse (:meth:`unbroken_since`), before its peers act on its
        absence for long.  It returns at once.
        """
        self._soon.set()

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        self._soon.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _heartbeat_loop(self) -> None:
        # The thread must survive anything the backend does: an exception
        # that escaped would leave a live service looking dead.
        delay = self.heartbeat_interval
        while not self._waited(delay) and not sys.is_finalizing():
            try:
                self.heartbeat()
            except Exception as exc:
                self.beat_failures += 1
                delay = min(
                    FIRST_RETRY * 2 ** (self.beat_failures - 1),
                    self.heartbeat_interval,
                )
                LOG.warning(
                    'Heartbeat to %s failed (%d in a row), retrying in '
                    '%.1fs: %s',
                    self.backend,
                    self.beat_failures,
                    delay,
                    exc,
                )
            else:
                if self.beat_failures:
                    LOG.info(
                        'Heartbeat to %s works again after %d failures',
                        self.backend,
                        self.beat_failures,
                    )
                self.beat_failures = 0
                delay = self.heartbeat_interval
                self._clean_up_when_due()

    def _waited(self, delay: float) -> bool:
        """Wait ``delay`` or until beat_soon(); tell whether to stop."""
        self._soon.wait(delay)
        self._soon.clear()
        return self._stop.is_set()

    def _clean_up_when_due(self) -> None:
        # About ten times per retention period.  A failure is the clean-
        # up's, not the heartbeat's, which was written: it neither counts
        # as a failed beat nor hastens the next one.
        period = self.retention / 10
        if time.monotonic() - self._last_cleanup <= period:
            return
        self._last_cleanup = time.monotonic()
        try:
            self.cleanup()
        except Exception as exc:
            LOG.warning(
                'Cleaning up old member records on %s failed, next try in '
                '%.0fs: %s',
                self.backend,
                period,
                exc,
            )
