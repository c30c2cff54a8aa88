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

"""The membership-source interface and its value types."""

import abc
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
import dataclasses
import datetime
import enum
import functools
import hashlib
import json
import logging
import os
import re
import sys
import threading
import time
import types
from typing import Any
import unicodedata
import urllib.parse

from oslo_config import cfg
from oslo_utils import strutils
from oslo_utils import timeutils

from hashring import _fork
from hashring import _validate
from hashring import exception
from hashring.membership import liveness
from hashring import opts

LOG = logging.getLogger(__name__)

#: Group names: letters, digits and ``_ . : @ -``, as Ironic's conductor
#: groups and hardware types and Nova's shards use them.
GROUP_RE = re.compile(r'[A-Za-z0-9_.:@-]{1,255}')

MAX_ID_LENGTH = 255

#: The greatest weight a member may have: one member can take at most a
#: thousand times the share of another.  A record with a greater weight is
#: left off the ring (a bigger one once made every peer spend minutes and
#: gigabytes rebuilding).
MAX_WEIGHT = 1000

#: How deeply a member's attributes may nest.
MAX_ATTRIBUTE_DEPTH = 32

#: First retry after a failed heartbeat, in seconds; it doubles up to the
#: heartbeat interval.
FIRST_RETRY = 0.5


class State(str, enum.Enum):
    """The state of a member, and what the ring does with it.

    Only ``up`` members are placed on a ring.  ``draining`` members are
    alive and finish their work but take no new keys; ``disabled`` and
    ``forced_down`` are set by an operator (``forced_down`` is the fencing
    state: the member is known to be stopped); ``down`` members missed
    their heartbeats for longer than ``dead_after``.
    """

    UP = 'up'
    DRAINING = 'draining'
    DISABLED = 'disabled'
    FORCED_DOWN = 'forced_down'
    DOWN = 'down'


@dataclasses.dataclass(frozen=True)
class Member:
    """One member of a group, as read from a membership source.

    A member has two names: ``id``, canonical, says who it is (two records
    whose ids differ only in case are one member), and ``name``, exactly as
    it registered, is where a ring places it, so that rings map keys as
    tooz's ring of the registered names does.
    """

    #: the canonical id (see :func:`canonical_id`)
    id: str
    state: State
    weight: int = 1
    #: what the member published about itself (read-only)
    attributes: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: types.MappingProxyType({})
    )
    #: when it last heartbeat, in UTC, by the backend's clock where it has
    #: one; None where the backend tracks liveness itself (tooz)
    last_heartbeat: datetime.datetime | None = None
    #: the name it registered with, exactly (``id`` when not given)
    name: str = ''

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, 'name', self.id)


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """An immutable view of one group's members at one moment.

    An empty group is a valid, empty snapshot; a backend that cannot be
    read raises :class:`hashring.exception.MembershipUnavailable` instead.
    """

    group: str
    #: members by canonical id, in id order
    members: Mapping[str, Member]
    #: an opaque token that changes whenever the membership changes: ids,
    #: states, weights or attributes (not heartbeat times)
    generation: str
    #: when the snapshot was read, in UTC
    read_at: datetime.datetime
    #: members kept up only because a backend outage explains their
    #: silence or absence (see :mod:`hashring.membership.liveness`)
    presumed: frozenset[str] = frozenset()

    def up(self) -> dict[str, int]:
        """Return the ids of the members that belong on the ring, weighted."""
        return {
            m.id: m.weight
            for m in self.members.values()
            if m.state is State.UP
        }

    def placed(self) -> dict[str, int]:
        """Return what a ring places: up members' names, with weights.

        The names are the members' registered names, in id order, so that
        a ring of them equals tooz's ring of the same names.
        """
        return {
            m.name: m.weight
            for m in self.members.values()
            if m.state is State.UP
        }

    def offline(self) -> int:
        """Return how many members are not up."""
        return sum(m.state is not State.UP for m in self.members.values())

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members.values())

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, member_id: object) -> bool:
        return member_id in self.members


@dataclasses.dataclass(frozen=True)
class Record:
    """A member's record as a driver stores it (the driver's currency)."""

    #: the name the member registered with, exactly as it gave it; readers
    #: canonicalise it for identity
    id: str
    state: State
    weight: int
    attributes: Mapping[str, Any]
    heartbeat: datetime.datetime | None
    #: the span this member could not heartbeat, published with its first
    #: heartbeat after (see :mod:`hashring.membership.liveness`)
    outage: tuple[datetime.datetime, datetime.datetime] | None = None


def canonical_id(name: str) -> str:
    """Return the canonical form of a member id.

    The same function serves for this service and for its peers, so that a
    host whose name changed case is still one member: Unicode NFC,
    stripped of surrounding white space, lower case.  It is idempotent:
    the canonical form of a canonical id is itself.

    :param name: a member id.
    :returns: its canonical form.
    :raises hashring.exception.InvalidMemberError: the id is not a str, is
        empty, is longer than 255 characters, or holds control characters.
    """
    if not isinstance(name, str):
        raise exception.InvalidMemberError(name, 'member ids must be str')
    # str.__str__: a subclass cannot change the text that is compared.
    return _canonical(name if type(name) is str else str.__str__(name))


# A pure function of a str, called for every record of every read: the
# same few hundred names, over and over.
@functools.lru_cache(maxsize=8192)
def _canonical(name: str) -> str:
    if name.isascii():
        # NFC leaves ASCII as it is, and the only unprintable ASCII
        # characters are the control characters (category Cc).
        canon = name.strip().lower()
        if canon and canon.isprintable():
            if len(canon) > MAX_ID_LENGTH:
                raise exception.InvalidMemberError(
                    name, f'a member id has at most {MAX_ID_LENGTH} characters'
                )
            return canon
    canon = name
    # Lower-casing can undo NFC ('J\u030c' becomes 'j\u030c', which NFC
    # composes to one character): repeat until nothing changes, so that
    # canonical_id(canonical_id(x)) == canonical_id(x).
    for _ in range(4):
        step = unicodedata.normalize('NFC', canon).strip().lower()
        if step == canon:
            break
        canon = step
    if not canon:
        raise exception.InvalidMemberError(name, 'a member id is required')
    if len(canon) > MAX_ID_LENGTH:
        raise exception.InvalidMemberError(
            name, f'a member id has at most {MAX_ID_LENGTH} characters'
        )
    if any(unicodedata.category(c).startswith('C') for c in canon):
        raise exception.InvalidMemberError(
            name, 'a member id may not hold control characters'
        )
    return canon


def canonical_of(name: Any) -> str | None:
    """Return the canonical id of a ring's member name, or None.

    :param name: a member as a ring holds it: ``str``, or ``bytes`` read
        as UTF-8.
    :returns: its canonical id; None for a name that no member id can
        have (not UTF-8, control characters...).
    """
    try:
        text = name.decode('utf-8') if isinstance(name, bytes) else name
        return canonical_id(text)
    except (UnicodeDecodeError, exception.InvalidMemberError):
        return None


def names_of(members: Iterable[Any], member_id: str) -> frozenset[Any]:
    """Return the names among a ring's members that are one member id.

    Runtime complexity: ``O(m)`` for ``m`` members.

    :param members: the ring's members (or the ring itself).
    :param member_id: a canonical id.
    :returns: the names whose canonical id it is: one name, or none.
    """
    return frozenset(m for m in members if canonical_of(m) == member_id)


def check_group(group: Any) -> str:
    """Return a valid group name, or raise an error naming the bad one.

    :raises hashring.exception.InvalidArgumentError: the name is not 1 to
        255 letters, digits or ``_ . : @ -``.
    """
    if not isinstance(group, str) or not GROUP_RE.fullmatch(group):
        raise exception.InvalidArgumentError(
            f'Invalid group name {group!r}: use 1 to 255 letters, digits '
            f'and "_ . : @ -"'
        )
    return group


def reading(groups: Iterable[str] | None) -> str:
    """Say what a read of groups does, for a driver's error messages."""
    if groups is None:
        return 'read every group'
    return f'read group(s) {", ".join(map(repr, groups))}'


def check_weight(member: Any, weight: Any) -> int:
    """Return a valid weight, or raise an error naming the member.

    :raises hashring.exception.InvalidMemberError: the weight is not an
        integer from 1 to :data:`MAX_WEIGHT`.
    """
    value = _validate.weight(member, weight)
    if value > MAX_WEIGHT:
        raise exception.InvalidMemberError(
            member, f'weight {value!r} is above {MAX_WEIGHT}'
        )
    return value


def check_attributes(member: Any, attributes: Any) -> dict[str, Any]:
    """Return attributes as a JSON-safe dict, or raise naming the member."""
    if attributes is None:
        return {}
    if not isinstance(attributes, Mapping) or not all(
        isinstance(k, str) for k in attributes
    ):
        raise exception.InvalidMemberError(
            member, f'attributes {attributes!r} are not a mapping of str keys'
        )
    if _depth(attributes) > MAX_ATTRIBUTE_DEPTH:
        raise exception.InvalidMemberError(
            member,
            f'attributes nest deeper than {MAX_ATTRIBUTE_DEPTH} levels',
        )
    try:
        text = json.dumps(dict(attributes), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise exception.InvalidMemberError(
            member, f'attributes {attributes!r} are not JSON: {exc}'
        ) from exc
    return dict(json.loads(text))


def _depth(value: Any) -> int:
    """Return how deeply containers nest in value, without recursion."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_ATTRIBUTE_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest


def generation_of(members: Mapping[str, Member]) -> str:
    """Return the generation token of a set of members."""
    h = hashlib.sha256(usedforsecurity=False)
    for m in members.values():
        h.update(
            json.dumps(
                [m.id, m.state.value, m.weight, dict(m.attributes)],
                sort_keys=True,
            ).encode()
        )
        h.update(b'\n')
    return h.hexdigest()[:16]


class MembershipSource(metaclass=abc.ABCMeta):
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
        self._last_cleanup = 0.0
        self._lock = threading.RLock()
        self._me: Record | None = None
        self._groups: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat = 0.0
        #: consecutive failed heartbeats (0 after a success)
        self.beat_failures = 0
        # A write failed since the last heartbeat that succeeded: the next
        # one publishes the outage.
        self._missed = False
        self._judge = liveness.Judge(self.dead_after, self.heartbeat_interval)
        self._logged: set[str] = set()
        # Set in a forked child: the member's process is its parent.
        self._parent: int | None = None
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
        self._thread = None
        self._judge.after_fork()
        if self._me is not None:
            self._parent = os.getppid()

    def option(self, name: str) -> Any:
        """Return an option's value: the override, else ``[hashring]``.

        :raises hashring.exception.InvalidArgumentError: the value is not
            one the option accepts (see :func:`hashring.opts.check`).
        """
        if name in self._overrides:
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
            with no member has an empty one.
        :raises hashring.exception.MembershipUnavailable: the backend could
            not be read; never empty snapshots instead.
        :raises hashring.exception.InvalidArgumentError: a bad group name.
        """
        wanted = (
            None
            if groups is None
            else sorted(
                {
                    check_group(g)
                    for g in _validate.collection('groups', groups)
                }
            )
        )
        try:
            found, now = self._read_groups(wanted)
        except exception.MembershipUnavailable:
            self._judge.unreachable()
            raise
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
        if me is not None and my_id in members:
            # Our own record may look stale while a write is in flight or
            # the backend is slow; this process knows it is alive.
            members[my_id] = dataclasses.replace(
                members[my_id], state=me.state
            )
        ordered = dict(sorted(members.items()))
        return Snapshot(
            group, ordered, generation_of(ordered), now, verdict.presumed
        )

    def _listed(self, group: str, records: list[Record]) -> dict[str, Member]:
        """Return the members of valid records, leaving bad ones out."""
        valid = []
        for record in records:
            try:
                member_id = canonical_id(record.id)
                check_weight(record.id, record.weight)
            except exception.InvalidMemberError as exc:
                self._bad_record(group, record.id, str(exc))
            else:
                valid.append(
                    (_preference(record, member_id), record.id, member_id)
                )
        # Where two records are one member once canonical (a host whose
        # name changed case, or a record from before an upgrade), keep the
        # one heard from last: the other is its stale past.  Ties go to
        # the first by raw id, so that every reader keeps the same.
        by_id = {r.id: r for r in records}
        members: dict[str, Member] = {}
        raw: dict[str, str] = {}
        for _, raw_id, member_id in sorted(valid):
            if member_id in members:
                self._bad_record(
                    group,
                    raw_id,
                    f'it is the same member as record {raw[member_id]!r}',
                )
                continue
            raw[member_id] = raw_id
            record = by_id[raw_id]
            members[member_id] = Member(
                member_id,
                record.state,
                record.weight,
                types.MappingProxyType(dict(record.attributes)),
                record.heartbeat,
                raw_id,
            )
        return members

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

    @abc.abstractmethod
    def _read(self, group: str) -> tuple[list[Record], datetime.datetime]:
        """Return a group's records and the backend's time, in UTC.

        A record the driver cannot parse is passed to :meth:`_bad_record`
        and left out, not raised.

        :raises hashring.exception.MembershipUnavailable: on any trouble.
        """

    def _read_groups(
        self, groups: list[str] | None
    ) -> tuple[dict[str, list[Record]], datetime.datetime]:
        """Return several groups' records and the backend's time.

        The default reads each group in turn; a driver that can read them
        in one round trip overrides it, and must for ``groups=None``.

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

    # Registering.

    def join(
        self,
        member: str,
        group: str | None = None,
        weight: int = 1,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """Register this service as a member of a group, and heartbeat.

        Call it once per group for a member of several groups; the weight
        and attributes of the last call apply to all of them.  The
        heartbeat runs on its own thread every ``heartbeat_interval``.

        :param member: this service's id; it is canonicalised.
        :param group: the group; ``[hashring] group`` when None.
        :param weight: an integer of at least 1.
        :param attributes: JSON-serialisable facts about this member.
        :raises hashring.exception.RegistrationNotSupported: the driver
            cannot register members.
        :raises hashring.exception.InvalidArgumentError: this source is
            already registered under another id, or an argument is bad.
        :raises hashring.exception.MembershipUnavailable: the backend could
            not be written; the heartbeat thread keeps trying.
        """
        self._require_registration()
        self._require_own()
        member_id = canonical_id(member)
        self._check_name(member)
        group = check_group(self.default_group if group is None else group)
        record = Record(
            member,
            State.UP,
            check_weight(member, weight),
            check_attributes(member, attributes),
            None,
        )
        with self._lock:
            if self._me is not None and self.member_id != member_id:
                raise exception.InvalidArgumentError(
                    f'This source is registered as {self._me.id!r}; it '
                    f'cannot also join as {member!r}'
                )
            if self._me is not None:
                # One member, one name: the records of every group agree.
                record = dataclasses.replace(
                    record, id=self._me.id, state=self._me.state
                )
            self._me = record
            self._groups.add(group)
            self._start_heartbeat()
            self._register(group, record)
            self._last_beat = time.monotonic()
        LOG.info('Joined group %s of %s as %s', group, self.backend, record.id)

    def resume(self, member: str, group: str | None = None) -> None:
        """Act for a member registered earlier, as read from the backend.

        For a process that did not join itself, such as a command-line tool
        run after a restart: it takes the member's recorded weight,
        attributes and state (up or draining) without writing anything, so
        that :meth:`heartbeat`, :meth:`drain` and :meth:`leave` act for it.
        No heartbeat thread is started.

        :raises hashring.exception.UnknownMemberError: the member has no
            record in the group.
        :raises hashring.exception.MembershipUnavailable: the backend could
            not be read.
        """
        self._require_registration()
        member_id = canonical_id(member)
        group = check_group(self.default_group if group is None else group)
        found = self.get_members(group).members.get(member_id)
        if found is None:
            raise exception.UnknownMemberError(member)
        state = found.state if found.state is State.DRAINING else State.UP
        with self._lock:
            if self._me is not None and self.member_id != member_id:
                raise exception.InvalidArgumentError(
                    f'This source is registered as {self._me.id!r}; it '
                    f'cannot also act for {member!r}'
                )
            self._me = Record(
                found.name, state, found.weight, found.attributes, None
            )
            self._groups.add(group)

    def heartbeat(self) -> None:
        """Refresh this member's records now, re-joining where forgotten.

        :raises hashring.exception.MembershipUnavailable: the backend could
            not be written.
        :raises hashring.exception.InvalidArgumentError: in a process forked
            from the member's (see :meth:`_after_fork`).
        """
        self._require_own()
        with self._lock:
            me = self._me
            groups = sorted(self._groups)
            if me is None:
                return
            try:
                forgotten = self._beat(groups, me, self._missed)
            except exception.MembershipUnavailable:
                self._missed = True
                self._judge.unreachable()
                raise
            self._missed = False
            for group in forgotten:
                LOG.warning(
                    '%s forgot member %s of group %s; joining again',
                    self.backend,
                    me.id,
                    group,
                )
                self._register(group, me)
            self._last_beat = time.monotonic()

    def drain(self) -> None:
        """Keep this member alive but take it off the ring.

        :raises hashring.exception.MembershipUnavailable: the backend could
            not be written; the heartbeat writes the state later.
        """
        self._change_state(State.DRAINING)

    def undrain(self) -> None:
        """Put a draining member back on the ring."""
        self._change_state(State.UP)

    def leave(self) -> None:
        """Stop heartbeating and remove this member's own records.

        Nothing else is removed: another member's records are never
        touched.
        """
        # Outside the lock: the heartbeat thread takes it to beat.
        self._stop_heartbeat()
        with self._lock:
            me, groups = self._me, sorted(self._groups)
            self._me = None
            self._groups = set()
            if me is None:
                return
            if self._parent is not None:
                LOG.info(
                    'Process %d forgets member %s: its records belong to '
                    'process %d, which it was forked from',
                    os.getpid(),
                    me.id,
                    self._parent,
                )
                self._parent = None
                return
            for group in groups:
                self._unregister(group, me.id)
        LOG.info('Left %s as %s', self.backend, me.id)

    def stop(self) -> None:
        """Stop heartbeating without removing the records.

        The records expire after ``dead_after``, as a crash would leave
        them.  Use :meth:`leave` for a graceful exit.
        """
        self._stop_heartbeat()
        with self._lock:
            self._me = None
            self._groups = set()
            self._parent = None
        self._close()

    @property
    def groups(self) -> frozenset[str]:
        """The groups this source has joined."""
        return frozenset(self._groups)

    @property
    def member_id(self) -> str | None:
        """This source's canonical member id once it has joined, else None."""
        me = self._me
        return None if me is None else canonical_id(me.id)

    @property
    def member_name(self) -> str | None:
        """The name this source joined with, exactly, else None."""
        me = self._me
        return None if me is None else me.id

    def _change_state(self, state: State) -> None:
        self._require_registration()
        self._require_own()
        with self._lock:
            if self._me is None:
                raise exception.InvalidArgumentError(
                    f'Join a group before changing state to {state.value}'
                )
            self._me = dataclasses.replace(self._me, state=state)
            for group in sorted(self._groups):
                self._register(group, self._me)
        LOG.info('Member %s is now %s', self._me.id, state.value)

    def _require_own(self) -> None:
        """Refuse to change records that a parent process owns."""
        if self._parent is not None:
            raise exception.InvalidArgumentError(
                f'Process {os.getpid()} was forked from process '
                f'{self._parent}, which registered member {self.member_id}:'
                f' only that process may change its records'
            )

    def _require_registration(self) -> None:
        if type(self)._register is MembershipSource._register:
            raise exception.RegistrationNotSupported(
                f'The {self.name} membership driver cannot register members'
            )

    def _start_heartbeat(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._heartbeat_loop,
            name=f'hashring-heartbeat-{self.name}',
            daemon=True,
        )
        self._thread.start()

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _heartbeat_loop(self) -> None:
        # The thread must survive anything the backend does: an exception
        # that escaped would leave a live service looking dead.
        delay = self.heartbeat_interval
        while not self._stop.wait(delay) and not sys.is_finalizing():
            try:
                self.heartbeat()
                # Clean up about ten times per retention period.
                if time.monotonic() - self._last_cleanup > self.retention / 10:
                    self._last_cleanup = time.monotonic()
                    self.cleanup()
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

    # Driver hooks for registration; the defaults mean "not supported".

    def _check_name(self, name: str) -> None:
        """Refuse a name this backend cannot store or read back.

        :raises hashring.exception.InvalidMemberError: it cannot.
        """

    def _register(self, group: str, record: Record) -> None:
        """Create or replace this member's record in a group."""
        raise exception.RegistrationNotSupported(self.name)

    def _beat(
        self, groups: list[str], record: Record, recovering: bool
    ) -> list[str]:
        """Refresh this member's records; return the groups that lost it.

        :param recovering: a write failed since the last heartbeat that
            succeeded; a driver that stores heartbeat times publishes the
            span from the last one to now as the record's outage.
        """
        raise exception.RegistrationNotSupported(self.name)

    def _unregister(self, group: str, member_id: str) -> None:
        """Remove this member's record from a group."""
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

    def _close(self) -> None:
        """Release connections (optional)."""

    def close(self) -> None:
        """Leave nothing running: stop heartbeating and close connections."""
        self.stop()


def _preference(record: Record, member_id: str) -> tuple[int, float, bool]:
    """Sort key of one member's records: the one to keep sorts first."""
    alive = record.state in (State.UP, State.DRAINING)
    heard = record.heartbeat.timestamp() if record.heartbeat else 0.0
    return (not alive, -heard, member_id != record.id)


def mask(text: Any) -> str:
    """Return text (or an error's message) with any password masked.

    The one function that keeps secrets out of messages: ``password=...``
    and its kin, as :func:`oslo_utils.strutils.mask_password` finds them,
    and the password of a URL's ``user:password@``.
    """
    return ' '.join(
        mask_url(word) if '://' in word else strutils.mask_password(word)
        for word in str(text).split(' ')
    )


def mask_url(url: str) -> str:
    """Return a URL with its password, in userinfo or query, masked."""
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
    except ValueError:
        return strutils.mask_password(url)
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    if password is None and not any(_secret(k) for k, _ in query):
        return url
    if password is not None:
        host = parts.netloc.rpartition('@')[2]
        user = parts.username or ''
        parts = parts._replace(netloc=f'{user}:***@{host}')
    if any(_secret(k) for k, _ in query):
        parts = parts._replace(
            query='&'.join(
                f'{k}=***' if _secret(k) else urllib.parse.urlencode({k: v})
                for k, v in query
            )
        )
    return urllib.parse.urlunsplit(parts)


def _secret(name: str) -> bool:
    name = name.lower()
    return any(word in name for word in ('pass', 'secret', 'token', 'key'))


def utcnow() -> datetime.datetime:
    """Return the local clock's time in UTC, timezone-aware."""
    return timeutils.utcnow(with_timezone=True)
