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

"""What a member publishes for the handoff protocol, and what it says.

A :class:`Claim` names the ring a member applies in a group and, while
it moves, the ring it intends to apply, each as a :class:`RingSpec` that
rebuilds the ring exactly.  Members publish them in their membership
records (:meth:`hashring.membership.MembershipSource.publish`).  The
functions here read the claims of a group: whose have ended, which place
a member, and which ring the members agree on (:func:`convergence_of`);
a :class:`Token` says since which ring a member holds a key.  Which keys
a member may take, from the claims read, is :mod:`hashring.taking`; the
protocol that runs it all is :mod:`hashring.handoff`.
"""

from collections.abc import Mapping
import dataclasses
import datetime
import typing
from typing import Any

from hashring import _validate
from hashring import exception
from hashring.membership import identity
from hashring.membership import values
from hashring import ring as ring_mod


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
    def from_dict(
        cls, data: Any, parsed: dict[Any, Any] | None = None
    ) -> 'RingSpec':
        """Return a spec read from a membership record.

        :param data: the spec's data, as :meth:`to_dict` gives it.
        :param parsed: specs parsed from the same read, added to here:
            equal data, type for type, gives the same spec.
        :raises hashring.exception.InvalidArgumentError: a field is missing
            or of the wrong type; the message names it.
        """
        if not isinstance(data, Mapping):
            raise exception.InvalidArgumentError(
                f'A published ring is a mapping, not {data!r:.80}'
            )
        if parsed is None:
            return cls._parse(data)
        # Each of m claims carries the same few rings, with m weights:
        # equal data compares in C, and equal specs at once.
        fingerprint = data.get('fingerprint')
        before = parsed.get(fingerprint) if type(fingerprint) is str else None
        if (
            before is not None
            and before[0] == data
            and type(data['points']) is int
            and set(map(type, data['members'].values())) <= {int}
        ):
            return before[1]  # type: ignore[no-any-return]
        spec = cls._parse(data)
        parsed[spec.fingerprint] = (data, spec)
        return spec

    @classmethod
    def _parse(cls, data: Mapping[str, Any]) -> 'RingSpec':
        """Return the spec of a mapping; raise as :meth:`from_dict`."""
        members = data.get('members')
        if not isinstance(members, Mapping) or not (
            set(map(type, members)) <= {str}
            or all(isinstance(m, str) for m in members)
        ):
            raise exception.InvalidArgumentError(
                f'A published ring has members by name, not {members!r:.80}'
            )
        weights: dict[str, int]
        given = members.values()
        if (
            set(map(type, given)) == {int}
            and min(given) >= 1
            and max(given) <= values.MAX_WEIGHT
        ):
            weights = dict(members)  # checked in C: m in each of m claims
        else:
            weights = {
                m: values.check_weight(m, w) for m, w in members.items()
            }
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
    #: its record has yet to stand long enough for its reads to hold
    #: every live peer's (:func:`hashring.taking.settled`): its rings
    #: hand no key to another member (:func:`hashring.taking.handed`)
    settling: bool = False

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
            # Left out when False: the records of a settled member stay
            # as they were before the field.
            **({'settling': True} if self.settling else {}),
        }

    @classmethod
    def from_dict(
        cls, member: str, data: Any, parsed: dict[Any, Any] | None = None
    ) -> 'Claim':
        """Return a member's claim read from its record.

        :param parsed: as for :meth:`RingSpec.from_dict`.
        :raises hashring.exception.InvalidArgumentError: as
            :meth:`RingSpec.from_dict`.
        """
        if not isinstance(data, Mapping):
            raise exception.InvalidArgumentError(
                f'A claim is a mapping, not {data!r:.80}'
            )
        specs = [
            None
            if data.get(k) is None
            else RingSpec.from_dict(data[k], parsed)
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
        settling = data.get('settling', False)
        if not isinstance(settling, bool):
            raise exception.InvalidArgumentError(
                f'A claim has a boolean "settling", not {settling!r:.80}'
            )
        return cls(
            identity.canonical_id(member), specs[0], specs[1], since, settling
        )


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


def live_claims(snapshot: Any) -> list[Claim]:
    """Return the claims the live members of a snapshot published.

    Down and forced-down members' claims have ended; members that
    publish nothing are left out.
    """
    return [m.claim for m in snapshot if m.claim is not None and m.state.alive]


def peer_claims(
    snapshot: Any, host: str, ring: ring_mod.HashRing
) -> tuple[list[Claim], frozenset[str], frozenset[str]]:
    """Return the claims of a snapshot's live peers of ``host``.

    :param snapshot: the group's :class:`hashring.membership.Snapshot`.
    :param host: the member reading, whose own claim is left out.
    :param ring: the ring of the current membership, which a peer that
        publishes no claim (an older release, or tooz) is taken to apply.
    :returns: the live peers' claims (one that publishes none is taken
        to apply ``ring``, settling); the live members' ids, ``host``'s
        included where it is alive; and the draining peers' ids.  A dead
        or forced-down member's claims have ended.

    Runtime complexity: ``O(m)`` for ``m`` members.
    """
    found = []
    live = set()
    draining = set()
    inferred = None
    for member in snapshot:
        if not member.state.alive:
            continue
        live.add(member.id)
        if member.id == host:
            continue
        if member.state is values.State.DRAINING:
            draining.add(member.id)
        claim = member.claim
        if claim is None:
            # What it applies is inferred, not said: it hands nothing
            # (a member that joined, yet to publish, read nothing yet).
            inferred = inferred or RingSpec.of(ring)
            claim = Claim(member.id, inferred, settling=True)
        found.append(claim)
    return found, frozenset(live), frozenset(draining)


def unlisted(
    claims: list[Claim],
    listed: frozenset[str],
    me: str,
    before: list[Claim] | None = None,
) -> list[Claim]:
    """Return claims for the members a peer places that a read leaves out.

    A member whose record a backend lost (restarted empty, its keys
    expired) is missing from every read until it heartbeats again, and may
    still manage its keys meanwhile; a peer that knew it presumes it up
    (:class:`hashring.membership.liveness.Judge`), and its published rings
    place it.  A reader that joined since never knew it: to it, the claims
    returned stand for such a member, as though it had published each of
    those rings itself (:func:`hashring.taking.blocked` then blocks what
    they give it).  Without a record it cannot have moved: the rings of
    ``before`` that placed it stand for it while a peer still places it,
    though its peers move on.

    Runtime complexity: ``O(r * m)`` for ``r`` distinct published rings of
    ``m`` members.

    :param claims: the live peers' claims.
    :param listed: the ids of every member the reader's reads listed,
        live or not (one it read, and judged gone since, is its own to
        judge).
    :param me: the reader's canonical id.
    :param before: what the reader's last read returned.
    :returns: a claim per member left out and ring that places it.
    """
    found: dict[tuple[str, str], Claim] = {}
    seen = set()
    for claim in claims:
        for spec in claim.rings():
            if spec.fingerprint in seen:
                continue
            seen.add(spec.fingerprint)
            for name in spec.members:
                if name in listed:
                    continue  # most names are their canonical ids
                member = identity.canonical_of(name)
                if member not in listed and member not in (None, me):
                    # Settling: it hands nothing (taking.handed()).
                    found[member, spec.fingerprint] = Claim(
                        member, spec, settling=True
                    )
    placed = {member for member, _ in found}
    for claim in before or ():
        if claim.member in placed and claim.applied is not None:
            found.setdefault((claim.member, claim.applied.fingerprint), claim)
    return list(found.values())


def gives_to(claim: Claim, member: str) -> bool:
    """Tell whether a claim's rings place a member (by canonical id)."""
    return any(
        identity.names_of(spec.members, member) for spec in claim.rings()
    )


def convergence_of(
    snapshot: Any, ring: ring_mod.HashRing
) -> tuple[str | None, dict[str, str | None], datetime.datetime | None]:
    """Return the fingerprint a group's live members agree on, and each's.

    :param snapshot: the group's :class:`hashring.membership.Snapshot`.
    :param ring: the ring of the current membership, which a member that
        publishes no claim (an older release, or tooz) is taken to apply,
        unless it is up and the ring leaves it out.
    :returns: the agreed fingerprint, or None while the members differ or
        one is moving; each live member's applied fingerprint, None for
        one moving or that has applied none yet; and, when they agree,
        when the last of them acknowledged the ring (None if unknown).
    """
    applied: dict[str, str | None] = {}
    since: list[datetime.datetime | None] = []
    placed: frozenset[str | None] | None = None
    for member in snapshot:
        if not member.state.alive:
            continue
        claim = member.claim
        if claim is None:
            if member.state is values.State.UP:
                if placed is None:
                    placed = frozenset(
                        map(identity.canonical_of, ring.members)
                    )
                if member.id not in placed:
                    # Up, and off the ring: a ring read before it joined
                    # (and before its first claim), which it cannot apply.
                    applied[member.id] = None
                    continue
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
