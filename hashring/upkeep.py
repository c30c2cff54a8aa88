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

"""A ring manager's upkeep: peers, outages, its figures, online changes.

The part of :class:`hashring.RingManager` that a service's start-up and
its operators use rather than its lookups: waiting until a group has
enough members (:meth:`~Upkeep.wait_ready`), serving the last good ring
through an outage of the membership, what the manager last saw
(:meth:`~Upkeep.alive`, :meth:`~Upkeep.stats`), and changing or
forgetting its rings while it runs (:meth:`~Upkeep.reconfigure`,
:meth:`~Upkeep.reset`).
"""

from collections.abc import Callable
import dataclasses
import logging
import math
import threading
import time
import typing
from typing import Any

from hashring import _validate
from hashring import balance
from hashring import exception
from hashring.membership import base as membership_base
from hashring import notify
from hashring import opts
from hashring import ring as ring_mod

if typing.TYPE_CHECKING:
    from hashring import manager

LOG = logging.getLogger('hashring.manager')


class Upkeep:
    """The upkeep of a :class:`hashring.RingManager` (a mixin)."""

    if typing.TYPE_CHECKING:
        # What RingManager provides, for the type checker.
        source: membership_base.MembershipSource
        partition_exponent: int
        hash_function: str
        _clock: Callable[[], float]
        _lock: threading.Lock
        _entries: dict[str, manager._Entry]
        _every: tuple[float, list[str]] | None
        _generations: dict[str, int]
        _states: dict[str, dict[str, int]]
        _outages: dict[str, int]
        _failed: tuple[float, exception.MembershipUnavailable] | None
        reset_interval: float
        _changes: notify.Notifier
        _balance_due: list[tuple[str, ring_mod.HashRing]]
        _balanced: dict[str, Any]
        max_stale: float
        max_peak_to_mean: float

        def get_ring(self, group: str | None = None) -> ring_mod.HashRing: ...

        def refresh(self, group: str | None = None) -> ring_mod.HashRing: ...

    def wait_ready(
        self,
        group: str | None = None,
        min_members: int = 1,
        timeout: float | None = None,
    ) -> ring_mod.HashRing:
        """Wait until a group's ring has enough members, and return it.

        For a service that must not act on a ring before its peers have
        registered, as Neutron waits for all its API workers: the
        membership is read again every heartbeat interval (at most every
        second) until the ring has ``min_members``.  An outage or an empty
        group meanwhile is waited through.

        :param group: the group; the source's default group when None.
        :param min_members: how many members the ring must have.
        :param timeout: seconds to wait; the source's ``dead_after`` when
            None.  A read of a frozen backend under way at the deadline
            may add up to the source's ``read_timeout`` to the wait.
        :returns: the first ring with ``min_members`` or more.
        :raises hashring.exception.RingNotReady: (a ``RingUnavailable`` and
            a ``TimeoutError``) the ring had fewer members at the deadline;
            the message says how many, and the last error if there was one.
        :raises hashring.exception.InvalidArgumentError: a bad argument.
        """
        _validate.integer('min_members', min_members, 1)
        limit = (
            self.source.dead_after
            if timeout is None
            else _validate.seconds('timeout', timeout)
        )
        key = self.source.default_group if group is None else group
        step = min(self.source.heartbeat_interval, 1.0)
        start = time.monotonic()
        deadline = start + limit
        while True:
            error: exception.HashRingError | None = None
            count = 0
            try:
                ring = self.refresh(key)
                count = len(ring)
                if count >= min_members:
                    return ring
            except (exception.NoMembersError, exception.RingUnavailable) as e:
                error = e
            now = time.monotonic()
            left = deadline - now
            if left <= 0:
                # The time waited, which a read under way at the deadline
                # may have taken past it.
                raise exception.RingNotReady(
                    key,
                    f'{count} of the {min_members} members needed after '
                    f'{limit:g}s (waited {now - start:.1f}s)'
                    + (f' (last error: {error})' if error else ''),
                    count,
                    error,
                )
            LOG.debug(
                'Group %s has %d of %d members; waiting',
                key,
                count,
                min_members,
            )
            time.sleep(min(step, left))

    def reconfigure(
        self,
        partition_exponent: int | None = None,
        hash_function: str | None = None,
    ) -> None:
        """Change the exponent or hash function of the rings, online.

        The next call builds every ring anew with them.  Under the handoff
        protocol that is one more ring change: change the services one at
        a time, and no node is managed twice while they differ (nodes the
        old and new rings disagree on wait until every service has moved).

        :param partition_exponent: the new exponent; unchanged when None.
        :param hash_function: the new hash function; unchanged when None.
        :raises hashring.exception.InvalidArgumentError: a bad value; the
            rings are left as they were.
        """
        exponent = opts.check(
            'partition_exponent',
            self.partition_exponent
            if partition_exponent is None
            else partition_exponent,
        )
        function = opts.check(
            'hash_function',
            self.hash_function if hash_function is None else hash_function,
        )
        ring_mod.HashRing([], exponent, function)
        with self._lock:
            self.partition_exponent, self.hash_function = exponent, function
            for group, entry in list(self._entries.items()):
                # Read again: the members are the same, the ring is not.
                self._entries[group] = dataclasses.replace(
                    entry, members={}, checked_at=-math.inf
                )
        LOG.info(
            'Rings now use partition exponent %s and hash function %s',
            exponent,
            function,
        )

    def _build(
        self, entry: 'manager._Entry | None', members: dict[str, int]
    ) -> ring_mod.HashRing:
        """Build a group's ring, from its last one where that can serve.

        A refresh that changes a member or two then hashes only their
        points (:meth:`hashring.HashRing.with_members`); a ring of other
        parameters (after :meth:`reconfigure`) is built afresh.  Where
        the last ring made walk tables, the group serves replica walks:
        the new ring makes them here, on the refreshing thread, rather
        than on the first walk of a lookup thread.
        """
        last = None if entry is None else entry.ring
        if (
            last is not None
            and last.partition_exponent == self.partition_exponent
            and last.hash_function == self.hash_function
        ):
            new = last.with_members(members)
        else:
            new = ring_mod.HashRing(
                members, self.partition_exponent, self.hash_function
            )
        if last is not None and last._walks is not None:
            new._walk_tables()
        return new

    def reset(self) -> None:
        """Forget every cached ring: the next call reads the membership.

        Generations carry on from where they were.
        """
        with self._lock:
            self._entries.clear()
            self._every = None

    def stats(self, group: str | None = None) -> dict[str, Any]:
        """Return a group's figures as this manager last saw them.

        Nothing is read: it is for metrics (:mod:`hashring.metrics`).

        :returns: ``states`` (members by state at the last good read),
            ``rebuilds`` (rings built, the generation), ``outages``
            (reads that failed after one that worked) and
            ``stale_seconds`` (how long the ring has been served through
            an outage; 0 while reads work).
        """
        key = membership_base.check_group(
            self.source.default_group if group is None else group
        )
        entry = self._entries.get(key)
        stale = 0.0
        if entry is not None and entry.checked_at != entry.good_at:
            stale = max(0.0, self._clock() - entry.good_at)
        return {
            'states': dict(self._states.get(key, {})),
            'rebuilds': self._generations.get(key, 0),
            'outages': self._outages.get(key, 0),
            'stale_seconds': stale,
        }

    def alive(self, group: str | None = None) -> frozenset[str]:
        """Return the members of a group that are alive, as last read.

        Alive means not ``down`` or ``forced_down``: draining and disabled
        members still run, and still manage what they manage.  ``host``
        counts as alive.

        :raises: as :meth:`get_ring`, which it calls first.
        """
        key = self.source.default_group if group is None else group
        for _ in range(3):
            self.get_ring(key)
            entry = self._entries.get(key)
            if entry is not None:
                return entry.alive
            # reset() on another thread since get_ring(): read again.
        raise exception.RingUnavailable(
            key, 'the rings were reset at every read of the membership'
        )

    def _failing(
        self, entry: 'manager._Entry | None', now: float
    ) -> exception.MembershipUnavailable | None:
        """Return why a read failed within ``reset_interval``, or None.

        Under the lock.  A refresh of a group whose ring may still serve
        stale serves it then, without a read of its own (see
        :meth:`_stale`); a group without one, or past ``max_stale``,
        reads: it has nothing to serve but an error.
        """
        failed = self._failed
        if (
            failed is None
            or entry is None
            or now - failed[0] >= self.reset_interval
            or now - entry.good_at > self.max_stale
        ):
            return None
        return failed[1]

    def _stale(
        self,
        group: str,
        entry: 'manager._Entry | None',
        now: float,
        exc: exception.MembershipUnavailable,
    ) -> ring_mod.HashRing:
        """Return a group's last good ring through an outage, or raise.

        Under the lock.  The ring serves for up to ``max_stale`` seconds
        after the last good read; the backend is tried again after
        ``reset_interval``, not on every call.

        :raises hashring.exception.RingUnavailable: no ring was read yet,
            or the last good one is older than ``max_stale``.
        """
        if entry is None or entry.checked_at == entry.good_at:
            # The last read worked: an outage starts.
            self._outages[group] = self._outages.get(group, 0) + 1
        if entry is None:
            raise exception.RingUnavailable(
                group, f'the membership could not be read: {exc}', exc
            ) from exc
        age = now - entry.good_at
        if age > self.max_stale:
            raise exception.RingUnavailable(
                group,
                f'the membership has been unavailable for {age:.0f}s, '
                f'longer than max_stale ({self.max_stale:g}s): {exc}',
                exc,
            ) from exc
        LOG.warning(
            'Serving ring generation %s of group %s, %.0fs old, because '
            'the membership is unavailable (max_stale %gs): %s',
            entry.ring.generation,
            group,
            age,
            self.max_stale,
            exc,
        )
        # Try the backend again after reset_interval, not on every call.
        self._entries[group] = dataclasses.replace(entry, checked_at=now)
        return entry.ring

    def _after_change(self) -> None:
        """Deliver the changes of new rings, then check their balance.

        Outside the lock: a subscriber may call the manager, and a balance
        check builds rings.
        """
        self._changes.deliver()
        with self._lock:
            due, self._balance_due = self._balance_due, []
        for group, ring in due:
            balance.check(group, ring, self.max_peak_to_mean, self._balanced)
