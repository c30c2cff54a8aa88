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

"""A shard planner: Ironic nodes into balanced shards, moving the fewest.

Nova now recommends one nova-compute service per Ironic shard instead of
its hash ring.  :func:`plan` assigns nodes to the desired shards (names
and weights) so that the load is balanced - the busiest shard within
``tolerance`` (1%) of the best peak-to-mean load the node count allows,
not the ring's 1.28 - and, when shards are added or removed, moves the
fewest nodes that balance allows: a shard keeps as many of its nodes as
its share allows, and nodes with instances stay where they are unless
told otherwise.  :func:`commands` prints what an operator runs.

It is deterministic: the same nodes and shards give the same plan on
every machine (which nodes move is decided by the md5 of their ids,
never by ``hash()`` or input order).

Runtime complexity: ``O(n log n + s)`` for ``n`` nodes and ``s`` shards.
"""

from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import hashlib
import heapq
from typing import Any

from hashring import _validate
from hashring import exception
from hashring.membership import values

#: How far above the best peak-to-mean load a plan may be, as a fraction.
TOLERANCE = 0.01


@dataclasses.dataclass(frozen=True)
class Move:
    """One node that changes shard."""

    node: str
    #: its shard before, None for a node in none or in a removed shard
    old: str | None
    new: str
    #: whether it has an instance (Nova's records move with it)
    instance: bool


@dataclasses.dataclass(frozen=True)
class Plan:
    """A shard for every node, and what it takes to get there."""

    #: the shard of each node, in the order the nodes were given
    assignment: dict[str, str]
    moves: list[Move]
    #: nodes per shard, before (current shards only) and after
    before: dict[str, int]
    after: dict[str, int]
    #: the node count each shard's weight asks for, at the best balance
    targets: dict[str, int]
    #: the plan's peak-to-mean load, and the best the node count allows
    peak_to_mean: float
    ideal: float
    warnings: list[str]


def plan(
    nodes: Iterable[Mapping[str, Any]],
    shards: Mapping[str, int],
    move_instances: bool = False,
    tolerance: float = TOLERANCE,
) -> Plan:
    """Plan balanced shards that move the fewest nodes.

    :param nodes: mappings with ``id``, and optionally ``shard`` (the
        current one) and ``instance_id``.
    :param shards: the desired shards, by name, with integer weights.
    :param move_instances: let nodes with instances move too; by default
        they stay in their shard while it is kept.
    :param tolerance: how far above the best peak-to-mean load the plan
        may be, to keep nodes where they are.
    :returns: a :class:`Plan`.
    :raises hashring.exception.InvalidArgumentError: no shards, a bad
        weight or tolerance, or a node without an id or listed twice.
    """
    nodes = _validate.collection('nodes', nodes)
    if not _validate.mapping('shards', shards):
        raise exception.InvalidArgumentError('A plan needs shards')
    weights = {_name(s): values.check_weight(s, w) for s, w in shards.items()}
    if not isinstance(tolerance, (int, float)) or not 0 <= tolerance < 1:
        raise exception.InvalidArgumentError(
            f'tolerance must be a fraction from 0 to 1, not {tolerance!r}'
        )
    ids, current, pinned = _read(nodes, weights, move_instances)
    count = len(ids)
    total = sum(weights.values())
    targets = _quotas(count, weights)
    ideal = _peak(targets, weights, count)
    # The most nodes a shard may hold within the tolerance.
    caps = {
        s: max(
            targets[s],
            int(ideal * (1 + tolerance) * count * w / total + 1e-9),
        )
        for s, w in weights.items()
    }
    order = sorted(ids, key=_rank)
    occupied = {n['id'] for n in nodes if n.get('instance_id')}
    members: dict[str, list[str]] = {s: [] for s in weights}
    for node in order:
        shard = current[node]
        if shard in members:
            members[shard].append(node)
    assignment: dict[str, str] = {}
    movers = []
    warnings = []
    for shard, held in members.items():
        # Nodes with instances first: they are the ones to keep, as
        # moving them costs most (even when they may move).
        held.sort(key=lambda n: n not in occupied)
        keep = max(caps[shard], sum(1 for n in held if n in pinned))
        if keep > caps[shard]:
            warnings.append(
                f'shard {shard} keeps {keep} nodes with instances, more '
                f'than its balanced share of {caps[shard]}'
            )
        for node in held[:keep]:
            assignment[node] = shard
        movers += held[keep:]
    movers += [n for n in order if current[n] not in members]
    movers.sort(key=_rank)
    filled = {
        s: sum(1 for n in members[s] if n in assignment) for s in weights
    }
    # Fill to the targets first, the most behind first, then up to caps.
    behind = [
        ((filled[s] - targets[s]) / weights[s], s)
        for s in sorted(weights)
        if filled[s] < caps[s]
    ]
    heapq.heapify(behind)
    for node in movers:
        _, shard = heapq.heappop(behind)
        assignment[node] = shard
        filled[shard] += 1
        if filled[shard] < caps[shard]:
            heapq.heappush(
                behind,
                ((filled[shard] - targets[shard]) / weights[shard], shard),
            )
    moves = [
        Move(n, current[n], assignment[n], n in occupied)
        for n in ids
        if current[n] != assignment[n]
    ]
    for move in moves:
        if move.instance and move.old is not None and move.old in weights:
            warnings.append(
                f'node {move.node} moves with its instance from shard '
                f'{move.old} to {move.new}'
            )
    after = {s: 0 for s in weights}
    for shard in assignment.values():
        after[shard] += 1
    before: dict[str, int] = {}
    for was in current.values():
        if was is not None:
            before[was] = before.get(was, 0) + 1
    return Plan(
        {n: assignment[n] for n in ids},
        moves,
        before,
        after,
        targets,
        _peak(after, weights, count),
        ideal,
        warnings,
    )


def commands(
    result: Plan, compute_hosts: Mapping[str, str] | None = None
) -> list[str]:
    """Return the commands that carry a plan out, in order.

    Every node that moves gets ``baremetal node set --shard``.  A node
    with an instance also needs Nova to move its records to the
    nova-compute service of its new shard, with ``nova-manage db
    ironic_compute_node_move``, after the preconditions Nova documents:
    the service that manages it now is stopped and forced down, and the
    new one is configured with ``[ironic] shard``.

    :param result: a :class:`Plan`.
    :param compute_hosts: the nova-compute service of each shard, where
        known; a placeholder is printed for the others.
    :returns: shell command lines, with comments.
    :raises hashring.exception.InvalidArgumentError: ``compute_hosts`` is
        not a mapping.
    """
    hosts = dict(_validate.mapping('compute_hosts', compute_hosts or {}))
    lines = [
        f'baremetal node set --shard {m.new} {m.node}' for m in result.moves
    ]
    with_instances = [m for m in result.moves if m.instance]
    if with_instances:
        lines += [
            '# Nodes with instances: for each, once its nova-compute '
            'service is stopped and',
            '# forced down ("openstack compute service set --down HOST '
            'nova-compute") and the',
            "# destination service runs with [ironic] shard = its shard:",
        ]
        lines += [
            f'nova-manage db ironic_compute_node_move --ironic-node-uuid '
            f'{m.node} --destination-host '
            f'{hosts.get(m.new, f"<nova-compute of shard {m.new}>")}'
            for m in with_instances
        ]
    return lines


def _read(
    nodes: list[Any], weights: Mapping[str, int], move_instances: bool
) -> tuple[list[str], dict[str, str | None], set[str]]:
    ids: list[str] = []
    current: dict[str, str | None] = {}
    pinned: set[str] = set()
    for node in nodes:
        if not isinstance(node, Mapping) or not isinstance(
            node.get('id'), str
        ):
            raise exception.InvalidArgumentError(
                f'Every node needs a str "id", not {node!r:.80}'
            )
        node_id = node['id']
        if node_id in current:
            raise exception.InvalidArgumentError(
                f'Node {node_id!r} is listed twice'
            )
        shard = node.get('shard') or None
        if shard is not None:
            shard = _name(shard)
        ids.append(node_id)
        current[node_id] = shard
        if node.get('instance_id') and not move_instances:
            if shard in weights:
                pinned.add(node_id)
    return ids, current, pinned


def _name(shard: Any) -> str:
    if not isinstance(shard, str) or not shard.strip():
        raise exception.InvalidArgumentError(
            f'A shard is a non-empty str, not {shard!r:.80}'
        )
    return shard


def _rank(node: str) -> bytes:
    # Which nodes stay and which move: stable everywhere, and spread.
    return hashlib.md5(node.encode('utf-8'), usedforsecurity=False).digest()


def _quotas(count: int, weights: Mapping[str, int]) -> dict[str, int]:
    """Split count by weight so that the busiest shard is least busy.

    Each node goes where it adds the least load per unit of weight (ties
    by name), which minimises the largest ``nodes / weight``.
    """
    quotas = dict.fromkeys(weights, 0)
    heap = [(1 / w, s) for s, w in sorted(weights.items())]
    heapq.heapify(heap)
    for _ in range(count):
        _, shard = heapq.heappop(heap)
        quotas[shard] += 1
        heapq.heappush(heap, ((quotas[shard] + 1) / weights[shard], shard))
    return quotas


def _peak(
    counts: Mapping[str, int], weights: Mapping[str, int], count: int
) -> float:
    """The busiest shard's nodes per unit of weight, over the mean."""
    if not count:
        return 1.0
    mean = count / sum(weights.values())
    return max(counts.get(s, 0) / w for s, w in weights.items()) / mean
