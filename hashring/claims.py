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

"""What a member publishes for the handoff protocol: its claims.

A :class:`Claim` names the ring a member applies in a group and, while
it moves, the ring it intends to apply, each as a :class:`RingSpec` that
rebuilds the ring exactly.  Members publish them in their membership
records (:meth:`hashring.membership.MembershipSource.publish`); the
protocol itself is :mod:`hashring.handoff`.
"""

from collections.abc import Mapping
import dataclasses
from typing import Any

from hashring import _validate
from hashring import exception
from hashring.membership import values
from hashring import ring as ring_mod

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
        return cls(values.canonical_id(member), specs[0], specs[1])


class RingCache:
    """Built rings by fingerprint: peers publish the same few rings."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._rings: dict[str, ring_mod.HashRing] = {}

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
