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
records (:meth:`hashring.membership.MembershipSource.publish`); a
:class:`Token` says since which ring a member holds a key.  What a read of
a group says of them is :mod:`hashring.published`; which keys a member may
take, from the claims read, :mod:`hashring.taking`; the protocol that runs
it all is :mod:`hashring.handoff`.
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
