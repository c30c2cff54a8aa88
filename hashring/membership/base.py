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

"""The membership-source interface: what every driver is.

Reading lives here, and turning what was read into members in
:mod:`hashring.membership.records`; registering in
:mod:`hashring.membership.registration`; the value types in
:mod:`hashring.membership.values`, whose names are kept here too, for
drivers written against this module.
"""

import abc
from collections.abc import Iterable
import dataclasses
import datetime
import functools
import logging
import math
import os
import threading
from typing import Any

from oslo_config import cfg

from hashring import _fork
from hashring import claims
from hashring import exception
from hashring.membership import heartbeats
from hashring.membership import identity
from hashring.membership import liveness
from hashring.membership import masking
from hashring.membership import records as records_mod
from hashring.membership import registration
from hashring.membership import values
from hashring import opts

LOG = logging.getLogger(__name__)

# The names drivers have used from this module.
GROUP_RE = values.GROUP_RE
MAX_ID_LENGTH = identity.MAX_ID_LENGTH
MAX_WEIGHT = values.MAX_WEIGHT
MAX_ATTRIBUTE_DEPTH = values.MAX_ATTRIBUTE_DEPTH
FIRST_RETRY = heartbeats.FIRST_RETRY
State = values.State
STATE_VALUES = values.STATE_VALUES
Member = values.Member
Snapshot = values.Snapshot
Record = values.Record
canonical_id = identity.canonical_id
canonical_of = identity.canonical_of
names_of = identity.names_of
check_group = values.check_group
check_groups = values.check_groups
check_weight = values.check_weight
check_attributes = values.check_attributes
generation_of = values.generation_of
reading = values.reading
utcnow = values.utcnow
mask = masking.mask
mask_url = masking.mask_url


class MembershipSource(registration.Registration, metaclass=abc.ABCMeta):
    """Where the live members of a group come from.

    A driver subclasses this, implements :meth:`_read` (and, to let
    services register, the ``_register``/``_beat``/``_unregister`` trio),
    and is installed under the ``hashring.membership`` entry-point
    namespace.  :func:`hashring.membership.load` loads one by name.

    Reading: :meth:`get_members` returns a :class:`Snapshot`.  Registering:
    :meth:`join` records this service as a member and starts a heartbeat
    thread; :meth:`drain` keeps it alive but off the ring; :meth:`leave`
    removes this service's own record, and nothing else.

    :param conf: an :class:`oslo_config.cfg.ConfigOpts` on which the
        ``[hashring]`` options are registered (they are registered if
        needed); None for the options' defaults.
    :param overrides: values that take precedence over ``conf``, by
        option name (``dead_after=30``, ``connection='sqlite://'``...).
    :raises hashring.exception.InvalidArgumentError: an option is invalid,
        such as ``dead_after`` below twice ``heartbeat_interval``.
    """

    #: the entry-point name; drivers set it
    name = 'base'

    #: whether a member's record outlives the process that wrote it, as a
    #: row or a file does; tooz ties it to the writer's session instead
    durable_records = True

    def __init__(
        self, conf: cfg.ConfigOpts | None = None, **overrides: Any
    ) -> None:
        cls = type(self)
        if (
            cls._read is MembershipSource._read
            and cls._read_groups is MembershipSource._read_groups
        ):
            # Each default is written in terms of the other.
            raise TypeError(
                f"Can't instantiate {cls.__name__}: a membership driver "
                f'implements _read, _read_groups or both'
            )
        self.conf = opts.ensure(conf)
        unknown = set(overrides) - opts.option_names()
        if unknown:
            raise exception.InvalidArgumentError(
                f'Unknown option(s) for a membership source: '
                f'{", ".join(sorted(unknown))}'
            )
        self._overrides = overrides
        self.heartbeat_interval = float(self.option('heartbeat_interval'))
        self.dead_after = float(self.option('dead_after'))
        #: seconds a call to the backend may take before it is abandoned
        self.read_timeout = float(self.option('read_timeout'))
        if self.dead_after < 2 * self.heartbeat_interval:
            raise exception.InvalidArgumentError(
                f'dead_after ({self.dead_after:g}s) must be at least twice '
                f'heartbeat_interval ({self.heartbeat_interval:g}s), or a '
                f'member would be judged dead after one late heartbeat'
            )
        self.default_group = check_group(self.option('group'))
        self.retention = float(self.option('retention'))
        # The first heartbeat cleans up, then one about every tenth of the
        # retention: from 0.0, a host up for less than that (the monotonic
        # clock starts at boot) waited until it had been.
        self._last_cleanup = -math.inf
        self._lock = threading.RLock()
        self._me: Record | None = None
        self._groups: set[str] = set()
        # The handoff claim this member publishes, by group.
        self._claims: dict[str, claims.Claim] = {}
        # Groups whose record may not say what this member is (its state,
        # weight, attributes or claim): a write failed.  The heartbeat
        # writes them, with the state where the failed write set it
        # (Heartbeats._write_records).
        self._unwritten: dict[str, bool] = {}
        self._stop = threading.Event()
        # Set to heartbeat before the interval is up (beat_soon()).
        self._soon = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_streaks()
        # When this member's record was last written (Incarnations).
        self._written_at = 0.0
        #: consecutive failed heartbeats (0 after a success)
        self.beat_failures = 0
        # A write failed since the last heartbeat that succeeded: the next
        # one publishes the outage.
        self._missed = False
        self._judge = liveness.Judge(
            self.dead_after,
            self.heartbeat_interval,
            self.read_timeout,
            lambda: self._clock(),
        )
        #: seconds this member's record must stand before it takes what no
        #: peer hands it (:func:`hashring.taking.settled`); unset, as long
        #: as a live peer may take to write again after an outage
        self.settle_after = float(
            self.option('settle_after') or self._judge.recovery.total_seconds()
        )
        if self.settle_after < 2 * self.heartbeat_interval:
            raise exception.InvalidArgumentError(
                f'settle_after ({self.settle_after:g}s) must be at least '
                f'twice heartbeat_interval ({self.heartbeat_interval:g}s): '
                f'every live peer heartbeats again within that'
            )
        self._logged: set[str] = set()
        # Set in a forked child: the member's process is its parent.
        self._parent: int | None = None
        # Acting for a member another process runs (Registration.resume).
        self._resumed = False
        # This registration of the member, which its records carry; and,
        # once another process joined as it later, what stopped it.
        self._incarnation: str | None = None
        self._duplicate: tuple[str, str, str, str] | None = None
        _fork.register(self)

    def _after_fork(self) -> None:
        """Reset what a forked child must not share with its parent.

        The child has no heartbeat thread and must not start one: the
        parent still heartbeats for the member.  It keeps knowing which
        member it is part of, reads with connections of its own, and may
        not change the member's records; :meth:`leave` in the child only
        forgets the registration.  Drivers extend it for their clients.
        """
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._soon = threading.Event()
        self._thread = None
        self._judge.after_fork()
        self._stalls.after_fork()
        if self._me is not None:
            self._parent = os.getppid()

    def option(self, name: str) -> Any:
        """Return an option's value: the override, else ``[hashring]``.

        An override of None is none, as a :class:`hashring.RingManager`'s
        keywords are: the configured value applies.

        :raises hashring.exception.InvalidArgumentError: the value is not
            one the option accepts (see :func:`hashring.opts.check`).
        """
        if self._overrides.get(name) is not None:
            return opts.check(name, self._overrides[name])
        return opts.check(name, getattr(self.conf.hashring, name))

    def required_option(self, name: str) -> Any:
        """Return an option a driver cannot do without.

        :raises hashring.exception.InvalidArgumentError: it is not set.
        """
        value = self.option(name)
        if not value:
            raise exception.InvalidArgumentError(
                f'The {self.name} membership driver needs [hashring] {name}'
            )
        return value

    @property
    def backend(self) -> str:
        """The backend, for messages: the driver name and where it points."""
        return self.name

    # Reading.

    def get_members(self, group: str | None = None) -> Snapshot:
        """Return a snapshot of a group's members.

        :param group: the group; ``[hashring] group`` when None.
        :returns: a :class:`Snapshot`, empty when the group has no members.
        :raises hashring.exception.MembershipUnavailable: the backend could
            not be read; never an empty snapshot instead.

        A record that one peer wrote badly (an invalid id or weight, or an
        id that collides with another record's) is logged and left out:
        one peer cannot take the whole group down.  Liveness is judged by
        :mod:`hashring.membership.liveness`, so that a backend outage does
        not make live members look dead.
        """
        group = check_group(self.default_group if group is None else group)
        return self.get_groups([group])[group]

    def get_groups(
        self, groups: Iterable[str] | None = None
    ) -> dict[str, Snapshot]:
        """Return snapshots of several groups, from one read of the backend.

        One query for SQL, one file read, one call of a ``callable``
        source's function: a service with a ring per group (Ironic's per
        conductor group and hardware type) reads them all at once, and
        every snapshot is of the same moment.

        :param groups: the groups to read; None for every group the
            backend holds a member of.
        :returns: a :class:`Snapshot` per group, in group order; a group
            with no member has an empty one.  No group asked for reads
            nothing, and returns no snapshot.
        :raises hashring.exception.MembershipUnavailable: the backend could
            not be read; never empty snapshots instead.
        :raises hashring.exception.InvalidArgumentError: a bad group name.
        """
        wanted = check_groups(groups)
        self._require_unique()
        if wanted == []:
            return {}  # no group asked for: nothing to read
        begun = self._clock()
        try:
            found, now = self._read_groups(wanted)
        except exception.MembershipUnavailable:
            self._judge.unreachable()
            raise
        self._judge.took(begun)
        self._judge.reached(now)
        return {
            group: self._snapshot(group, found.get(group, []), now)
            for group in (sorted(found) if wanted is None else wanted)
        }

    def _snapshot(
        self, group: str, records: list[Record], now: datetime.datetime
    ) -> Snapshot:
        """Judge a group's records into a snapshot."""
        me = self._me if group in self._groups else None
        my_id = None if me is None else canonical_id(me.id)
        listed = self._listed(group, records)
        if me is not None and my_id in listed:
            self._check_own_record(group, listed[my_id])
        heard = {
            m.id: (m, m.last_heartbeat)
            for m in listed.values()
            if m.state in (State.UP, State.DRAINING)
        }
        published = [
            self._judge.published(*r.outage)
            for r in records
            if r.outage is not None
        ]
        verdict = self._judge.judge(
            group,
            now,
            heard,
            published,
            listed=listed,
            alive=my_id,
        )
        members = dict(listed)
        for member_id in verdict.dead:
            members[member_id] = dataclasses.replace(
                members[member_id], state=State.DOWN
            )
        for member_id, value in verdict.presumed_absent.items():
            assert isinstance(value, Member)
            members[member_id] = value
        ordered = dict(sorted(members.items()))
        return Snapshot(
            group, ordered, generation_of(ordered), now, verdict.presumed
        )

    def _listed(self, group: str, records: list[Record]) -> dict[str, Member]:
        """Return the members of valid records, leaving bad ones out."""
        return records_mod.members(
            records,
            functools.partial(self._bad_record, group),
            functools.partial(self._bad_claim, group),
        )

    def _bad_claim(self, group: str, member_id: str, exc: Exception) -> None:
        """Log, once, a handoff claim that does not parse; it is ignored."""
        self._warn_once(
            f'Ignored the handoff claim of {member_id!r} in group '
            f'{group!r} of {self.backend}: {exc}'
        )

    def _warn_once(self, message: str) -> None:
        """Log a warning the first time it is seen (of the last 1,000)."""
        if message in self._logged:
            return
        if len(self._logged) >= 1000:
            self._logged.clear()
        self._logged.add(message)
        LOG.warning('%s', message)

    def _bad_record(self, group: str, member_id: Any, reason: Any) -> None:
        """Log, once, a record that is left off the ring, and why.

        Drivers call it for a record they cannot parse, with the error.
        """
        if isinstance(reason, BaseException):
            reason = f'it is not a valid record: {reason}'
        self._warn_once(
            f'Left record {member_id!r} of group {group!r} in '
            f'{self.backend} off the ring: {reason}'
        )

    def _read(self, group: str) -> tuple[list[Record], datetime.datetime]:
        """Return a group's records and the backend's time, in UTC.

        A record the driver cannot parse is passed to :meth:`_bad_record`
        and left out, not raised.  The default reads the group through
        :meth:`_read_groups`.

        :raises hashring.exception.MembershipUnavailable: on any trouble.
        """
        found, now = self._read_groups([group])
        return found.get(group, []), now

    def _read_groups(
        self, groups: list[str] | None
    ) -> tuple[dict[str, list[Record]], datetime.datetime]:
        """Return several groups' records and the backend's time.

        The default reads each group in turn with :meth:`_read`; a driver
        that can read them in one round trip overrides it (and then need
        not write :meth:`_read`), and must for ``groups=None``.

        :param groups: the groups, or None for every group it holds.
        :raises hashring.exception.MembershipUnavailable: on any trouble.
        """
        if groups is None:
            raise exception.InvalidArgumentError(
                f'The {self.name} membership driver cannot list its '
                f'groups: name the groups to read'
            )
        found: dict[str, list[Record]] = {}
        now = utcnow()
        for group in groups:
            found[group], now = self._read(group)
        return found, now

    def _close(self) -> None:
        """Release connections (optional)."""

    def close(self) -> None:
        """Leave nothing running: stop heartbeating and close connections."""
        self.stop()
