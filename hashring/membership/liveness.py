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

"""Who is alive, judged so that an outage of the backend kills no one.

A member that cannot reach the backend cannot heartbeat, and a backend
that expires members (Redis, etcd) forgets them during a long outage.  Read
naively, the first answer after the outage says that everyone died.  The
:class:`Judge` of a membership source therefore counts a member's silence
only over the time the backend was *reachable*:

* **Outages this reader saw.**  A failed read or write opens an outage, as
  does one that took longer than two heartbeat intervals and a second (a
  client that retries within a call hides a short outage); the next
  successful read closes it, at the backend's own time.  It began after
  the last read, at the first failure (or the slow call's start) at the
  latest: it explains the silence of members heard until then (a reader
  that ran no call for a while, paused, learns of its peers' last
  heartbeats only after).
* **Outages members published.**  A member that could not write (its
  heartbeats failed, or one waited out a lock: its last lies more than two
  intervals back) publishes, with its next write that succeeds, the span
  it could not write (from its last heartbeat before to that write).  A
  reader that started after the outage, or read while only writes were
  refused, learns of it there.  A member whose process did not run (its
  heartbeats silent, not failed: see
  :meth:`~hashring.membership.streaks.Streaks.last_silence`) publishes
  nothing.  A reader that saw another member's heartbeat well within the
  span (one it read outside every outage it knew of) knows the backend
  was writable then: the span was the member's own (one cut off alone, or
  a paused member of an older release), and explains no one else's
  silence.
* **Silence everywhere.**  When two or more members that were alive
  together have all fallen silent for longer than they beat (two
  heartbeat intervals), and no member of the group writes, nobody could
  write: the backend was out, whether this reader noticed or not.
  Nobody is judged dead for that span, until some member writes again.
  (A member alone in its group that falls silent is judged as a crash.)
* **Mass disappearance.**  When most of the members a reader knew vanish
  from one read to the next (a backend restarted empty, a table dropped,
  expired keys), that is an outage too.
* **Its own record lost.**  When the backend lost the record of the
  reader's own member (its heartbeat found it gone, another write made it
  again, or a read no longer lists it), whatever vanished with it was
  lost with it, however few vanished: the members that had rejoined by
  the next read must not make the others look dead.

An outage explains a member's silence when the member was alive when it
began (its last heartbeat, or the last read that listed it, lies within
``dead_after`` before the start) and went quiet with it (no heartbeat well
after the start, which would show that the backend was writable).  For such
a member, the overlap of the outage with its silence does not count
towards ``dead_after``, and it is not dead before ``read_timeout`` and two
intervals after the outage (:attr:`Judge.recovery`).  A member that
crashed is therefore still judged dead ``dead_after`` (or that) after the
backend came back, at the latest; a member that is alive heartbeats within
one interval of its calls' deadline and never leaves the ring.

Runtime complexity of :meth:`Judge.judge`: ``O(m * o)`` for ``m`` members
and ``o`` outages remembered (outages older than ``dead_after`` are
forgotten, so ``o`` is small).
"""

import bisect
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Mapping
import datetime
import logging
import threading
import time

from hashring.membership import verdicts

LOG = logging.getLogger(__name__)

#: The share of the known members that must vanish at once for a read to
#: count as an outage rather than as departures (more than this).
MASS_SHARE = 0.5

#: How many reads' heartbeats a judge keeps as signs that the backend was
#: writable (:meth:`Judge._refuted`).
WRITABLE_KEPT = 1024

#: Seconds a call that succeeded must have taken, at the least, to count
#: as failed from its start (:meth:`Judge.took`): a loaded machine's
#: slow write (an fsync) is no outage.
LATE_CALL = 1.0


class Judge:
    """The liveness judgement of one membership source (one reader).

    Thread-safe.  The source tells it of every failure and of every read;
    it answers who is dead and who is presumed alive.

    :param dead_after: seconds of reachable silence after which a member
        is dead.
    :param heartbeat_interval: seconds between a member's heartbeats.
    :param read_timeout: seconds a member's call to the backend may take
        before it is abandoned: a member whose silence an outage explains
        is not judged dead before that and two intervals have passed since
        the outage ended, whatever ``dead_after`` says.
    :param clock: this reader's monotonic clock, in seconds: when a
        failure came, against its last read.
    """

    def __init__(
        self,
        dead_after: float,
        heartbeat_interval: float,
        read_timeout: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.dead_after = datetime.timedelta(seconds=dead_after)
        # How late after an outage's start a member's last heartbeat may
        # lie and still be explained by it: one interval until its next
        # beat, and one more for a beat that was slow to fail.
        self.slack = datetime.timedelta(seconds=2 * heartbeat_interval)
        # Seconds after which a call that succeeded failed from its start.
        self._late = max(self.slack.total_seconds(), LATE_CALL)
        #: How long after an outage a live member may take to write again:
        #: a call it sent while the backend was away (into a connection
        #: that is gone, or queued behind one) waits out read_timeout
        #: before it tries afresh.  Where dead_after is shorter, its peers
        #: would judge it dead before it could.
        self.recovery = datetime.timedelta(seconds=read_timeout) + self.slack
        # Outages are remembered as long as they can save anyone.
        self._kept = max(self.dead_after, self.recovery)
        self._lock = threading.Lock()
        self._outages: list[verdicts.Outage] = []
        #: the backend's time at the last successful read, if any
        self._last_ok: datetime.datetime | None = None
        self._failing = False
        # The clock's time at the last successful read, and at the first
        # failure since.
        self._clock = clock
        self._ok_at = 0.0
        self._failed_at = 0.0
        self._known: dict[str, dict[str, verdicts.Seen]] = {}
        self._reported: dict[str, frozenset[str]] = {}
        # Groups whose backend forgot this reader's own member since it
        # last read them (forgot()).
        self._forgotten: set[str] = set()
        # The freshest heartbeat of each read that lay in no outage known
        # then, in order: the backend was writable at those times.
        self._writable: list[datetime.datetime] = []

    def after_fork(self) -> None:
        """Replace the lock in a forked child: a parent's thread held it."""
        self._lock = threading.Lock()

    def unreachable(self, since: float | None = None) -> None:
        """Record that a read or a write failed, now or ``since`` (clock)."""
        with self._lock:
            at = self._clock() if since is None else since
            if not self._failing or at < self._failed_at:
                self._failed_at = at
            self._failing = True

    def took(self, begun: float) -> None:
        """Record a read or a write that began at ``begun`` and succeeded.

        One slower than two heartbeat intervals (and :data:`LATE_CALL`)
        failed from its start: its client may have retried within it
        (redis-py, for about 3.6 s) through an outage that emptied the
        backend.
        """
        if self._clock() - begun > self._late:
            self.unreachable(begun)

    def reached(self, now: datetime.datetime) -> None:
        """Record a successful read at the backend's time ``now``.

        After failures, the span since the last successful read becomes an
        outage this reader saw.  It explains the silence of the members
        heard until the first failure, not only of those heard as the
        span began: the backend may have gone away at any moment between
        (a reader paused, or between reads, cannot tell when).
        """
        with self._lock:
            last_ok = self._last_ok
            if self._failing and last_ok is not None:
                failed = last_ok + datetime.timedelta(
                    seconds=max(0.0, self._failed_at - self._ok_at)
                )
                until = max(last_ok + self.slack, min(failed, now))
                self._add(verdicts.Outage(last_ok, now, until))
            self._failing = False
            self._last_ok = now
            self._ok_at = self._clock()

    def forgot(self, group: str) -> None:
        """Record that the backend lost this reader's own member's record.

        The heartbeat found it gone (a backend restarted empty, a session
        that ended), or another write found none and made one (a first
        join too, where nothing known can vanish): at the next read of the
        group, members that vanished since the last one vanished with it
        (:meth:`judge`).
        """
        with self._lock:
            self._forgotten.add(group)

    def published(
        self, start: datetime.datetime, end: datetime.datetime
    ) -> verdicts.Outage:
        """Return the outage a member published, from ``start`` to ``end``.

        :param start: its last heartbeat before it could not write.
        :param end: its first write that succeeded after.
        """
        # Its first failed beat came one interval after its last good one.
        return verdicts.Outage(start, end, start + self.slack + self.slack / 2)

    def _add(self, outage: verdicts.Outage) -> None:
        if outage.end >= outage.start and outage not in self._outages:
            self._outages.append(outage)

    def judge(
        self,
        group: str,
        now: datetime.datetime,
        heard: Mapping[str, tuple[object, datetime.datetime | None]],
        published: Iterable[verdicts.Outage] = (),
        listed: Collection[str] | None = None,
        alive: str | None = None,
    ) -> verdicts.Verdict:
        """Judge a group's members at one read.

        :param group: the group, whose members the judge remembers.
        :param now: the backend's time of the read.
        :param heard: the members the read listed as up or draining, by id:
            each with its value and last heartbeat (None where the backend
            expires silent members itself, as tooz's do).
        :param published: the outages the members published.
        :param listed: the ids of every record the read listed, in any
            state; ``heard``'s when None.  A member missing from it has
            vanished.
        :param alive: this reader's own member id, if it is one: never
            judged dead, since this process knows it runs.
        :returns: a :class:`~hashring.membership.verdicts.Verdict`.
        """
        with self._lock:
            self._outages = verdicts.kept(self._outages, now, self._kept)
            known = self._known.get(group, {})
            present = heard if listed is None else listed
            vanished = [m for m in known if m not in present]
            listed_before = [m for m in vanished if known[m].listed]
            # The backend lost this reader's own record: it rejoins at its
            # next heartbeat, and its peers at theirs, so that the first
            # read after may list any share of them.
            lost = group in self._forgotten or alive in listed_before
            self._forgotten.discard(group)
            if (lost and listed_before) or (
                len(listed_before) >= 2
                and len(listed_before)
                > (MASS_SHARE * sum(s.listed for s in known.values()))
            ):
                # Most members gone in one read, or with this reader's own
                # record: an emptied backend, not a crowd of departures.
                last_read = max(s.last for s in known.values())
                self._add(verdicts.Outage(last_read, now, last_read))
            outages = list(self._outages)
            outages.extend(
                o
                for o in published
                if o.end > o.start and not self._refuted(o)
            )
            beats = [b for _, b in heard.values() if b is not None]
            freshest = max(beats, default=None)
            if freshest is not None and not any(
                o.start <= freshest <= o.end for o in outages
            ):
                self._note_writable(freshest)
            # Cut-offs rather than a timedelta per member: ``now - last >
            # dead_after`` is ``last < now - dead_after``, exactly.
            cutoff = now - self.dead_after
            # Nobody wrote for longer than a live member beats (the
            # slack), not for dead_after: members beat an interval apart,
            # so the first silent ones pass dead_after up to an interval
            # before the last one, and would be judged dead meanwhile.
            if freshest is not None and freshest < now - self.slack:
                together = freshest - self.dead_after
                if sum(b >= together for b in beats) >= 2:
                    # Members alive together, then nobody could write: the
                    # backend was out.  (One member alone that falls
                    # silent is judged as a crash.)
                    outages.append(
                        verdicts.Outage(freshest, now, freshest + self.slack)
                    )
            dead = set()
            presumed = set()
            seen: dict[str, verdicts.Seen] = {}
            for member_id, (value, beat) in heard.items():
                last = now if beat is None else beat
                if beat is not None and beat < cutoff and member_id != alive:
                    # Silent for longer than dead_after: dead, unless
                    # outages leave dead_after of reachable time or less.
                    # (A shorter silence needs no look at the outages.)
                    explaining = verdicts.explaining(
                        last, outages, self.dead_after, self._kept
                    )
                    if self._dead(last, now, explaining):
                        dead.add(member_id)
                        continue
                    presumed.add(member_id)
                seen[member_id] = verdicts.Seen(value, last)
            absent: dict[str, object] = {}
            for member_id in vanished:
                old = known[member_id]
                explained = verdicts.explaining(
                    old.last, outages, self.dead_after, self._kept
                )
                if explained and not self._dead(old.last, now, explained):
                    absent[member_id] = old.value
                    presumed.add(member_id)
                    seen[member_id] = old._replace(listed=False)
            self._known[group] = seen
            verdict = verdicts.Verdict(
                frozenset(dead), absent, frozenset(presumed)
            )
            self._report(group, verdict)
            return verdict

    def _refuted(self, outage: verdicts.Outage) -> bool:
        """Tell whether this reader saw a write well inside an outage.

        A member publishes the span in which it could not write.  Where
        this reader saw a heartbeat within it, later than the silences it
        may explain, the backend was writable then: the span was the
        member's own (its process paused, or it alone cut off), and
        explains no one else's silence.  (Taken for an outage, it would
        bring a member that crashed as the span began back to life, for
        ``dead_after``, when the paused one went on.)
        """
        writable = self._writable
        i = bisect.bisect_right(writable, outage.explains_until)
        return i < len(writable) and writable[i] < outage.end

    def _note_writable(self, beat: datetime.datetime) -> None:
        """Keep a heartbeat that lay in no outage known when it was read."""
        writable = self._writable
        if writable and beat <= writable[-1]:
            return
        writable.append(beat)
        if len(writable) > WRITABLE_KEPT:
            del writable[: len(writable) - WRITABLE_KEPT]

    def _dead(
        self,
        last: datetime.datetime,
        now: datetime.datetime,
        explaining: list[verdicts.Outage],
    ) -> bool:
        """Tell whether a member silent since ``last`` is dead at ``now``.

        Its reachable silence passed ``dead_after``, and no outage that
        explains it ended within :attr:`recovery` of ``now``.

        :param explaining: the outages that explain its silence
            (:func:`~hashring.membership.verdicts.explaining`).
        """
        if verdicts.reachable(last, now, explaining) <= self.dead_after:
            return False
        since = now - self.recovery
        return not any(o.end > since for o in explaining)

    def _report(self, group: str, verdict: verdicts.Verdict) -> None:
        if verdict.presumed == self._reported.get(group, frozenset()):
            return
        self._reported[group] = verdict.presumed
        if verdict.presumed:
            LOG.warning(
                'Members %s of group %s have not been heard of for longer '
                'than dead_after (%gs), but a backend outage explains it: '
                'they stay on the ring until they have had dead_after of '
                'reachable time to heartbeat again, and at least %gs '
                '(read_timeout and two heartbeat intervals) after it',
                ', '.join(sorted(verdict.presumed)),
                group,
                self.dead_after.total_seconds(),
                self.recovery.total_seconds(),
            )
        else:
            LOG.info(
                'Every member of group %s is heard of again, or judged '
                'after the outage',
                group,
            )
