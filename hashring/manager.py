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

"""The ring manager: cached rings that follow the membership."""

from collections.abc import Callable
from collections.abc import Iterable
import dataclasses
import datetime
import logging
import threading
import time
from typing import Any
import uuid

from oslo_config import cfg

from hashring import _fork
from hashring import _validate
from hashring import exception
from hashring import handoff as handoff_mod
from hashring import lint
from hashring.membership import base as membership_base
from hashring import notify
from hashring import opts
from hashring import ring as ring_mod
from hashring import tenancy
from hashring import upkeep

LOG = logging.getLogger(__name__)


#: What changed when a ring was rebuilt (see :meth:`RingManager.subscribe`).
RingChange = notify.RingChange


@dataclasses.dataclass(frozen=True)
class _Entry:
    ring: ring_mod.HashRing
    members: dict[str, int]  # registered name -> weight, as placed
    alive: frozenset[str]  # members not down or forced down, and host
    checked_at: float  # when the membership was last read, or tried
    good_at: float  # when it was last read successfully


class RingManager(tenancy.Tenancy, upkeep.Upkeep):
    """Cached, self-refreshing rings of a membership source's groups.

    ``get_ring(group)`` returns an immutable :class:`hashring.HashRing` of
    the group's up members.  It is cached per group and read again after
    ``reset_interval`` seconds on a monotonic clock; the hot path takes no
    lock, and a rebuild swaps the ring in one assignment.  A membership
    that has not changed keeps its ring, generation and all.

    Through an outage of the membership backend the last good ring keeps
    serving, with a warning, for up to ``max_stale`` seconds; then
    :class:`~hashring.exception.RingUnavailable` is raised.  An outage
    never empties a ring.  After a read fails, every group with a ring
    serves it without a read of its own until ``reset_interval`` has
    passed: many groups wait for one ``read_timeout``, not one each.

    :param source: a :class:`hashring.membership.MembershipSource`.
    :param partition_exponent: as for :class:`hashring.HashRing`;
        ``[hashring] partition_exponent`` when None.
    :param hash_function: as for :class:`hashring.HashRing`;
        ``[hashring] hash_function`` when None.
    :param host: this service's member id.  It is placed on its own rings
        when the membership does not list it yet, as happens to a service
        that has just started; when ``source`` has joined as ``host``, its
        own rings are those of the groups it joined.  A listed host keeps
        its listed state.
    :param reset_interval: seconds a ring is served before the membership
        is read again; ``[hashring] reset_interval`` when None.
    :param max_stale: seconds the last good ring serves through an outage;
        ``[hashring] max_stale`` when None.
    :param conf: the configuration holding the ``[hashring]`` options.
    :param clock: a monotonic clock, for tests and simulations.
    :param expected_members: how many members a group should have at
        most; a ring with more is logged (see :mod:`hashring.lint`).
    :param handoff: run the handoff protocol (:attr:`handoff`) once
        ``source`` has joined as ``host``; ``[hashring] handoff`` when
        None.
    :param max_peak_to_mean: log when a group's ring is less balanced
        than this (see :mod:`hashring.balance`); ``[hashring]
        max_peak_to_mean`` when None, 0 for never.
    """

    def __init__(
        self,
        source: membership_base.MembershipSource,
        partition_exponent: int | None = None,
        hash_function: str | None = None,
        host: str | None = None,
        reset_interval: float | None = None,
        max_stale: float | None = None,
        conf: cfg.ConfigOpts | None = None,
        clock: Callable[[], float] = time.monotonic,
        expected_members: int | None = None,
        handoff: bool | None = None,
        max_peak_to_mean: float | None = None,
    ) -> None:
        if not isinstance(source, membership_base.MembershipSource):
            raise exception.InvalidArgumentError(
                f'A RingManager needs a MembershipSource, not {source!r}'
            )
        settings = opts.ensure(
            conf if conf is not None else source.conf
        ).hashring

        def option(name: str, value: Any) -> Any:
            # One check for keywords and configuration alike.
            return opts.check(
                name, getattr(settings, name) if value is None else value
            )

        self.source = source
        self.partition_exponent = option(
            'partition_exponent', partition_exponent
        )
        self.hash_function = option('hash_function', hash_function)
        # Fail now, not on the first lookup, on a bad exponent or hash.
        ring_mod.HashRing([], self.partition_exponent, self.hash_function)
        self.host = (
            None if host is None else membership_base.canonical_id(host)
        )
        # Identity is canonical; a ring places the host under its name.
        self._host_name = host
        self.reset_interval = float(option('reset_interval', reset_interval))
        self.max_stale = float(option('max_stale', max_stale))
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()
        self._changes = notify.Notifier(self.host)
        _fork.register(self)
        # The groups of the last read of every group (get_rings(None)).
        self._every: tuple[float, list[str]] | None = None
        self.expected_members = (
            None
            if expected_members is None
            else _validate.integer('expected_members', expected_members, 1)
        )
        self._linted: dict[str, frozenset[str]] = {}
        # For stats(): members by state as last read, and outages seen.
        self._states: dict[str, dict[str, int]] = {}
        self._outages: dict[str, int] = {}
        # When a read last failed, and why; None once one works.
        self._failed: tuple[float, exception.MembershipUnavailable] | None = (
            None
        )
        self._handoff_on = bool(option('handoff', handoff))
        self.max_peak_to_mean = float(
            option('max_peak_to_mean', max_peak_to_mean)
        )
        # Rings to check for balance once the lock is released.
        self._balance_due: list[tuple[str, ring_mod.HashRing]] = []
        self._balanced: dict[str, Any] = {}
        self._protocol: handoff_mod.Protocol | None = None
        #: random, one per manager: part of every fencing token, so that
        #: a restarted service's tokens differ from its earlier run's
        self.epoch = uuid.uuid4().hex[:8]
        self._seen: dict[str, tuple[str | None, datetime.datetime]] = {}

    def _after_fork(self) -> None:
        # A parent's thread may have held these; the cached rings are
        # values, and stay.
        self._lock = threading.Lock()
        self._changes.after_fork()

    def get_ring(self, group: str | None = None) -> ring_mod.HashRing:
        """Return the current ring of a group.

        Runtime complexity: ``O(1)`` while the cached ring is fresh (a dict
        read and a clock read, no lock); a refresh reads the membership and
        rebuilds the ring if it changed.

        :param group: the group; the source's default group when None.
        :returns: an immutable :class:`hashring.HashRing` whose
            ``generation`` and ``fingerprint`` identify it.
        :raises hashring.exception.NoMembersError: the group has no member
            up, after one immediate second read.
        :raises hashring.exception.RingUnavailable: the membership has been
            unavailable for longer than ``max_stale`` (or has never been
            read).
        """
        key = self.source.default_group if group is None else group
        try:
            entry = self._entries.get(key)
        except TypeError:
            # Checked only here, off the path of a good name: a list, say.
            membership_base.check_group(key)
            raise
        if (
            entry is not None
            and self._clock() - entry.checked_at < self.reset_interval
        ):
            return entry.ring
        return self._refresh(key, force=False)

    def refresh(self, group: str | None = None) -> ring_mod.HashRing:
        """Read a group's membership now and return its ring.

        :raises: as :meth:`get_ring`.
        """
        key = self.source.default_group if group is None else group
        return self._refresh(membership_base.check_group(key), force=True)

    def subscribe(
        self,
        callback: Callable[[RingChange], None],
        keys: notify.Keys = None,
    ) -> None:
        """Call ``callback`` with a :class:`RingChange` on every change.

        The callback runs after the new ring is in place, in a thread that
        refreshed a ring.  Each change is delivered exactly once, and a
        group's changes in generation order, one at a time: a callback is
        never called again before it has returned.  An exception it raises
        is logged and ignored.

        :param callback: a callable taking a :class:`RingChange`.
        :param keys: the keys to report as gained and lost by ``host``:
            a collection, or a callable returning the current one (for a
            node list that changes).  None reports none.
        :raises hashring.exception.InvalidArgumentError: ``callback`` is
            not callable, or ``keys`` is no collection (a ``str``).
        """
        self._changes.subscribe(callback, keys)

    def _refresh(self, group: str, force: bool) -> ring_mod.HashRing:
        with self._lock:
            now = self._clock()
            entry = self._entries.get(group)
            if (
                not force
                and entry is not None
                and now - entry.checked_at < self.reset_interval
            ):
                # Another thread refreshed it while we waited.
                return entry.ring
            failed = None if force else self._failing(entry, now)
            if failed is not None:
                # Another group's read failed just now, and every group is
                # on the same backend: G groups would wait G timeouts.
                return self._stale(group, entry, now, failed)
            try:
                read = self._read(self.source.get_members(group))
                if not read[0]:
                    # A group just created, or members caught between a
                    # restart and their next heartbeat: read once more.
                    read = self._read(self.source.get_members(group))
            except exception.MembershipUnavailable as exc:
                self._failed = (self._clock(), exc)
                return self._stale(group, entry, now, exc)
            new = self._install(group, read, now)
        self._after_change()
        return new

    def get_rings(
        self, groups: Iterable[str] | None = None
    ) -> dict[str, ring_mod.HashRing]:
        """Return the rings of several groups, from one read of the source.

        For a service with a ring per group, such as Ironic's per
        conductor group and hardware type: one backend round trip (see
        :meth:`hashring.membership.MembershipSource.get_groups`) refreshes
        them all, and :meth:`get_ring` then serves each from the cache.

        Runtime complexity: ``O(g)`` for ``g`` groups while every ring is
        fresh; otherwise one read, and a rebuild of each ring that changed.

        :param groups: the groups; None for every group the source holds.
        :returns: the ring of each group that has a member up, by group; a
            group with none is left out (:meth:`get_ring` raises
            :class:`~hashring.exception.NoMembersError` for it).
        :raises hashring.exception.RingUnavailable: the membership cannot
            be read and no ring has been served yet, or only rings older
            than ``max_stale`` are left.
        :raises hashring.exception.InvalidArgumentError: ``groups`` is a
            single ``str`` (its letters are no groups), or names a bad
            group.
        """
        # Checked here too: the cache is read before the source is.
        wanted = membership_base.check_groups(groups)
        now = self._clock()
        fresh = wanted
        every = self._every
        if wanted is None and every is not None:
            # The list of groups is as fresh as the read that found it.
            fresh = every[1] if now - every[0] < self.reset_interval else None
        if fresh is not None:
            entries = [self._entries.get(g) for g in fresh]
            if all(
                e is not None and now - e.checked_at < self.reset_interval
                for e in entries
            ):
                return {g: e.ring for g, e in zip(fresh, entries)}  # type: ignore[union-attr]
        with self._lock:
            now = self._clock()
            try:
                snapshots = self.source.get_groups(wanted)
            except exception.MembershipUnavailable as exc:
                self._failed = (self._clock(), exc)
                cached = (
                    wanted
                    if wanted is not None
                    else every[1]
                    if every is not None
                    else list(self._entries)
                )
                if not cached:
                    raise exception.RingUnavailable(
                        'every group',
                        f'the membership could not be read: {exc}',
                        exc,
                    ) from exc
                return {
                    g: self._stale(g, self._entries.get(g), now, exc)
                    for g in cached
                }
            rings = {}
            for group, snapshot in snapshots.items():
                try:
                    rings[group] = self._install(
                        group, self._read(snapshot), now
                    )
                except exception.NoMembersError:
                    self._entries.pop(group, None)
            if wanted is None:
                self._every = (now, sorted(rings))
        self._after_change()
        return rings

    def _install(
        self,
        group: str,
        read: tuple[dict[str, int], int, frozenset[str]],
        now: float,
    ) -> ring_mod.HashRing:
        """Put the ring of a group's read in place (under the lock)."""
        members, offline, alive = read
        self._failed = None
        entry = self._entries.get(group)
        if not members:
            raise exception.NoMembersError(group, offline)
        if entry is not None and members == entry.members:
            self._entries[group] = dataclasses.replace(
                entry, alive=alive, checked_at=now, good_at=now
            )
            return entry.ring
        try:
            new = self._build(entry, members)
        except exception.InvalidArgumentError as exc:
            # Members the source let through that no ring can hold (too
            # many points): keep serving the last ring, as in an outage.
            return self._stale(
                group,
                entry,
                now,
                exception.MembershipUnavailable(
                    self.source.backend,
                    f'no ring can be built of group {group!r}: {exc}',
                    exc,
                ),
            )
        generation = self._generations.get(group, 0) + 1
        self._generations[group] = generation
        new._generation = generation
        self._entries[group] = _Entry(new, members, alive, now, now)
        old = None if entry is None else entry.ring
        self._changes.queue(group, old, new)
        if LOG.isEnabledFor(logging.INFO):
            # The fingerprint hashes every point: only for a line shown.
            LOG.info(
                'Ring of group %s is now generation %d (%s): %d members %s',
                group,
                generation,
                new.fingerprint,
                len(members),
                sorted(members),
            )
        lint.check(group, members, self.expected_members, self._linted)
        self._balance_due.append((group, new))
        return new
