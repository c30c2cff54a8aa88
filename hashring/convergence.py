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

"""Simulate services converging after a membership event.

It runs the real :class:`hashring.RingManager` and
:class:`hashring.OwnershipFilter` of every service (and, with
``handoff=True``, the real :class:`hashring.handoff.Protocol`) against a
simulated membership and clock, so what it reports is what the library
does.
"""

import collections
from collections.abc import Callable
import dataclasses
import datetime
import typing
from typing import Any

from hashring import exception
from hashring import handoff as handoff_mod
from hashring import manager
from hashring.membership import base as membership_base
from hashring import ownership
from hashring import ring as ring_mod
from hashring import simulation

EVENTS = ('join', 'leave', 'crash', 'flap', 'pause')

#: Bounds that keep a simulation's run time and memory bounded: steps
#: (``duration / step``), simulated seconds (about 11 days), services and
#: nodes.  The defaults run 180 steps of 3 services and 1,000 nodes.
MAX_STEPS = 100_000
MAX_SECONDS = 1_000_000.0
MAX_SERVICES = 1_000
MAX_NODES = 1_000_000


class SimulatedMembership(membership_base.MembershipSource):
    """A membership kept in memory, with heartbeats on a simulated clock.

    Several sources may share one membership (``shared``), one per
    service, so that each can register and publish its handoff claim;
    registering starts no thread: the simulation heartbeats.
    """

    name = 'simulated'

    def __init__(
        self,
        clock: Callable[[], float],
        shared: 'SimulatedMembership | None' = None,
        **overrides: Any,
    ) -> None:
        super().__init__(None, **overrides)
        self.clock = self._clock = clock
        #: last heartbeat, by host
        self.beats: dict[str, float] = {} if shared is None else shared.beats
        #: the record each host wrote (its state and attributes)
        self.records: dict[str, membership_base.Record] = (
            {} if shared is None else shared.records
        )
        self.epoch = datetime.datetime(
            2026, 1, 1, tzinfo=datetime.timezone.utc
        )

    def _stamp(self, seconds: float) -> datetime.datetime:
        return self.epoch + datetime.timedelta(seconds=seconds)

    def _read(
        self, group: str
    ) -> tuple[list[membership_base.Record], datetime.datetime]:
        up = membership_base.State.UP
        return [
            membership_base.Record(
                host,
                self.records[host].state if host in self.records else up,
                self.records[host].weight if host in self.records else 1,
                self.records[host].attributes if host in self.records else {},
                self._stamp(beat),
            )
            for host, beat in sorted(self.beats.items())
        ], self._stamp(self.clock())

    def _start_heartbeat(self) -> None:
        """The simulation heartbeats for every running service."""

    def _register(self, group: str, record: membership_base.Record) -> None:
        self.records[record.id] = record

    def _beat(
        self,
        groups: list[str],
        record: membership_base.Record,
        recovering: bool,
    ) -> list[str]:
        self.beats[record.id] = self.clock()
        return []

    def _unregister(self, group: str, member_id: str) -> None:
        self.records.pop(member_id, None)
        self.beats.pop(member_id, None)


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


def check(
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
) -> None:
    """Check a simulation's parameters, as :func:`converge` does first.

    The parameters are :func:`converge`'s.

    :raises hashring.exception.InvalidArgumentError: a value is out of
        bounds (see :data:`MAX_STEPS` and its kin), named in the message.
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
    seconds = {
        'event_at': event_at,
        'duration': duration,
        'interval': interval,
        'dead_after': dead_after,
        'step': step,
        'flap_for': flap_for,
    }
    for name, value in seconds.items():
        if not 0 <= value <= MAX_SECONDS:  # NaN fails too
            raise exception.InvalidArgumentError(
                f'{name} must be from 0 to {MAX_SECONDS:g} seconds, not '
                f'{value!r}'
            )
    steps = duration / step
    if steps > MAX_STEPS:
        raise exception.InvalidArgumentError(
            f'duration={duration:g} at step={step:g} makes '
            f'{steps:.0f} steps, above {MAX_STEPS}: lengthen the step or '
            'shorten the duration'
        )
    for name, value, most in (
        ('services', services, MAX_SERVICES),
        ('nodes', nodes, MAX_NODES),
    ):
        if value > most:
            raise exception.InvalidArgumentError(
                f'{name}={value} is above {most}, the most a simulation runs'
            )


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
    handoff: bool = False,
) -> Timeline:
    """Simulate services refreshing their rings around one event.

    Services ``svc-1``..``svc-N`` heartbeat every step and refresh their
    rings every ``interval`` seconds, each with its own phase (service
    ``i`` first at ``i * interval / N``).  A fraction of the nodes carry
    an instance of the service that owned them at the start.  At
    ``event_at`` one thing happens: ``join`` (a new service starts),
    ``leave`` (the last service removes its record and stops), ``crash``
    (the last service stops, and its record stays until ``dead_after``)
    ``flap`` (it crashes and comes back ``flap_for`` seconds later) or
    ``pause`` (it stops, heartbeats and all, as a process stopped or a
    virtual machine frozen, and goes on ``flap_for`` seconds later with
    what it held; it acts on nothing meanwhile).
    Every step, every running
    service filters the nodes; the timeline counts the nodes managed by
    two or more services and by none.

    With ``handoff``, every service runs the handoff protocol
    (:class:`hashring.handoff.Protocol`) through a source of its own, and
    a ``leave`` is graceful, as :meth:`hashring.handoff.Protocol.leave`:
    the service drains, keeps its nodes and goes on filtering until every
    peer applies a ring without it, then removes its record.  The services
    of the start ran before it, long enough to be settled
    (:func:`hashring.taking.settled`): the timeline is the event's.

    :returns: a :class:`Timeline`.
    :raises hashring.exception.InvalidArgumentError: bad parameters, or a
        run beyond :data:`MAX_STEPS`, :data:`MAX_SECONDS`,
        :data:`MAX_SERVICES` or :data:`MAX_NODES` (see :func:`check`).
    """
    check(
        services,
        nodes,
        instances,
        event,
        event_at,
        duration,
        interval,
        dead_after,
        step,
        flap_for,
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
    node_ids = simulation.keys(nodes)
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
    protocols: dict[str, handoff_mod.Protocol] = {}
    order = hosts if joiner in hosts else [*hosts, joiner]
    leaving: str | None = None

    def start(host: str, at: float, settled: bool = False) -> None:
        # Build the first ring `phase` seconds early, so that this
        # service's refreshes fall at its own moments in each interval.
        phase = order.index(host) * interval / len(order)
        own: SimulatedMembership = source
        if handoff:
            own = SimulatedMembership(
                clock,
                shared=source,
                heartbeat_interval=step,
                dead_after=max(dead_after, 2 * step),
            )
            if settled:
                # It ran before the simulated span: long enough to take
                # what nobody hands it (taking.settled).
                now[0] = at - own.settle_after
            own.join(host)
        mgr = manager.RingManager(
            own, host=host, reset_interval=interval, clock=clock
        )
        now[0] = at - phase
        mgr.get_ring()
        now[0] = at
        if handoff:
            # The manager of a joined host runs the protocol itself.
            protocols[host] = typing.cast(handoff_mod.Protocol, mgr.handoff)
        running[host] = ownership.OwnershipFilter(
            host,
            manager=mgr,
            instance_host=lambda i: instance_host.get(i),
            handoff=None if handoff else False,
        )

    for host in hosts:
        source.beats[host] = 0.0
    for host in hosts:
        start(host, 0.0, settled=True)
    points: list[tuple[float, int, int]] = []
    # A service's decisions depend only on its ring (the nodes and
    # instances stay put): filter again only when the ring changed.
    owned: dict[str, tuple[ring_mod.HashRing, list[str]]] = {}
    counts = (0, 0)
    t = 0.0
    back_at = event_at + flap_for if event in ('flap', 'pause') else None
    paused: ownership.OwnershipFilter | None = None
    happened = False
    while t <= duration + 1e-9:
        now[0] = t
        if t >= event_at and not happened:
            happened = True
            if event == 'join':
                source.beats[joiner] = t
                start(joiner, t)
            elif event == 'leave' and handoff:
                protocols[joiner].drain()
                leaving = joiner
            elif event == 'leave':
                del source.beats[joiner]
                running.pop(joiner)
            elif event == 'pause':
                paused = running.pop(joiner)
            else:
                running.pop(joiner)
        if leaving is not None and not protocols[leaving].waiting_for():
            # Every peer applies a ring without it: it goes, as
            # Protocol.leave() does, and they take its nodes.
            running.pop(leaving).manager.source.leave()  # type: ignore[union-attr]
            leaving = None
        if back_at is not None and t >= back_at:
            back_at = None
            if paused is not None:
                running[joiner], paused = paused, None
            else:
                start(joiner, t)
        for host, flt in running.items():
            own = typing.cast(manager.RingManager, flt.manager).source
            if own is source:
                source.beats[host] = t
            else:
                own.heartbeat()  # its streak, for the protocol
        changed = owned.keys() != running.keys()
        for host in list(owned):
            if host not in running:
                del owned[host]
        for host, flt in running.items():
            ring = typing.cast(manager.RingManager, flt.manager).get_ring()
            if not handoff and host in owned and owned[host][0] is ring:
                # Only the ring decides (without the protocol): unchanged.
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
