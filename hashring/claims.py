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

"""What a member publishes for the handoff protocol, and what it decides.

A :class:`Claim` names the ring a member applies in a group and, while
it moves, the ring it intends to apply, each as a :class:`RingSpec` that
rebuilds the ring exactly.  Members publish them in their membership
records (:meth:`hashring.membership.MembershipSource.publish`).  The
functions here decide from the claims read who may take a key; a
:class:`Token` says since which ring a member holds one.  The protocol
that runs them is :mod:`hashring.handoff`.

Runtime complexity of :func:`owned`: ``O(k * c)`` for ``k`` keys and
``c`` published rings that differ, each built once per fingerprint.
"""

from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import datetime
import logging
import typing
from typing import Any

from hashring import _validate
from hashring import exception
from hashring.membership import values
from hashring import ring as ring_mod

LOG = logging.getLogger(__name__)

#: How many distinct published rings a cache keeps built.
CACHE_SIZE = 64


@dataclasses.dataclass(frozen=True)
class RingSpec:
    """Enough to rebuild a ring exactly, and its fingerprint to check it."""

    #: member name, as placed, to weight
    members: Mapping[str, int]
    points: int
    hash_function: str
    fingerprint: str

    @classmethod
    def of(cls, ring: ring_mod.HashRing) -> 'RingSpec':
        """Return the spec of a ring.

        :raises hashring.exception.InvalidArgumentError: a member is
            ``bytes``, which a published claim cannot carry.
        """
        names = {}
        for member, weight in ring.members.items():
            if not isinstance(member, str):
                raise exception.InvalidArgumentError(
                    f'A claim names members as str, not {member!r}'
                )
            names[member] = weight
        return cls(names, ring.points, ring.hash_function, ring.fingerprint)

    def build(self) -> ring_mod.HashRing:
        """Return the ring the spec describes.

        :raises hashring.exception.InvalidArgumentError: the spec does not
            build a ring with its own fingerprint (corrupt or forged).
        """
        built = ring_mod.HashRing(
            dict(self.members),
            hash_function=self.hash_function,
            points=self.points,
        )
        if built.fingerprint != self.fingerprint:
            raise exception.InvalidArgumentError(
                f'Published ring {self.fingerprint} rebuilds as '
                f'{built.fingerprint}: the claim is corrupt'
            )
        return built

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as JSON-safe data, for a membership record."""
        return {
            'members': dict(sorted(self.members.items())),
            'points': self.points,
            'hash_function': self.hash_function,
            'fingerprint': self.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: Any) -> 'RingSpec':
        """Return a spec read from a membership record.

        :raises hashring.exception.InvalidArgumentError: a field is missing
            or of the wrong type; the message names it.
        """
        if not isinstance(data, Mapping):
            raise exception.InvalidArgumentError(
                f'A published ring is a mapping, not {data!r:.80}'
            )
        members = data.get('members')
        if not isinstance(members, Mapping) or not all(
            isinstance(m, str) for m in members
        ):
            raise exception.InvalidArgumentError(
                f'A published ring has members by name, not {members!r:.80}'
            )
        weights = {m: values.check_weight(m, w) for m, w in members.items()}
        points = _validate.integer(
            'points', data.get('points'), 1, ring_mod.MAX_POINTS_PER_WEIGHT
        )
        hash_function = data.get('hash_function')
        fingerprint = data.get('fingerprint')
        for name, value in (
            ('hash_function', hash_function),
            ('fingerprint', fingerprint),
        ):
            if not isinstance(value, str):
                raise exception.InvalidArgumentError(
                    f'A published ring has a str {name}, not {value!r}'
                )
        return cls(weights, points, hash_function, fingerprint)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class Claim:
    """What one member publishes for one group."""

    #: the member's canonical id
    member: str
    #: the ring it applies, None before its first
    applied: RingSpec | None = None
    #: the ring it moves to, None when it is not moving
    intended: RingSpec | None = None
    #: when it acknowledged the applied ring (UTC)
    since: datetime.datetime | None = None

    def rings(self) -> list[RingSpec]:
        """Return the published rings, applied first."""
        return [r for r in (self.applied, self.intended) if r is not None]

    def to_dict(self) -> dict[str, Any]:
        """Return the claim as JSON-safe data (the member is the record's)."""
        return {
            'applied': None
            if self.applied is None
            else self.applied.to_dict(),
            'intended': (
                None if self.intended is None else self.intended.to_dict()
            ),
            'since': None if self.since is None else self.since.isoformat(),
        }

    @classmethod
    def from_dict(cls, member: str, data: Any) -> 'Claim':
        """Return a member's claim read from its record.

        :raises hashring.exception.InvalidArgumentError: as
            :meth:`RingSpec.from_dict`.
        """
        if not isinstance(data, Mapping):
            raise exception.InvalidArgumentError(
                f'A claim is a mapping, not {data!r:.80}'
            )
        specs = [
            None if data.get(k) is None else RingSpec.from_dict(data[k])
            for k in ('applied', 'intended')
        ]
        since = data.get('since')
        if since is not None:
            try:
                since = datetime.datetime.fromisoformat(since)
            except (TypeError, ValueError) as exc:
                raise exception.InvalidArgumentError(
                    f'A claim has an ISO 8601 "since", not {since!r:.80}'
                ) from exc
            if since.tzinfo is None:
                since = since.replace(tzinfo=datetime.timezone.utc)
        return cls(values.canonical_id(member), specs[0], specs[1], since)


@dataclasses.dataclass(frozen=True)
class Convergence:
    """Whether a group's live members apply one ring, and since when."""

    #: the fingerprint every live member applies; None while they differ
    fingerprint: str | None
    #: since when it has been so (UTC): when the last member acknowledged
    #: the agreed ring, or when this reader first saw the group so
    since: datetime.datetime
    #: each live member's applied fingerprint; None for one moving to
    #: another ring, or that has applied none yet
    applied: dict[str, str | None]


class Token(typing.NamedTuple):
    """A fencing token: who holds a key, since which of its rings.

    It changes whenever the holder takes the key afresh (a new ring
    generation, or a restart: a new epoch) and stays the same while it
    holds the key without a break, so a consumer can store it with the
    node's record and refuse, by compare-and-set, the writes of a holder
    whose tenure ended (see the handoff guide).
    """

    #: the holder's canonical member id
    member: str
    #: random, one per ring manager: a restarted service has another
    epoch: str
    #: the holder's ring generation when it took the key
    generation: int

    def __str__(self) -> str:
        return f'{self.member}/{self.epoch}/{self.generation}'


class Tenure:
    """Since when a member holds each key it holds: its fencing tokens."""

    def __init__(self, member: str, epoch: str) -> None:
        self.member = member
        self.epoch = epoch
        self._since: dict[Any, Token] = {}

    def update(
        self, held: Iterable[Any], generation: int | None, forget: Any = None
    ) -> dict[Any, Token]:
        """Record the keys held now, and return their tokens.

        Runtime complexity: ``O(k)`` for ``k`` keys held.

        :param held: the keys held now.
        :param generation: the ring generation they are held under.
        :param forget: the keys this answer was about, when it was about
            some keys only (the others stay as they were); None when
            ``held`` is everything held.
        :returns: the token of each key of ``held``.
        """
        since = self._since
        new = Token(self.member, self.epoch, generation or 0)
        tokens = {k: since.get(k, new) for k in held}
        if forget is None:
            self._since = tokens
        else:
            for key in forget:
                since.pop(key, None)
            since.update(tokens)
        return tokens

    def token(self, key: Any) -> Token | None:
        """Return the token of a key held, or None."""
        return self._since.get(key)


class RingCache:
    """Built rings by fingerprint: peers publish the same few rings."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._rings: dict[str, ring_mod.HashRing] = {}
        #: fingerprints of published rings that did not rebuild, logged once
        self.corrupt: set[str] = set()

    def get(self, spec: RingSpec) -> ring_mod.HashRing:
        """Return the ring of a spec, built once.

        :raises hashring.exception.InvalidArgumentError: as
            :meth:`RingSpec.build`.
        """
        found = self._rings.get(spec.fingerprint)
        if found is None or dict(found.members) != dict(spec.members):
            found = spec.build()
            if len(self._rings) >= self._size:
                # Dicts keep order: drop the oldest.
                del self._rings[next(iter(self._rings))]
            self._rings[spec.fingerprint] = found
        return found


def blocked(
    keys: list[Any],
    me: str,
    claims: Iterable[Claim],
    cache: RingCache | None = None,
    given_by: ring_mod.HashRing | None = None,
) -> set[Any]:
    """Return the keys a live peer's published rings still give to it.

    Runtime complexity: ``O(k * r)`` for ``k`` keys and ``r`` distinct
    published rings.

    :param keys: the keys to check.
    :param me: this member's canonical id; its own claim blocks nothing.
    :param claims: the claims of the live peers (dead and ``forced_down``
        members' claims left out by the caller).
    :param cache: built rings to reuse.
    :param given_by: a ring that gives every key of ``keys`` to ``me``
        (the target of the caller): a published ring that is the same,
        or that it holds as a part (fewer members, with their weights,
        ``me`` among them), gives them to nobody else, and is not looked
        up.
    :returns: the blocked keys.  A published ring that does not rebuild
        with its own fingerprint (a peer's bug, or a forged record) blocks
        every key its members might hold: what it gives them cannot be
        known, and taking a node it gives them would manage it twice.
    """
    cache = cache or RingCache()
    # Peers publish the same few rings: look the keys up once per ring,
    # not once per peer.
    by_ring: dict[tuple[Any, ...], tuple[RingSpec, set[str]]] = {}
    for claim in claims:
        if claim.member == me:
            continue
        for spec in claim.rings():
            key = (spec.fingerprint, *sorted(spec.members.items()))
            by_ring.setdefault(key, (spec, set()))[1].add(claim.member)
    held: set[Any] = set()
    for spec, members in by_ring.values():
        if given_by is not None and spec.fingerprint == given_by.fingerprint:
            continue
        try:
            ring = cache.get(spec)
        except exception.InvalidArgumentError as exc:
            if spec.fingerprint not in cache.corrupt:
                cache.corrupt.add(spec.fingerprint)
                LOG.error(
                    '%s; members %s publish it, so no node they might '
                    'hold is taken until they publish a ring that rebuilds',
                    exc,
                    ', '.join(sorted(members)),
                )
            held.update(keys)
            continue
        if given_by is not None and _within(ring, given_by, me):
            continue
        names: set[Any] = set()
        for member in members:
            names |= values.names_of(ring.members, member)
        if names:
            held.update(
                k for k, o in zip(keys, ring.map_keys(keys)) if o in names
            )
    return held


def _within(
    part: ring_mod.HashRing, whole: ring_mod.HashRing, me: str
) -> bool:
    """Tell whether a key ``whole`` gives to ``me``, ``part`` gives to it.

    True when ``part`` is ``whole`` less some members: the same points per
    weight and hash function, every member of ``part`` in ``whole`` with
    its weight, ``me`` among them.  Its points are then some of
    ``whole``'s, with their owners (a colliding point goes to the lowest
    name in both), ``me``'s all among them: the first point above a key
    in ``whole`` is in ``part`` too when it is ``me``'s, and the first
    there.  So a peer that publishes it while ``me`` moves to ``whole``
    - the peer has yet to see a member join - gives ``me``'s keys to
    nobody else.
    """
    if (
        part.points != whole.points
        or part.hash_function != whole.hash_function
        or len(part) > len(whole)
        or not values.names_of(part.members, me)
    ):
        return False
    weights = whole.members
    return all(weights.get(m) == w for m, w in part.members.items())


def owned(
    target: ring_mod.HashRing,
    me: str,
    keys: Iterable[Any],
    claims: Iterable[Claim],
    cache: RingCache | None = None,
    held: Iterable[Any] = (),
) -> list[Any]:
    """Return the keys this member may manage while it moves to ``target``.

    Call it after publishing ``target`` as intended (step 1 of the
    protocol) and with the claims read after that (step 2).

    :param target: the ring this member moves to (or applies).
    :param me: this member's canonical id.
    :param keys: the keys (node ids).
    :param claims: the live peers' claims.
    :param cache: built rings to reuse.
    :param held: the keys this member manages already, under claims it
        has published without a break since it took them.  A peer that
        announced a ring giving one of them to itself waits for this
        member to let go, so this member keeps it: releasing it at once
        would leave it unmanaged until the peer could take it.
    :returns: the keys ``target`` gives to ``me`` that this member holds,
        or that no live peer's published ring gives to that peer, in the
        order of ``keys``.
    """
    given = mine(target, me, _validate.collection('keys', keys))
    return take(given, me, claims, cache, held, target)


def take(
    given: list[Any],
    me: str,
    claims: Iterable[Claim],
    cache: RingCache | None = None,
    held: Iterable[Any] = (),
    given_by: ring_mod.HashRing | None = None,
) -> list[Any]:
    """Return, of the keys a ring gives to ``me``, those it may manage.

    :func:`owned` for a caller that has looked the keys up already.

    :param given: the keys the target ring gives to ``me``, in order.
    :param given_by: the target ring, when known (it saves lookups, as
        for :func:`blocked`).
    :returns: those held, and those no live peer's published ring gives
        to that peer, in the order of ``given``.
    """
    kept = held if isinstance(held, (set, frozenset)) else set(held)
    free = [k for k in given if k not in kept] if kept else given
    if not free:
        return given
    taken = blocked(free, me, claims, cache, given_by)
    if not taken:
        return given
    return [k for k in given if k in kept or k not in taken]


def mine(target: ring_mod.HashRing, me: str, keys: list[Any]) -> list[Any]:
    """Return the keys a ring gives to a member, in the order of keys."""
    names = values.names_of(target.members, me)
    return [k for k, o in zip(keys, target.map_keys(keys)) if o in names]


def live_claims(snapshot: Any) -> list[Claim]:
    """Return the claims the live members of a snapshot published.

    Down and forced-down members' claims have ended; members that
    publish nothing are left out.
    """
    return [
        m.claim
        for m in snapshot
        if m.claim is not None
        and m.state not in (values.State.DOWN, values.State.FORCED_DOWN)
    ]


def gives_to(claim: Claim, member: str) -> bool:
    """Tell whether a claim's rings place a member (by canonical id)."""
    return any(values.names_of(spec.members, member) for spec in claim.rings())


def convergence_of(
    snapshot: Any, ring: ring_mod.HashRing
) -> tuple[str | None, dict[str, str | None], datetime.datetime | None]:
    """Return the fingerprint a group's live members agree on, and each's.

    :param snapshot: the group's :class:`hashring.membership.Snapshot`.
    :param ring: the ring of the current membership, which a member that
        publishes no claim (an older release, or tooz) is taken to apply.
    :returns: the agreed fingerprint, or None while the members differ or
        one is moving; each live member's applied fingerprint, None for
        one moving or that has applied none yet; and, when they agree,
        when the last of them acknowledged the ring (None if unknown).
    """
    applied: dict[str, str | None] = {}
    since: list[datetime.datetime | None] = []
    for member in snapshot:
        if member.state in (values.State.DOWN, values.State.FORCED_DOWN):
            continue
        claim = member.claim
        if claim is None:
            applied[member.id] = ring.fingerprint
        elif claim.intended is None and claim.applied is not None:
            applied[member.id] = claim.applied.fingerprint
            since.append(claim.since)
        else:
            applied[member.id] = None
    found = set(applied.values())
    agreed = found.pop() if len(found) == 1 else None
    last = None
    if agreed is not None and since and None not in since:
        last = max(s for s in since if s is not None)
    return agreed, applied, last
