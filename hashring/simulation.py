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

"""Simulate a ring: balance, movement, and convergence after an event.

The convergence simulation runs the real :class:`hashring.RingManager` and
:class:`hashring.OwnershipFilter` of every service, against a simulated
membership and clock, so what it reports is what the library does.
"""

import collections
from collections.abc import Callable
from collections.abc import Sequence
import dataclasses
import datetime
import statistics
import typing
from typing import Any
import uuid

from hashring import exception
from hashring import manager
from hashring.membership import base as membership_base
from hashring import movement
from hashring import ownership
from hashring import ring as ring_mod

EVENTS = ('join', 'leave', 'crash', 'flap')


def keys(count: int) -> list[str]:
    """Return ``count`` reproducible UUID keys."""
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
    """
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
    """
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


class SimulatedMembership(membership_base.MembershipSource):
    """A membership kept in memory, with heartbeats on a simulated clock."""

    name = 'simulated'

    def __init__(self, clock: Callable[[], float], **overrides: Any) -> None:
        super().__init__(None, **overrides)
        self.clock = clock
        self.beats: dict[str, float] = {}
        self.epoch = datetime.datetime(
            2026, 1, 1, tzinfo=datetime.timezone.utc
        )

    def _stamp(self, seconds: float) -> datetime.datetime:
        return self.epoch + datetime.timedelta(seconds=seconds)

    def _read(
        self, group: str
    ) -> tuple[list[membership_base.Record], datetime.datetime]:
        return [
            membership_base.Record(
                host, membership_base.State.UP, 1, {}, self._stamp(beat)
            )
            for host, beat in sorted(self.beats.items())
        ], self._stamp(self.clock())


@dataclasses.dataclass
class Timeline:
    """The outcome of a convergence simulation."""

    #: (time, nodes managed by two or more services, nodes managed by none)
    points: list[tuple[float, int, int]]
    event: str
    event_at: float
    #: when it was clean again for good after the event; None if never
    clean_at: float | None

    @property
    def double_node_seconds(self) -> float:
        return _area(self.points, 1)

    @property
    def orphan_node_seconds(self) -> float:
        return _area(self.points, 2)

    @property
    def time_to_clean(self) -> float | None:
        return None if self.clean_at is None else self.clean_at - self.event_at


def _area(points: list[tuple[float, int, int]], column: int) -> float:
    return sum((b[0] - a[0]) * a[column] for a, b in zip(points, points[1:]))


def converge(
    services: int = 3,
    nodes: int = 1000,
    instances: float = 0.3,
    event: str = 'crash',
    event_at: float = 30.0,
    duration: float = 180.0,
    interval: float = 15.0,
    dead_after: float = 60.0,
    step: float = 1.0,
    flap_for: float = 20.0,
    progress: Callable[[float], None] | None = None,
) -> Timeline:
    """Simulate services refreshing their rings around one event.

    Services ``svc-1``..``svc-N`` heartbeat every step and refresh their
    rings every ``interval`` seconds, each with its own phase (service
    ``i`` first at ``i * interval / N``).  A fraction of the nodes carry
    an instance of the service that owned them at the start.  At
    ``event_at`` one thing happens: ``join`` (a new service starts),
    ``leave`` (the last service removes its record and stops), ``crash``
    (the last service stops, and its record stays until ``dead_after``)
    or ``flap`` (it crashes and comes back ``flap_for`` seconds later).
    Every step, every running
    service filters the nodes; the timeline counts the nodes managed by
    two or more services and by none.

    :returns: a :class:`Timeline`.
    :raises hashring.exception.InvalidArgumentError: bad parameters.
    """
    if event not in EVENTS:
        raise exception.InvalidArgumentError(
            f'event must be one of {", ".join(EVENTS)}, not {event!r}'
        )
    if services < 1 or nodes < 1 or step <= 0 or not 0 <= instances <= 1:
        raise exception.InvalidArgumentError(
            'services and nodes must be at least 1, step positive and '
            f'instances a fraction (got services={services}, nodes={nodes}, '
            f'step={step}, instances={instances})'
        )
    now = [0.0]

    def clock() -> float:
        return now[0]

    source = SimulatedMembership(
        clock, heartbeat_interval=step, dead_after=max(dead_after, 2 * step)
    )
    hosts = [f'svc-{i}' for i in range(1, services + 1)]
    if event == 'join':
        joiner = f'svc-{services + 1}'
    else:
        joiner = hosts[-1]
    node_ids = keys(nodes)
    first_ring = ring_mod.HashRing(dict.fromkeys(hosts, 1))
    placed = first_ring.map_keys(node_ids)
    with_instance = int(nodes * instances)
    # The hosts are str, so their owners are.
    instance_host: dict[str, str] = {
        f'inst-{i}': typing.cast(str, placed[i]) for i in range(with_instance)
    }
    # Instances stay with the service they started on, for the whole run.
    instances_of = {
        host: [i for i, h in instance_host.items() if h == host]
        for host in [*hosts, joiner]
    }
    node_list = [
        {'id': nid, 'instance_id': f'inst-{i}' if i < with_instance else None}
        for i, nid in enumerate(node_ids)
    ]

    running: dict[str, ownership.OwnershipFilter] = {}
    order = hosts if joiner in hosts else [*hosts, joiner]

    def start(host: str, at: float) -> None:
        # Build the first ring `phase` seconds early, so that this
        # service's refreshes fall at its own moments in each interval.
        phase = order.index(host) * interval / len(order)
        mgr = manager.RingManager(
            source, host=host, reset_interval=interval, clock=clock
        )
        now[0] = at - phase
        mgr.get_ring()
        now[0] = at
        running[host] = ownership.OwnershipFilter(
            host, manager=mgr, instance_host=lambda i: instance_host.get(i)
        )

    for host in hosts:
        source.beats[host] = 0.0
    for host in hosts:
        start(host, 0.0)
    points: list[tuple[float, int, int]] = []
    # A service's decisions depend only on its ring (the nodes and
    # instances stay put): filter again only when the ring changed.
    owned: dict[str, tuple[ring_mod.HashRing, list[str]]] = {}
    counts = (0, 0)
    t = 0.0
    back_at = event_at + flap_for if event == 'flap' else None
    happened = False
    while t <= duration + 1e-9:
        now[0] = t
        if t >= event_at and not happened:
            happened = True
            if event == 'join':
                source.beats[joiner] = t
                start(joiner, t)
            elif event == 'leave':
                del source.beats[joiner]
                running.pop(joiner)
            else:
                running.pop(joiner)
        if back_at is not None and t >= back_at:
            back_at = None
            start(joiner, t)
        for host in running:
            source.beats[host] = t
        changed = owned.keys() != running.keys()
        for host in list(owned):
            if host not in running:
                del owned[host]
        for host, flt in running.items():
            ring = typing.cast(manager.RingManager, flt.manager).get_ring()
            if host in owned and owned[host][0] is ring:
                continue
            result = flt.filter(node_list, instances_of[host])
            owned[host] = (ring, [node['id'] for node in result.owned])
            changed = True
        if changed:
            owners = collections.Counter(
                node for _, ids in owned.values() for node in ids
            )
            counts = (
                sum(1 for c in owners.values() if c > 1),
                nodes - len(owners),
            )
        points.append((t, *counts))
        if progress is not None:
            progress(t / duration)
        t = round(t + step, 9)
    clean_at = None
    for when, double, none in reversed(points):
        if when < event_at or double or none:
            break
        clean_at = when
    return Timeline(points, event, event_at, clean_at)
