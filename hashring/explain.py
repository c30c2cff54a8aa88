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

"""Which service owns a key, and why: the answer to an operator's question.

Nova bug 1866380 took days to find because nobody could see the ring a
service used.  :func:`explain` says, for each key, the ring (generation
and fingerprint), its members and their states, the owner and the members
that follow it, the key's partition, and, given the node's record, which
ownership rule decided who manages it and whether the owner has
acknowledged the ring under the handoff protocol.  ``hashring explain``
prints it.

Runtime complexity: ``O(m)`` per key for ``m`` members (the successors),
and ``O(m)`` filter calls of one node each when a node is given.
"""

from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
from typing import Any

from hashring import _validate
from hashring import hashing
from hashring.membership import identity
from hashring.membership import values
from hashring import ownership
from hashring import ring as ring_mod


@dataclasses.dataclass(frozen=True)
class MemberState:
    """A member of the ring's group, as the membership shows it."""

    name: str
    state: str
    weight: int
    #: the fingerprint of the ring it applies (handoff protocol); None
    #: when it publishes none or is moving
    applied: str | None = None
    #: the ring it moves to, while it moves
    intended: str | None = None


@dataclasses.dataclass(frozen=True)
class Explanation:
    """Why a key belongs where it does."""

    key: Any
    group: str | None
    generation: int | None
    fingerprint: str
    #: the key's stable partition (see :func:`hashring.partition_of`);
    #: None for a ring whose points are not a power of two
    partition: int | None
    #: the ring's owner, then the members that would own it in turn
    owners: list[Any]
    members: list[MemberState]
    #: with a node record: who manages it, by which rule, for which
    #: instance and instance host
    managed_by: str | None = None
    reason: str | None = None
    instance_id: Any = None
    instance_host: str | None = None
    #: under the handoff protocol: whether the owner applies this ring;
    #: None when it publishes nothing
    acknowledged: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the explanation as JSON-safe data."""
        data = dataclasses.asdict(self)
        data['owners'] = [_text(o) for o in self.owners]
        data['key'] = _text(self.key)
        return data


def explain(
    ring: ring_mod.HashRing,
    keys: Iterable[Any],
    snapshot: values.Snapshot | None = None,
    nodes: Mapping[Any, Mapping[str, Any]] | None = None,
    orphan_policy: str = 'adopt',
) -> list[Explanation]:
    """Explain who owns each key, and why.

    :param ring: the ring to explain, as a service uses it.
    :param keys: the keys (node ids).
    :param snapshot: the membership the ring was built from, for the
        members' states and published rings; without it every member of
        the ring is shown up.
    :param nodes: node records by key, with ``instance_id`` and
        ``instance_host`` (as ``hashring owned`` reads them): the
        ownership rules then decide who manages each.
    :param orphan_policy: as for :class:`hashring.OwnershipFilter`.
    :returns: an :class:`Explanation` per key, in order.
    :raises hashring.exception.InvalidKeyError: a key is not ``str`` or
        bytes.
    """
    keys = _validate.collection('keys', keys)
    members = member_states(ring, snapshot)
    by_id = {identity.canonical_id(m.name): m for m in members}
    alive = {
        i for i, m in by_id.items() if m.state not in ('down', 'forced_down')
    }
    exponent = ring.partition_exponent
    found = []
    for key in keys:
        owners = ring.get_nodes(key, replicas=max(1, len(ring)))
        owner = identity.canonical_of(owners[0])
        owner_state = None if owner is None else by_id.get(owner)
        acknowledged = None
        if owner_state is not None and (
            owner_state.applied or owner_state.intended
        ):
            acknowledged = owner_state.applied == ring.fingerprint
        extra: dict[str, Any] = {}
        if nodes is not None and key in nodes:
            extra = _decide(ring, key, nodes, alive, orphan_policy)
        found.append(
            Explanation(
                key,
                None if snapshot is None else snapshot.group,
                ring.generation,
                ring.fingerprint,
                None
                if exponent is None
                else hashing.partition_of(key, exponent),
                owners,
                members,
                acknowledged=acknowledged,
                **extra,
            )
        )
    return found


def member_states(
    ring: ring_mod.HashRing, snapshot: values.Snapshot | None
) -> list[MemberState]:
    """Return the members of a group with their states and rings.

    :param ring: the group's ring, whose members are shown up when there
        is no snapshot.
    :param snapshot: the membership read, or None.
    """
    if snapshot is None:
        return [
            MemberState(_text(m), 'up', w) for m, w in ring.members.items()
        ]
    states = []
    for m in snapshot:
        claim = m.claim
        states.append(
            MemberState(
                m.name,
                m.state.value,
                m.weight,
                None
                if claim is None or claim.applied is None
                else claim.applied.fingerprint,
                None
                if claim is None or claim.intended is None
                else claim.intended.fingerprint,
            )
        )
    return states


def _decide(
    ring: ring_mod.HashRing,
    key: Any,
    nodes: Mapping[Any, Mapping[str, Any]],
    alive: set[str],
    orphan_policy: str,
) -> dict[str, Any]:
    """Run the ownership rules for a node as each live member would."""
    node = {'instance_id': None, **nodes[key], 'id': key}
    hosts = {
        n['instance_id']: n['instance_host']
        for n in nodes.values()
        if n.get('instance_id') and n.get('instance_host')
    }
    decision = None
    managed_by = None
    owner = identity.canonical_of(ring.get_node(key))
    for member in sorted(alive | ({owner} if owner else set())):
        mine = [
            i
            for i, h in hosts.items()
            if identity.canonical_id(h) == member and i == node['instance_id']
        ]
        result = ownership.OwnershipFilter(
            member,
            ring=ring,
            instance_host=hosts.get,
            alive=alive,
            orphan_policy=orphan_policy,
        ).filter([node], mine)
        d = result.decisions[key]
        if decision is None or d.owned:
            decision = d
        if d.owned:
            managed_by = member
            break
    assert decision is not None
    return {
        'managed_by': managed_by,
        'reason': decision.reason.value,
        'instance_id': decision.instance_id,
        'instance_host': decision.instance_host,
    }


def _text(value: Any) -> Any:
    """A member or key as JSON can hold it."""
    if isinstance(value, bytes):
        return value.decode('utf-8', 'backslashreplace')
    return value
