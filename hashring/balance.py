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
from the ring's own arcs rather than from sample keys; the ring manager
calls :func:`check` once per change of a group's members and logs when
the ring is worse than ``[hashring] max_peak_to_mean``, with the
exponent that would meet the bound and the share of keys that changing
to it would move.

Runtime complexity: ``O(P)`` for :func:`shares` on ``P`` points; the
advice builds a ring per exponent tried, so :func:`check` advises again
only when the member count has moved by more than :data:`ADVICE_DRIFT`.
"""

from collections.abc import MutableMapping
import dataclasses
import logging
from typing import Any

from hashring import _arcs
from hashring import _table
from hashring import _validate
from hashring import movement
from hashring import ring as ring_mod
from hashring import ringvalue
from hashring import simulation

LOG = logging.getLogger(__name__)

#: Keys sampled to measure what a change of exponent would move.
SAMPLE_KEYS = 5_000

#: The advice is made again once the member count has moved by more than
#: this share of the count it was made for.  Which exponent meets a bound
#: depends on how many members share the space, barely on which: one
#: member more or less does not change it, and advising builds a ring per
#: exponent tried - up to a thousand times the points of a change.
ADVICE_DRIFT = 0.1


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

    A key goes to the first point above its digest, so each point owns
    the arc from the point before it (:func:`hashring._arcs.of`).  The
    arcs are measured once per ring, and a ring made by
    :meth:`~hashring.HashRing.with_members` from a measured one carries
    them over, point by point changed.

    Runtime complexity: ``O(P)`` for ``P`` points the first time, mostly
    in C; ``O(M)`` for ``M`` members after that.

    :param ring: a ring with members.
    :returns: the fraction of all keys each member owns, summing to 1;
        none for a ring without members.
    :raises hashring.exception.InvalidArgumentError: ``ring`` is not a
        :class:`hashring.HashRing`.
    """
    table = ringvalue.checked('ring', ring)._table
    if not len(ring):
        return {}  # no points, and no arcs
    if table.arcs is None:
        # Kept on the ring: the same table, measured.
        table = ring._table = table._replace(arcs=_arcs.of(table))
    assert table.arcs is not None
    number = {m: n for n, m in enumerate(table.numbered)}
    found = table.arcs
    space = 1 << _table.ARC_BITS
    return {m: found[number[m]] / space for m in ring.members}


def peak_to_mean(ring: ring_mod.HashRing) -> float:
    """Return the busiest member's share per unit of weight over the mean.

    1.0 is a perfect balance, whatever the weights, and for a ring
    without members.

    :raises hashring.exception.InvalidArgumentError: ``ring`` is not a
        :class:`hashring.HashRing`.
    """
    found = shares(ring)
    weights = ring.members
    total = sum(weights.values())
    return max((s * total / weights[m] for m, s in found.items()), default=1.0)


def advise(
    ring: ring_mod.HashRing, bound: float, now: float | None = None
) -> Advice:
    """Return the smallest exponent at which the ring meets a bound.

    Runtime complexity: a ring built and measured per exponent tried.

    :param ring: the ring as it is.
    :param bound: the peak-to-mean load to meet.
    :param now: the ring's :func:`peak_to_mean`, when known.
    :returns: an :class:`Advice`; its exponent is None when no exponent a
        ring of these members can have meets it.
    :raises hashring.exception.InvalidArgumentError: ``ring`` is not a
        :class:`hashring.HashRing`, or ``bound`` is not a finite number
        of at least 0 (below 1, no exponent meets it).
    """
    ringvalue.checked('ring', ring)
    _validate.number('bound', bound)
    if now is None:
        now = peak_to_mean(ring)
    if now <= bound:
        return Advice(now, ring.partition_exponent, now, 0.0)
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


@dataclasses.dataclass
class _Checked:
    """What :func:`check` last saw of a group."""

    #: what the last ring checked was made of
    made_of: tuple[Any, ...]
    #: the advice last made, and the exponent, hash function and member
    #: count it was made for
    advice: Advice | None = None
    made_for: tuple[int | None, str, int] | None = None

    def advice_for(self, ring: ring_mod.HashRing, bound: float) -> Advice:
        """Return the advice for a ring, made again if it has drifted."""
        now = peak_to_mean(ring)
        if now <= bound:
            return Advice(now, ring.partition_exponent, now, 0.0)
        made_for = self.made_for
        if (
            self.advice is None
            or made_for is None
            or made_for[:2] != (ring.partition_exponent, ring.hash_function)
            or abs(len(ring) - made_for[2]) > made_for[2] * ADVICE_DRIFT
        ):
            self.advice = advise(ring, bound, now)
            self.made_for = (
                ring.partition_exponent,
                ring.hash_function,
                len(ring),
            )
            return self.advice
        return dataclasses.replace(self.advice, peak_to_mean=now)


def check(
    group: str,
    ring: ring_mod.HashRing,
    bound: float,
    logged: MutableMapping[str, Any],
) -> Advice | None:
    """Log once per ring when a group's ring is worse than a bound.

    Runtime complexity: ``O(P)`` for ``P`` points; the advice builds a
    ring per exponent tried, only when the member count has moved by more
    than :data:`ADVICE_DRIFT` since it was last made.

    :param group: the group, for the message.
    :param ring: its ring.
    :param bound: the peak-to-mean load allowed; 0 checks nothing.
    :param logged: what was last checked per group, kept by the caller so
        that a ring is checked once and its advice kept.
    :returns: the advice when the ring is worse than the bound, else None.
    """
    if not bound or not len(ring):
        return None
    # What the ring is made of, not its fingerprint: that hashes every
    # point, which a manager avoids when nothing else asks for it.
    made_of = (ring.points, ring.hash_function, dict(ring.members))
    checked = logged.get(group)
    if checked is None:
        checked = logged[group] = _Checked(made_of)
    elif checked.made_of == made_of:
        return None
    checked.made_of = made_of
    if len(ring) < 2:
        return None
    advice = checked.advice_for(ring, bound)
    if advice.peak_to_mean <= bound:
        return None
    if advice.exponent is None:
        LOG.warning(
            'Group %s: the busiest of %d members carries %.2f times its '
            'share (max_peak_to_mean %.2f), and no partition_exponent '
            'would meet that',
            group,
            len(ring),
            advice.peak_to_mean,
            bound,
        )
    else:
        assert checked.made_for is not None
        LOG.warning(
            'Group %s: the busiest of %d members carries %.2f times its '
            'share (max_peak_to_mean %.2f). partition_exponent %d would '
            'give %.2f at %d members, and changing to it would move '
            '%.0f%% of the keys (a rolling change under the handoff '
            'protocol: see RingManager.reconfigure)',
            group,
            len(ring),
            advice.peak_to_mean,
            bound,
            advice.exponent,
            advice.then,
            checked.made_for[2],
            (advice.moved or 0) * 100,
        )
    return advice
