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

"""A group at a glance: its members, its rings, its balance, its warnings.

:func:`group_status` reads a group once and says what an operator checks
first: how many members are in each state, which ring each applies (the
handoff protocol's claims), whether they agree and since when, how evenly
the ring spreads the keys, and what looks wrong - names that are
probably one host twice (:mod:`hashring.lint`), members kept up only
because a backend outage explains their silence, members whose heartbeat
is late.  ``hashring status`` prints it for one group or every group.

Runtime complexity: one membership read, a ring build and ``O(k)``
lookups for ``k`` keys.
"""

from collections.abc import Mapping
from collections.abc import Sequence
import dataclasses
import datetime
from typing import Any

from hashring import balance
from hashring import explain
from hashring import lint
from hashring.membership import values
from hashring import published
from hashring import ring as ring_mod
from hashring import simulation


@dataclasses.dataclass(frozen=True)
class GroupStatus:
    """What :func:`group_status` found."""

    group: str
    #: the membership's generation
    generation: str
    #: the ring of the members up, at the given exponent and hash
    fingerprint: str
    #: how many members are in each state
    states: dict[str, int]
    members: list[explain.MemberState]
    #: the ring every live member applies, or None while they differ
    converged: str | None
    #: when the last member acknowledged it, where they publish it
    since: datetime.datetime | None
    #: the busiest member's keys per unit of weight over the mean
    peak_to_mean: float
    #: how many keys the balance was measured over; 0 for the ring's arcs
    balance_keys: int
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Return the status as JSON-safe data."""
        data = dataclasses.asdict(self)
        data['since'] = None if self.since is None else self.since.isoformat()
        return data


def group_status(
    snapshot: values.Snapshot,
    partition_exponent: int | None = None,
    hash_function: str | None = None,
    keys: Sequence[Any] | None = None,
    expected_members: int | None = None,
    heartbeat_interval: float | None = None,
    stats: Mapping[str, Any] | None = None,
) -> GroupStatus:
    """Return the status of a group from one read of its membership.

    :param snapshot: the group's :class:`hashring.membership.Snapshot`.
    :param partition_exponent: the services' exponent (tooz's default
        when None).
    :param hash_function: the services' hash function (md5 when None).
    :param keys: the keys to measure the balance over; None measures it
        exactly, over the ring's own arcs.
    :param expected_members: the most members the group should have.
    :param heartbeat_interval: the members' heartbeat interval: an up
        member silent for more than twice as long is reported late.
    :param stats: a service's :meth:`hashring.RingManager.stats` of the
        group, to report a ring served stale through an outage.
    :returns: a :class:`GroupStatus`.
    :raises hashring.exception.NoMembersError: no member is up.
    """
    members = snapshot.placed()
    ring = ring_mod.HashRing(
        members,
        ring_mod.DEFAULT_PARTITION_EXPONENT
        if partition_exponent is None
        else partition_exponent,
        hash_function or 'md5',
    )
    converged, _, since = published.convergence_of(snapshot, ring)
    claimed = any(m.claim is not None for m in snapshot)
    if keys is None:
        # Exact, from the ring's own arcs.
        peak = balance.peak_to_mean(ring) if len(ring) else 1.0
        counted = 0
    else:
        key_list = list(keys)
        loads = dict.fromkeys(members, 0)  # str names, as the source gives
        for owner in ring.map_keys(key_list):
            loads[owner] += 1  # type: ignore[index]
        peak = (
            simulation.Balance(
                ring.partition_exponent or 0, loads, dict(members)
            ).peak_to_mean
            if key_list
            else 1.0
        )
        counted = len(key_list)
    states = snapshot.states()
    warnings = list(lint.findings(members, expected_members))
    for member in sorted(snapshot.presumed):
        warnings.append(
            f'{member} is silent for longer than dead_after, and kept up '
            f'only because a backend outage explains it'
        )
    if heartbeat_interval is not None:
        for m in snapshot:
            if m.state is not values.State.UP or m.last_heartbeat is None:
                continue
            age = (snapshot.read_at - m.last_heartbeat).total_seconds()
            if age > 2 * heartbeat_interval:
                warnings.append(
                    f'{m.name} last heartbeat {age:.0f}s ago, more than '
                    f'twice heartbeat_interval ({heartbeat_interval:g}s)'
                )
    if claimed and converged is None:
        warnings.append('the members do not apply one ring yet')
    stale = 0.0 if stats is None else stats.get('stale_seconds', 0.0)
    if stale:
        warnings.append(
            f'the ring has been served for {stale:.0f}s through a '
            'membership outage'
        )
    return GroupStatus(
        snapshot.group,
        snapshot.generation,
        ring.fingerprint,
        states,
        explain.member_states(ring, snapshot),
        converged,
        since,
        round(peak, 4),
        counted,
        warnings,
    )
