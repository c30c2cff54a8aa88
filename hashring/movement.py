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

"""What moves between two rings, and what the moves would cost."""

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
import dataclasses
from typing import Any
from typing import NamedTuple

from oslo_utils import strutils

from hashring import _validate
from hashring import exception
from hashring import hashing
from hashring import ring as ring_mod
from hashring import ringvalue


class Move(NamedTuple):
    """The owners of a key that moved: ``old`` before, ``new`` after.

    Either is None when its ring has no members.
    """

    old: Any
    new: Any


def changes(
    old_ring: ring_mod.HashRing,
    new_ring: ring_mod.HashRing,
    keys: Iterable[ring_mod.Key],
) -> dict[Any, Move]:
    """Report the keys whose primary differs between two rings.

    This is what a service needs to run its takeovers after a membership
    change: for every key that moves, the member it leaves and the member
    it joins.  An empty ring on either side counts as "no owner" (None), so
    the first ring a service builds reports every key as gained.

    Runtime complexity: ``O(k)`` for ``k`` keys; each key is hashed once
    when both rings use the same hash function.

    :param old_ring: the ring before the change.
    :param new_ring: the ring after it.
    :param keys: ``str`` or bytes keys; equal keys are reported once.
    :returns: a dict of key to :class:`Move`, for the keys that moved
        only, in the order of the keys.
    :raises hashring.exception.InvalidKeyError: a key is of another type.
    :raises hashring.exception.InvalidArgumentError: keys is a single
        ``str`` or ``bytes``, or a ring is not a :class:`hashring.HashRing`.
    """
    ringvalue.checked('old_ring', old_ring)
    ringvalue.checked('new_ring', new_ring)
    if not isinstance(keys, Sequence) or isinstance(keys, (str, bytes)):
        keys = _validate.collection('keys', keys)
    digests = new_ring._digests(keys) if len(new_ring) else None
    old_digests: list[bytes] | None
    if (
        len(old_ring)
        and digests is not None
        and (old_ring.hash_function == new_ring.hash_function)
    ):
        old_digests = digests
    else:
        old_digests = old_ring._digests(keys) if len(old_ring) else None
    old = _owners(old_ring, old_digests, len(keys))
    new = _owners(new_ring, digests, len(keys))
    return {
        key: Move(before, after)
        for key, before, after in zip(keys, old, new)
        if not _same(before, after)
    }


def _same(a: Any, b: Any) -> bool:
    # 'x' and b'x' are one member; comparing them directly would also warn
    # under python -b.
    if type(a) is type(b):
        return bool(a == b)
    if a is None or b is None:
        return False
    return hashing.encode(a) == hashing.encode(b)


def _owners(
    ring: ring_mod.HashRing, digests: list[bytes] | None, count: int
) -> list[Any]:
    if digests is None:
        return [None] * count
    return ring._owners_of(digests)


#: What makes a move expensive, in the order it is reported.
COSTLY = ('with_instance', 'active', 'maintenance')


@dataclasses.dataclass(frozen=True)
class Cost:
    """What a ring change would cost in takeovers."""

    #: nodes whose owner changes
    moved: int
    #: of those: with an instance, active, in maintenance
    by_state: dict[str, int]
    #: takeovers each member would run (the nodes it gains), by member
    takeovers: dict[Any, int]
    #: nodes each member would hand over, by member
    handovers: dict[Any, int]


def cost(
    old_ring: ring_mod.HashRing,
    new_ring: ring_mod.HashRing,
    nodes: Iterable[Mapping[str, Any]],
) -> Cost:
    """Return what moving the nodes from one ring to another would cost.

    An Ironic takeover rebuilds PXE and DHCP state and restarts consoles
    for every active node it moves; a Nova compute service moving a node
    with an instance moves the instance's records.  The moves are split
    by the state that makes them expensive.

    Runtime complexity: ``O(n)`` for ``n`` nodes.

    :param old_ring: the ring before the change.
    :param new_ring: the ring after it.
    :param nodes: mappings with ``id`` and, optionally, ``instance_id``,
        ``provision_state`` (``active`` counts as active) and
        ``maintenance`` (true, or a string such as ``"true"``).
    :returns: a :class:`Cost`.
    :raises hashring.exception.InvalidArgumentError: a node is not a
        mapping with an ``id``, or as :func:`changes`.
    """
    nodes = _validate.collection('nodes', nodes)
    for node in nodes:
        if not isinstance(node, Mapping) or 'id' not in node:
            raise exception.InvalidArgumentError(
                f'Node {node!r:.80} is not a mapping with an id'
            )
    moves = changes(old_ring, new_ring, [n['id'] for n in nodes])
    by_state = dict.fromkeys(COSTLY, 0)
    takeovers: dict[Any, int] = {}
    handovers: dict[Any, int] = {}
    for node in nodes:
        move = moves.get(node['id'])
        if move is None:
            continue
        if node.get('instance_id'):
            by_state['with_instance'] += 1
        if node.get('provision_state') == 'active':
            by_state['active'] += 1
        maintenance = node.get('maintenance')
        if isinstance(maintenance, str):
            maintenance = strutils.bool_from_string(maintenance)
        if maintenance:
            by_state['maintenance'] += 1
        takeovers[move.new] = takeovers.get(move.new, 0) + 1
        handovers[move.old] = handovers.get(move.old, 0) + 1
    return Cost(len(moves), by_state, takeovers, handovers)
