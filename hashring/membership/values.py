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

"""The value types of membership, and the checks their fields pass.

A source reads :class:`Record` objects from its backend and hands out
:class:`Snapshot` objects of :class:`Member` objects.  Identity is
canonical (:func:`hashring.membership.identity.canonical_id`); placement
uses the registered name.
"""

import collections
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
import dataclasses
import datetime
import enum
import hashlib
import json
import operator
import re
import types
from typing import Any

from oslo_utils import timeutils

from hashring import _validate
from hashring import exception

#: Group names: letters, digits and ``_ . : @ -``, as Ironic's conductor
#: groups and hardware types and Nova's shards use them.
GROUP_RE = re.compile(r'[A-Za-z0-9_.:@-]{1,255}')

#: The attribute under which a member's record carries its handoff claim
#: for the record's group (see :mod:`hashring.handoff`); attributes whose
#: names begin with ``hashring.`` are the library's own.
CLAIM_ATTRIBUTE = 'hashring.claim'
#: The attribute under which a member's record carries the incarnation
#: of the process that wrote it
#: (:func:`hashring.membership.identity.incarnation`).
INCARNATION_ATTRIBUTE = 'hashring.incarnation'
RESERVED_PREFIX = 'hashring.'

#: The greatest weight a member may have: one member can take at most a
#: thousand times the share of another.  A record with a greater weight is
#: left off the ring (a bigger one once made every peer spend minutes and
#: gigabytes rebuilding).
MAX_WEIGHT = 1000

#: How deeply a member's attributes may nest.
MAX_ATTRIBUTE_DEPTH = 32

#: The heartbeats a record may have: one outside them is a backend's
#: placeholder (0001-01-01) or garbage, and would overflow the liveness
#: judge's arithmetic, for the whole group.
EARLIEST_HEARTBEAT = datetime.datetime(
    1970, 1, 1, tzinfo=datetime.timezone.utc
)
LATEST_HEARTBEAT = datetime.datetime(9000, 1, 1, tzinfo=datetime.timezone.utc)


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

    @property
    def alive(self) -> bool:
        """Whether a member in this state runs: not down, not forced down.

        Draining and disabled members still run, and still manage what
        they manage; a dead or fenced member's claims have ended.
        """
        return self not in _STOPPED


#: The stored form of every state: what a record's state may say.
STATE_VALUES = tuple(state.value for state in State)

#: The states of members that do not run (:attr:`State.alive`): a tuple,
#: whose ``in`` compares in C, where a set would hash each state through
#: the enum's __hash__ in Python.
_STOPPED = (State.DOWN, State.FORCED_DOWN)

#: The attributes of a member that publishes none: one read-only mapping
#: shared by them all, rather than one per member of every read.
NO_ATTRIBUTES: Mapping[str, Any] = types.MappingProxyType({})


@dataclasses.dataclass(frozen=True, slots=True)
class Member:
    """One member of a group, as read from a membership source.

    A member has two names: ``id``, canonical, says who it is (two records
    whose ids differ only in case are one member), and ``name``, exactly as
    it registered, is where a ring places it, so that rings map keys as
    tooz's ring of the registered names does.
    """

    #: the canonical id (see :mod:`hashring.membership.identity`)
    id: str
    state: State
    weight: int = 1
    #: what the member published about itself (read-only)
    attributes: Mapping[str, Any] = dataclasses.field(
        default_factory=lambda: NO_ATTRIBUTES
    )
    #: when it last heartbeat, in UTC, by the backend's clock where it has
    #: one; None where the backend tracks liveness itself (tooz)
    last_heartbeat: datetime.datetime | None = None
    #: the name it registered with, exactly (``id`` when not given)
    name: str = ''
    #: the :class:`hashring.handoff.Claim` it published for this group,
    #: None where it published none
    claim: Any = None
    #: the incarnation of the process that wrote its record
    #: (:func:`hashring.membership.identity.incarnation`), None where that
    #: process wrote none
    incarnation: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, 'name', self.id)


#: A member's state, read in C.
_STATE = operator.attrgetter('state')


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

    def alive(self) -> set[str]:
        """Return the ids of the members that run (:attr:`State.alive`)."""
        return {m.id for m in self.members.values() if m.state not in _STOPPED}

    def states(self) -> dict[str, int]:
        """Return how many members are in each state, by state value."""
        # str.__str__ gives a state's value, in C: the enum's value
        # property is a Python call per member, and a manager counts the
        # states of every read.
        return dict(
            collections.Counter(
                map(str.__str__, map(_STATE, self.members.values()))
            )
        )

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members.values())

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, member_id: object) -> bool:
        return member_id in self.members


@dataclasses.dataclass(frozen=True, slots=True)
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


def check_groups(groups: Any) -> list[str] | None:
    """Return valid group names, sorted, once each; None stays None.

    :raises hashring.exception.InvalidArgumentError: ``groups`` is not a
        collection (a single ``str``, whose letters are no groups), or
        names a bad group.
    """
    if groups is None:
        return None
    return sorted(
        {check_group(g) for g in _validate.collection('groups', groups)}
    )


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
    """Return the generation token of a set of members.

    Runtime complexity: ``O(m)`` for ``m`` members, and the size of their
    attributes.
    """
    quote = json.encoder.encode_basestring_ascii
    lines = []
    for m in members.values():
        if not m.attributes and type(m.weight) is int:
            # What json.dumps gives for a member without attributes (most
            # of them, in a big group), at a tenth of its cost.  A state
            # is a str: quoted, it is its value's JSON.
            line = f'[{quote(m.id)}, {quote(m.state)}, {m.weight}, {{}}]'
        else:
            line = json.dumps(
                [m.id, m.state.value, m.weight, dict(m.attributes)],
                sort_keys=True,
            )
        lines.append(line)
    # A line per member, each ended by a newline.
    lines.append('')
    text = '\n'.join(lines).encode()
    return hashlib.sha256(text, usedforsecurity=False).hexdigest()[:16]


def utcnow() -> datetime.datetime:
    """Return the local clock's time in UTC, timezone-aware."""
    return timeutils.utcnow(with_timezone=True)
