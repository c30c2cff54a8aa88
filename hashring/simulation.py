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

"""Simulate a ring: its balance, and what a change of it moves.

Convergence after a membership event is :mod:`hashring.convergence`.
"""

from collections.abc import Sequence
import dataclasses
import statistics
from typing import Any
import uuid

from hashring import _validate
from hashring import movement
from hashring import ring as ring_mod


#: The most keys :func:`keys` makes: ten million take about 30 s and a
#: gigabyte.
MAX_KEYS = 10_000_000


def keys(count: int) -> list[str]:
    """Return ``count`` reproducible UUID keys.

    :raises hashring.exception.InvalidArgumentError: count is not an
        integer from 0 to :data:`MAX_KEYS`.
    """
    _validate.integer('count', count, 0, MAX_KEYS)
    return [
        str(uuid.uuid5(uuid.NAMESPACE_OID, f'hashring-{i}'))
        for i in range(count)
    ]


#: The membership changes :func:`compare` measures, in its order.
MOVES = ('join', 'leave', 'reweight')


@dataclasses.dataclass(frozen=True)
class Balance:
    """The load of a ring over a set of keys."""

    exponent: int
    loads: dict[str, int]
    #: each member's weight; None for weight 1 each
    weights: dict[str, int] | None = None

    @property
    def peak_to_mean(self) -> float:
        """The busiest member's keys per unit of weight, over the mean.

        1.0 is a perfect balance, whatever the weights: a member of weight
        2 with twice the keys of a member of weight 1 carries its share.
        """
        weights = self.weights or dict.fromkeys(self.loads, 1)
        mean = sum(self.loads.values()) / sum(weights.values())
        return max(n / weights[m] for m, n in self.loads.items()) / mean


def balance(
    members: dict[str, int], key_list: Sequence[Any], exponent: int
) -> Balance:
    """Return the keys per member of a ring at one exponent.

    Runtime complexity: ``O(P log P + k)``.

    :raises hashring.exception.InvalidArgumentError: ``members`` is not a
        mapping of name to weight, or as :class:`hashring.HashRing`.
    """
    _validate.mapping('members', members, 'a mapping of name to weight')
    owners = ring_mod.HashRing(members, exponent).map_keys(key_list)
    loads = dict.fromkeys(members, 0)
    for owner in owners:
        loads[owner] += 1  # type: ignore[index]
    return Balance(exponent, loads, dict(members))


def exponents_for(members: dict[str, int]) -> range:
    """Return the exponents at which a ring of these members can be built.

    :returns: 0 up to ``MAX_PARTITION_EXPONENT``, or less where the ring
        would have more than ``MAX_POINTS`` points.
    """
    total = sum(members.values())
    top = ring_mod.MAX_PARTITION_EXPONENT
    while top > 0 and total << top > ring_mod.MAX_POINTS:
        top -= 1
    return range(0, top + 1)


def compare(
    members: dict[str, int], key_list: Sequence[Any], exponent: int
) -> dict[str, Any]:
    """Return the load at one exponent and the share of keys MOVES move.

    The join adds a member of weight 1, the leave removes the first member
    and the re-weight doubles its weight.

    :returns: ``exponent``, ``min``, ``mean``, ``max``, ``peak_to_mean``
        (weighted, as :attr:`Balance.peak_to_mean`), ``loads`` and
        ``moved`` (the share of keys moved, by the names in MOVES).
    """
    result = balance(members, key_list, exponent)
    ring = ring_mod.HashRing(members, exponent)
    first = next(iter(members))
    others = {
        'join': {**members, 'newcomer': 1},
        'leave': {m: w for m, w in members.items() if m != first} or {'x': 1},
        'reweight': {**members, first: members[first] * 2},
    }
    moved_share = {
        name: sum(moved(ring, ring.with_members(other), key_list).values())
        / len(key_list)
        for name, other in others.items()
    }
    loads = result.loads.values()
    return {
        'exponent': exponent,
        'min': min(loads),
        'mean': statistics.mean(loads),
        'max': max(loads),
        'peak_to_mean': round(result.peak_to_mean, 4),
        'moved': {k: round(v, 5) for k, v in moved_share.items()},
        'loads': result.loads,
    }


def ideal_moves(members: dict[str, int]) -> dict[str, float]:
    """Return the least share of keys each of MOVES can move."""
    total = sum(members.values())
    weight = members[next(iter(members))]
    return {
        'join': 1 / (total + 1),
        'leave': weight / total,
        # Doubling a weight moves the difference of its shares.
        'reweight': 2 * weight / (total + weight) - weight / total,
    }


def recommend(
    members: dict[str, int],
    key_list: Sequence[Any],
    target: float,
    exponents: Sequence[int] | None = None,
) -> Balance | None:
    """Return the balance at the smallest exponent meeting a target.

    :param target: the weighted peak-to-mean load to reach, such as 1.15.
    :param exponents: those to try, in order; by default every exponent
        of :func:`exponents_for`.
    :returns: the first :class:`Balance` at or under target, or None.
    :raises hashring.exception.InvalidArgumentError: ``target`` is not a
        finite number of at least 0, or as :func:`balance`.
    """
    _validate.number('target', target)
    if exponents is None:
        exponents = exponents_for(members)
    for exponent in exponents:
        result = balance(members, key_list, exponent)
        if result.peak_to_mean <= target:
            return result
    return None


def moved(
    old: ring_mod.HashRing, new: ring_mod.HashRing, key_list: Sequence[Any]
) -> dict[tuple[Any, Any], int]:
    """Count the keys that move, by (from, to)."""
    counts: dict[tuple[Any, Any], int] = {}
    for move in movement.changes(old, new, key_list).values():
        counts[(move.old, move.new)] = counts.get((move.old, move.new), 0) + 1
    return counts
