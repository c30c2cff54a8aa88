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
pair ``'x'``/``b'x'`` are refused, a lookup does the same work with ten
nodes or ten thousand, and a lookup running while another thread adds or
removes a node sees the ring from before or after the change, never a
broken one.
"""

from collections.abc import Iterable
from collections.abc import Mapping
import importlib
import logging
import math
import threading
import types
from typing import Any

from hashring import _validate
from hashring import exception
from hashring import hashing
from hashring import ring

LOG = logging.getLogger(__name__)


def _tooz_errors() -> tuple[type[Exception], ...]:
    """Return ``(tooz.ToozError,)`` where tooz is installed, else ``()``."""
    try:
        return (importlib.import_module('tooz').ToozError,)
    except ImportError:
        return ()


class UnknownNode(exception.UnknownMemberError, *_tooz_errors()):  # type: ignore[misc]
    """Raised by :meth:`ToozHashRing.remove_node` for a node not in it.

    It is a :class:`hashring.exception.UnknownMemberError` (so a
    ``KeyError``) and, where tooz is installed, a ``tooz.ToozError`` too,
    as tooz's own ``UnknownNode`` is: a handler written for tooz still
    catches it.

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
    :param partitions: points per node per unit of weight, from 1 to 65536
        (tooz's ``partitions``; Ironic passes ``2 **
        hash_partition_exponent``, Nova 32 and Gnocchi 200).
    :param hash_function: the name of a fixed-length hashlib algorithm.
    :raises hashring.exception.InvalidArgumentError: (a ``ValueError``) for
        an unsupported hash function or partition count.
    :raises hashring.exception.InvalidMemberError: (a ``ValueError``) for an
        invalid node, such as ``'x'`` and ``b'x'`` given together.

    It pickles and deep-copies, as tooz's ring does; a copy is a ring of
    its own, which later changes to the original do not reach.
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
        self._nodes = types.MappingProxyType(self._weights)
        _validate.integer(
            'partitions', partitions, 1, ring.MAX_POINTS_PER_WEIGHT
        )
        self._ring = ring.HashRing(
            {}, hash_function=hash_function, points=partitions
        )
        self.add_nodes(set(nodes))

    @classmethod
    def from_ring(cls, ring_: ring.HashRing) -> 'ToozHashRing':
        """Return a tooz-style ring over an immutable ring, without a rebuild.

        For code written for tooz's API that gets its rings from a
        :class:`hashring.RingManager`: the result maps every key as
        ``ring_`` does, and changing it leaves ``ring_`` as it was.

        Runtime complexity: ``O(m)`` for ``m`` members.

        :param ring_: a :class:`hashring.HashRing`.
        :returns: a new :class:`ToozHashRing`.
        :raises hashring.exception.InvalidArgumentError: ``ring_`` is not a
            :class:`hashring.HashRing`.
        """
        if not isinstance(ring_, ring.HashRing):
            raise exception.InvalidArgumentError(
                f'from_ring needs a hashring.HashRing, not {ring_!r}'
            )
        new = cls.__new__(cls)
        new.__setstate__({'weights': dict(ring_.members), 'ring': ring_})
        return new

    def __getstate__(self) -> dict[str, Any]:
        # The lock does not pickle or copy; a copy gets one of its own.
        return {'weights': self._weights, 'ring': self._ring}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._lock = threading.Lock()
        self._weights = dict(state['weights'])
        self._nodes = types.MappingProxyType(self._weights)
        self._ring = state['ring']

    @property
    def nodes(self) -> Mapping[ring.Member, int]:
        """The nodes and their weights, as tooz's ``nodes`` dict reads.

        A read-only view, handed out in ``O(1)`` without a copy: change
        the ring with :meth:`add_node` and :meth:`remove_node`.  A view
        read before a change keeps showing the nodes as they were.
        """
        return self._nodes

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
        ignored, or ``replicas`` below 1 gives an empty set; ``replicas``
        may be any real number (``2.0``, ``True``, ``1.5`` rounded up), and
        ``ignore_nodes`` is taken as ``set(ignore_nodes)``, so a string
        ignores the nodes named by its characters.  The strict
        :class:`hashring.HashRing` refuses all three.

        Runtime complexity: as :meth:`hashring.HashRing.get_nodes`.

        :param data: the key, bytes (or ``str``, hashed as UTF-8).
        :param ignore_nodes: nodes to skip.
        :param replicas: how many nodes to return.
        :returns: a set of nodes.
        :raises hashring.exception.InvalidKeyError: (a ``TypeError``) for a
            key that is neither bytes nor ``str``.
        :raises hashring.exception.InvalidArgumentError: (a ``ValueError``)
            for ``replicas`` that is not a real number.
        """
        current = self._ring
        ignored = [
            n for n in set(ignore_nodes or ()) if isinstance(n, (str, bytes))
        ]
        count = _replicas(replicas)
        if count < 1 or not len(current):
            return set()
        return set(current.get_nodes(data, ignored, count))

    def __getitem__(self, key: ring.Key) -> set[ring.Member]:
        """Return ``get_nodes(key)``: a set, as in tooz."""
        return self.get_nodes(key)

    def __len__(self) -> int:
        """Return the number of points on the ring, as tooz does."""
        # Live points: a ring updated in place keeps dead ones.
        return self._ring._table.live

    def _replace(self, weights: dict[ring.Member, int]) -> None:
        # Build first: an invalid node raises here and changes nothing.
        self._ring = self._ring.with_members(weights)
        self._weights = weights
        self._nodes = types.MappingProxyType(weights)


def _replicas(replicas: Any) -> int:
    """Return how many nodes tooz collects for a number of replicas.

    tooz loops ``while len(nodes) < replicas``; the ring caps the count
    at its members.
    """
    if isinstance(replicas, bool):
        return int(replicas)
    if not isinstance(replicas, (int, float)) or math.isnan(replicas):
        raise exception.InvalidArgumentError(
            f'replicas must be a number, not {replicas!r}'
        )
    if replicas == math.inf:
        return 2**31
    return max(0, math.ceil(replicas))
