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

"""How evenly a ring spreads the hash space, and a guardrail on it.

At exponent 5 (32 points per unit of weight, Nova's and Ironic's default)
the busiest member carries about 1.28 times its share at 10 members and
1.5 to 1.7 times at 100 to 1,000.  :func:`peak_to_mean` measures it
exactly, from the ring's own arcs rather than from sample keys; the ring
manager calls :func:`check` once per change of a group's members and logs
when the ring is worse than ``[hashring] max_peak_to_mean``, with the
exponent that would meet the bound and the share of keys that changing
to it would move.

Runtime complexity: ``O(P)`` for :func:`shares` on ``P`` points; the
advice builds a ring per exponent tried.
"""

from collections.abc import MutableMapping
import dataclasses
import logging
from typing import Any

from hashring import movement
from hashring import ring as ring_mod
from hashring import simulation

LOG = logging.getLogger(__name__)

#: Keys sampled to measure what a change of exponent would move.
SAMPLE_KEYS = 5_000


@dataclasses.dataclass(frozen=True)
class Advice:
    """What it would take to bring a ring under a bound."""

    peak_to_mean: float
    #: the smallest exponent that meets the bound, None if none does
    exponent: int | None
    #: the peak-to-mean load at that exponent
    then: float | None
    #: the share of keys that changing to it would move
    moved: float | None


def shares(ring: ring_mod.HashRing) -> dict[Any, float]:
    """Return each member's share of the hash space, from the ring's arcs.

    A key goes to the first point at or after its digest, so each point
    owns the arc from the point before it.

    :param ring: a ring with members.
    :returns: the fraction of all keys each member owns, summing to 1.
    """
    count = ring._count
    points = ring._points[:count]
    owners = ring._owners[:count]
    bits = ring._base.digest_size * 8
    space = 1 << bits
    found = dict.fromkeys(ring.members, 0)
    previous = int.from_bytes(points[-1], 'big') - space
    for point, owner in zip(points, owners):
        value = int.from_bytes(point, 'big')
        found[owner] += value - previous
        previous = value
    return {m: n / space for m, n in found.items()}


def peak_to_mean(ring: ring_mod.HashRing) -> float:
    """Return the busiest member's share per unit of weight over the mean.

    1.0 is a perfect balance, whatever the weights.
    """
    weights = ring.members
    total = sum(weights.values())
    return max(s * total / weights[m] for m, s in shares(ring).items())


def advise(ring: ring_mod.HashRing, bound: float) -> Advice:
    """Return the smallest exponent at which the ring meets a bound.

    :param ring: the ring as it is.
    :param bound: the peak-to-mean load to meet.
    :returns: an :class:`Advice`; its exponent is None when no exponent a
        ring of these members can have meets it.
    """
    now = peak_to_mean(ring)
    members = dict(ring.members)
    current = ring.partition_exponent or 0
    for exponent in simulation.exponents_for(members):  # type: ignore[arg-type]
        if exponent <= current:
            continue
        candidate = ring_mod.HashRing(members, exponent, ring.hash_function)
        then = peak_to_mean(candidate)
        if then <= bound:
            keys = simulation.keys(SAMPLE_KEYS)
            moved = len(movement.changes(ring, candidate, keys)) / len(keys)
            return Advice(now, exponent, then, moved)
    return Advice(now, None, None, None)


def check(
    group: str,
    ring: ring_mod.HashRing,
    bound: float,
    logged: MutableMapping[str, Any],
) -> Advice | None:
    """Log once per ring when a group's ring is worse than a bound.

    :param group: the group, for the message.
    :param ring: its ring.
    :param bound: the peak-to-mean load allowed; 0 checks nothing.
    :param logged: what the ring last checked per group was made of,
        kept by the caller so that a ring is checked once.
    :returns: the advice when the ring is worse than the bound, else None.
    """
    if not bound or not len(ring):
        return None
    # What the ring is made of, not its fingerprint: that hashes every
    # point, which a manager avoids when nothing else asks for it.
    made_of = (ring.points, ring.hash_function, *ring.members.items())
    if logged.get(group) == made_of:
        return None
    logged[group] = made_of
    if len(ring) < 2:
        return None
    now = peak_to_mean(ring)
    if now <= bound:
        return None
    advice = advise(ring, bound)
    if advice.exponent is None:
        LOG.warning(
            'Group %s: the busiest of %d members carries %.2f times its '
            'share (max_peak_to_mean %.2f), and no partition_exponent '
            'would meet that',
            group,
            len(ring),
            now,
            bound,
        )
    else:
        LOG.warning(
            'Group %s: the busiest of %d members carries %.2f times its '
            'share (max_peak_to_mean %.2f). partition_exponent %d would '
            'give %.2f, and changing to it would move %.0f%% of the keys '
            '(a rolling change under the handoff protocol: see '
            'RingManager.reconfigure)',
            group,
            len(ring),
            now,
            bound,
            advice.exponent,
            advice.then,
            (advice.moved or 0) * 100,
        )
    return advice
