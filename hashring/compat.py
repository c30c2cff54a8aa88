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

"""A drop-in replacement for ``tooz.hashring.HashRing``.

Code that uses tooz's ring today can switch one import::

    from hashring.compat import ToozHashRing as HashRing

and keep the rest: the constructor, ``add_node``/``add_nodes``/
``remove_node``, ``get_nodes`` returning a set, ``ring[key]``, ``len(ring)``
counting points and the ``nodes`` dict all behave as in tooz, and every key
maps to the same node.  What changes is what tooz got wrong: a node re-added
with a lower weight leaves no ghost points behind, a weight below 1 and the
pair ``'x'``/``b'x'`` are refused, lookups cost the same with ten nodes or
ten thousand, and a lookup running while another thread adds or removes a
node sees the ring from before or after the change, never a broken one.
"""

from collections.abc import Iterable
import logging
import threading
from typing import Any

from hashring import exception
from hashring import hashing
from hashring import ring

LOG = logging.getLogger(__name__)


class UnknownNode(exception.UnknownMemberError):
    """Raised by :meth:`ToozHashRing.remove_node` for a node not in it.

    :ivar node: the node that was named (as in tooz).
    """

    def __init__(self, node: Any) -> None:
        super().__init__(node)
        self.node = node

    def __str__(self) -> str:
        return f"Unknown node `{self.node}'"


class ToozHashRing:
    """A mutable ring with the API of ``tooz.hashring.HashRing``.

    It holds an immutable :class:`hashring.HashRing` and replaces it, under
    a lock, on every change; lookups read the current ring without a lock.

    :param nodes: the initial nodes, ``str`` or ``bytes``, weight 1 each.
    :param partitions: points per node per unit of weight: a power of two
        from 1 to 65536 (tooz's ``partitions``; Ironic passes
        ``2 ** hash_partition_exponent`` and Nova 32).
    :param hash_function: the name of a fixed-length hashlib algorithm.
    :raises hashring.exception.InvalidArgumentError: (a ``ValueError``) for
        an unsupported hash function or partition count.
    :raises hashring.exception.InvalidMemberError: (a ``ValueError``) for an
        invalid node, such as ``'x'`` and ``b'x'`` given together.
    """

    DEFAULT_PARTITION_NUMBER = 2**ring.DEFAULT_PARTITION_EXPONENT
    DEFAULT_HASH_FUNCTION = hashing.DEFAULT_HASH_FUNCTION

    def __init__(
        self,
        nodes: Iterable[ring.Member],
        partitions: int = DEFAULT_PARTITION_NUMBER,
        hash_function: str = DEFAULT_HASH_FUNCTION,
    ) -> None:
        self._lock = threading.Lock()
        self._weights: dict[ring.Member, int] = {}
        self._ring = ring.HashRing({}, _exponent_of(partitions), hash_function)
        self.add_nodes(set(nodes))

    @property
    def nodes(self) -> dict[ring.Member, int]:
        """The nodes and their weights (a copy: change it with add/remove)."""
        return dict(self._weights)

    def add_node(self, node: ring.Member, weight: int = 1) -> None:
        """Add a node, or set the weight of one already in the ring.

        :param node: the node's name, ``str`` or ``bytes``.
        :param weight: its weight, an integer of at least 1.
        :raises hashring.exception.InvalidMemberError: invalid node or weight;
            the ring is unchanged.
        """
        self.add_nodes((node,), weight)

    def add_nodes(self, nodes: Iterable[ring.Member], weight: int = 1) -> None:
        """Add nodes, or set the weight of those already in the ring.

        Runtime complexity: ``O(P log P)`` for ``P`` points: the ring is
        rebuilt once per call, so add many nodes in one call.

        :param nodes: the nodes' names, ``str`` or ``bytes``.
        :param weight: the weight of each, an integer of at least 1.
        :raises hashring.exception.InvalidMemberError: invalid node or weight;
            the ring is unchanged.
        """
        nodes = list(nodes)
        with self._lock:
            weights = dict(self._weights)
            weights.update(dict.fromkeys(nodes, weight))
            self._replace(weights)
        LOG.debug('Added %d node(s) with weight %s', len(nodes), weight)

    def remove_node(self, node: ring.Member) -> None:
        """Remove a node.

        :param node: the node's name, exactly as it was added.
        :raises hashring.compat.UnknownNode: the node is not in the ring.
        """
        with self._lock:
            if node not in self._weights:
                raise UnknownNode(node)
            weights = dict(self._weights)
            del weights[node]
            self._replace(weights)
        LOG.debug('Removed node %s', node)

    def get_nodes(
        self,
        data: ring.Key,
        ignore_nodes: Iterable[ring.Member] | None = None,
        replicas: int = 1,
    ) -> set[ring.Member]:
        """Return the nodes for a key, as tooz does: an unordered set.

        :meth:`hashring.HashRing.get_nodes` gives the same members in walk
        order, primary first.  As in tooz, an empty ring, every node
        ignored, or ``replicas`` below 1 gives an empty set.

        Runtime complexity: as :meth:`hashring.HashRing.get_nodes`.

        :param data: the key, bytes (or ``str``, hashed as UTF-8).
        :param ignore_nodes: nodes to skip.
        :param replicas: how many nodes to return.
        :returns: a set of nodes.
        :raises hashring.exception.InvalidKeyError: (a ``TypeError``) for a
            key that is neither bytes nor ``str``.
        """
        current = self._ring
        if isinstance(replicas, int) and replicas < 1 or not len(current):
            return set()
        return set(current.get_nodes(data, ignore_nodes, replicas))

    def __getitem__(self, key: ring.Key) -> set[ring.Member]:
        """Return ``get_nodes(key)``: a set, as in tooz."""
        return self.get_nodes(key)

    def __len__(self) -> int:
        """Return the number of points on the ring, as tooz does."""
        return self._ring._count

    def _replace(self, weights: dict[ring.Member, int]) -> None:
        # Build first: an invalid node raises here and changes nothing.
        self._ring = self._ring.with_members(weights)
        self._weights = weights


def _exponent_of(partitions: int) -> int:
    limit = 2**ring.MAX_PARTITION_EXPONENT
    if (
        isinstance(partitions, bool)
        or not isinstance(partitions, int)
        or partitions < 1
        or partitions > limit
        or partitions & (partitions - 1)
    ):
        raise exception.InvalidArgumentError(
            f'partitions must be a power of two from 1 to {limit}, not '
            f'{partitions!r}: hashring places 2**partition_exponent points '
            f'per node'
        )
    return partitions.bit_length() - 1
