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

"""What the liveness judge knows and says: outages, sightings, verdicts.

The value types of :mod:`hashring.membership.liveness`, apart from the
:class:`~hashring.membership.liveness.Judge` that makes them.
"""

from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import datetime
import operator
import typing


@dataclasses.dataclass(frozen=True)
class Outage:
    """A span of backend time during which members could not write.

    ``explains_until`` bounds the silences it explains: a member that wrote
    after it was writing during the span, so the backend was reachable.
    """

    start: datetime.datetime
    end: datetime.datetime
    explains_until: datetime.datetime

    def explains(
        self,
        last: datetime.datetime,
        dead_after: datetime.timedelta,
        alive: datetime.datetime | None = None,
    ) -> bool:
        """Tell whether a member last heard of at ``last`` fell silent with it.

        It was alive as the outage began (within ``dead_after`` of its
        start), and not heard of well after the start.

        :param last: the member's last heartbeat, or the last read that
            listed it.
        :param dead_after: the liveness timeout, or how long after an
            earlier outage that explained it a member counts as alive.
        :param alive: when it was last known alive, where that is later
            than ``last``: the end of an earlier outage that explained
            its silence (outages chain).
        """
        known = last if alive is None else alive
        return self.start - dead_after < known and last <= self.explains_until


def reachable(
    last: datetime.datetime,
    now: datetime.datetime,
    outages: Iterable[Outage],
) -> datetime.timedelta:
    """Return the reachable part of the span from ``last`` to ``now``.

    Runtime complexity: ``O(o log o)`` for ``o`` outages.

    :param last: when the member was last heard of.
    :param now: the backend's time of the read.
    :param outages: those that explain the member's silence
        (:func:`explaining`); where
        they overlap, the time counts once.
    :returns: the span less the parts of it the outages cover.
    """
    spans = sorted((max(o.start, last), min(o.end, now)) for o in outages)
    covered = datetime.timedelta(0)
    reach = last
    for start, end in spans:
        start = max(start, reach)
        if end > start:
            covered += end - start
            reach = end
    return (now - last) - covered


def explaining(
    last: datetime.datetime,
    outages: Iterable[Outage],
    dead_after: datetime.timedelta,
    kept: datetime.timedelta,
) -> list[Outage]:
    """Return the outages that explain a silence since ``last``.

    One explains it when the member was alive as it began (heard of
    within ``dead_after`` before its start, or presumed up through an
    earlier one that ended within ``kept`` before it) and went quiet with
    it (:meth:`Outage.explains`).  Back-to-back outages (a server that
    fails again before a member whose call the first cut off could write)
    thus chain: the second did not find the member heard of lately, but
    presumed up.

    Runtime complexity: ``O(o log o)`` for ``o`` outages.

    :param last: when the member was last heard of.
    :param outages: the outages the judge remembers.
    :param dead_after: the liveness timeout.
    :param kept: how long after an outage that explained its silence a
        member counts as alive: the longer of ``dead_after`` and the
        judge's recovery.
    :returns: the outages that explain it, by start.
    """
    found = []
    alive, grace = last, dead_after
    for outage in sorted(outages, key=operator.attrgetter('start')):
        if outage.explains(last, grace, alive):
            found.append(outage)
            if outage.end > alive:
                alive, grace = outage.end, kept
    return found


def kept(
    outages: list[Outage], now: datetime.datetime, keep: datetime.timedelta
) -> list[Outage]:
    """Return the outages that may still save a member at ``now``.

    An outage that ended ``keep`` ago (the longer of ``dead_after`` and the
    recovery) can no longer save anyone: a member silent since before it
    has had ``dead_after`` of reachable time since to heartbeat.  Unless a
    later one chains onto it (:func:`explaining`).
    """
    found = [o for o in outages if now - o.end <= keep]
    while found:
        since = min(o.start for o in found) - keep
        chained = [o for o in outages if o.end > since]
        if len(chained) == len(found):
            break
        found = chained
    return found


class Seen(typing.NamedTuple):
    """What the judge knows of a member: its values and when it was heard.

    A named tuple: the judge makes one per member at every read.
    """

    #: the driver's member value, returned as it was when presumed alive
    value: object
    #: its last heartbeat, or when a read last listed it (backend time)
    last: datetime.datetime
    #: whether the last read listed it (False: presumed while absent)
    listed: bool = True


@dataclasses.dataclass(frozen=True)
class Verdict:
    """A judgement of one group's members at one read."""

    #: the members judged dead, by id
    dead: frozenset[str]
    #: members missing from the read, presumed alive, with their values
    presumed_absent: Mapping[str, object]
    #: members listed and judged alive only because an outage explains
    #: their silence (and the absent ones above)
    presumed: frozenset[str]
