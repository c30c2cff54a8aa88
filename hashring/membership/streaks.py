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

"""When a member's heartbeats lapse, or go silent.

The part of :class:`hashring.membership.heartbeats.Heartbeats` that keeps
the streak of its heartbeats on the source's monotonic clock: since when
none lapsed (peers may have judged the member dead meanwhile, or the
backend forgotten it: a ZooKeeper session shorter than ``dead_after``),
and when the last silence (no heartbeat even tried: a stopped process)
ended.
:class:`hashring.handoff.Protocol` asks both.
"""

import logging
import time
import typing

from hashring.membership import bounded

# One logger for all a source says: operators and their filters know it
# by this name.
LOG = logging.getLogger('hashring.membership.base')

#: Heartbeats further apart than ``dead_after`` less this share of
#: ``heartbeat_interval`` (from the start of one that succeeded to the end
#: of the next) make a lapse: peers may have judged the member dead.
LAPSE_MARGIN = 0.5

#: Where the backend forgets a member unheard sooner than ``dead_after``
#: (a ZooKeeper session the server cut), heartbeats further apart than
#: that less this share of it make a lapse: a request in flight, and the
#: server's clock against this one.
SESSION_MARGIN = 0.1


class Streaks:
    """The streak of a member's heartbeats (a mixin of Heartbeats)."""

    heartbeat_interval: float
    dead_after: float
    _missed: bool

    def _start_streaks(self) -> None:
        """Set the streak's state up (the source's ``__init__`` calls it)."""
        # The source's monotonic clock, and the heartbeats' streak on it:
        # when the last that worked began, and since when none lapsed.
        self._clock: typing.Callable[[], float] = time.monotonic
        self._beat_started: float | None = None
        self._unbroken_since: float | None = None
        # When the last heartbeat tried ended, and the one trying began;
        # when the last silence of the heartbeats ended (last_silence()).
        self._tried_at = 0.0
        self._trying_since: float | None = None
        self._silence_ended: float | None = None
        # The stops of the process that waiting calls saw; how many
        # seconds of them were seen, and had passed since the last try
        # ended, when the one trying began (_stopped_in_flight()).
        self._stalls = bounded.Stalls()
        self._trying_from = (0.0, 0.0)

    if typing.TYPE_CHECKING:

        @property
        def backend(self) -> str: ...

        @property
        def member_id(self) -> str | None: ...

    def unbroken_since(self) -> float | None:
        """Return since when this member's heartbeats have had no lapse.

        A lapse is a span over which peers may have judged this member
        dead, and ended its handoff claims: heartbeats further apart than
        ``dead_after`` less half an interval (or nine tenths of a shorter
        session the backend keeps, :meth:`_session_length`), from the
        start of one that succeeded to the end of the next (a process
        paused, a partition, writes refused to this member alone), or a
        backend that forgot its record.
        :class:`hashring.handoff.Protocol` checks what it holds against
        its peers' claims again after one.

        :returns: when (on the source's monotonic clock) the first
            heartbeat after the last lapse, or the join, ended; None before
            the join and while a lapse lasts (no heartbeat has succeeded
            for that long).
        """
        started = self._beat_started
        if started is None or self._clock() - started > self._lapse_after:
            return None
        return self._unbroken_since

    def last_silence(self) -> float | None:
        """Return when this member's heartbeats last came out of a silence.

        A silence is a span longer than the lapse bound
        (:meth:`unbroken_since`) in which no heartbeat was even tried: the
        process did not run (paused, frozen, stalled), where heartbeats
        that failed, or a call that hangs, are an outage; a heartbeat in
        flight through a stop of the process
        (:class:`~hashring.membership.bounded.Stalls`) is not tried while
        it is stopped.  Its peers, whose backend answered, may have judged
        it dead and taken what it held:
        :class:`hashring.handoff.Protocol` lets go of all of it when it
        cannot read their claims after one.

        :returns: when (on the source's monotonic clock) the first
            heartbeat tried after the last silence began, or the process
            went on from a stop that made one within a heartbeat; now
            while a silence lasts; None if none came since the join.
        """
        if self._beat_started is None:
            return None
        now = self._clock()
        if self._trying_since is None and self._silent_at(now):
            return now
        ended = self._silence_ended
        stopped = self._stopped_in_flight()
        if stopped is not None and (ended is None or stopped > ended):
            return stopped
        return ended

    def _gap_is_own(self) -> bool:
        """Tell whether a write now follows a silence of this member's own.

        A write late after the last heartbeat that worked publishes the
        span between as an outage; but where the heartbeats were silent
        since (:meth:`last_silence`: the process did not run) and no
        write failed, the backend was not out, this member was.  Published,
        the span would explain the silence of members that crashed
        meanwhile, to readers that saw no write within it.
        """
        started, silence = self._beat_started, self.last_silence()
        return (
            not self._missed
            and started is not None
            and silence is not None
            and silence > started
        )

    def _trying(self) -> None:
        """Note that a heartbeat begins now."""
        now = self._clock()
        if self._beat_started is not None and self._silent_at(now):
            self._silence_ended = now
        # The stalls seen so far, and the seconds since the last try.
        self._trying_from = self._stalls.seen()[0], now - self._tried_at
        self._trying_since = now

    def _tried(self) -> None:
        """Note that the heartbeat in flight ended now."""
        stopped = self._stopped_in_flight()
        if stopped is not None:
            self._silence_ended = stopped
        self._tried_at, self._trying_since = self._clock(), None

    def _stopped_in_flight(self) -> float | None:
        """Return when a silence within the heartbeat in flight ended.

        The process stopped while the heartbeat waited for the backend;
        the stops, and the time from the last heartbeat tried to this
        one, make a silence past the lapse bound.

        :returns: when (on the source's clock) the last stop ended; now
            while one lasts; None if there was no such silence.
        """
        if self._trying_since is None or self._beat_started is None:
            return None
        seconds, ago = self._stalls.seen()
        before, quiet = self._trying_from
        stalled = seconds - before
        if stalled <= 0 or quiet + stalled <= self._lapse_after:
            return None
        return self._clock() - ago

    def _silent_at(self, now: float) -> bool:
        """Tell whether no heartbeat ended within the lapse bound of now."""
        return now - self._tried_at > self._lapse_after

    @property
    def _lapse_after(self) -> float:
        bound = self.dead_after - LAPSE_MARGIN * self.heartbeat_interval
        session = self._session_length()
        if session is not None and session < self.dead_after:
            return min(bound, session * (1 - SESSION_MARGIN))
        return bound

    def _session_length(self) -> float | None:
        """Return after how long unheard the backend forgets this member.

        None where only ``dead_after`` does (the default); a driver whose
        backend ends records with a session of its own says how long.
        """
        return None

    def _stood_anew(self) -> None:
        """Note that a write made this member's lost record again.

        Call it holding the lock.  Its reads may lack a peer whose record
        the backend lost too, as after a lapse (:meth:`unbroken_since`).
        """
        self._unbroken_since = self._clock()

    def _beat_ended(
        self, started: float, forgotten: list[str], missed: bool = False
    ) -> None:
        """Note a heartbeat (or a join) begun at ``started`` that worked.

        Call it holding the lock.

        :param forgotten: the groups whose backend forgot this member.
        :param missed: a heartbeat failed since the last that worked.
        """
        now = self._clock()
        self._tried_at = now
        if self._beat_started is None:
            self._silence_ended = None  # a join
        if self._beat_started is None or forgotten:
            # A forgotten record is logged as it joins again (heartbeat()).
            self._unbroken_since = now
        elif now - self._beat_started > self._lapse_after:
            # Its peers may have taken what it held meanwhile: the
            # handoff protocol asks them (unbroken_since()).  Failed
            # heartbeats were warned of; silence is news.
            LOG.log(
                logging.INFO if missed else logging.WARNING,
                'Member %s had no heartbeat on %s for %.1fs (dead_after is '
                '%gs): if its peers could write meanwhile, they judged it '
                'dead and may have taken what it held',
                self.member_id,
                self.backend,
                now - self._beat_started,
                self.dead_after,
            )
            self._unbroken_since = now
        self._beat_started = started
