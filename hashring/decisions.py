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

"""What an ownership filter decided: the reasons, and each node's decision.

The value types of :mod:`hashring.ownership`, apart from the filter that
makes them.
"""

from collections.abc import Collection
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
import dataclasses
import enum
import itertools
import operator
import typing
from typing import Any

from hashring import claims
from hashring import ring as ring_mod


class Reason(str, enum.Enum):
    """Why a node is, or is not, managed by this service."""

    OWN_INSTANCE = 'own instance'
    RING = 'ring'
    INSTANCE_ELSEWHERE = 'instance elsewhere'
    RING_ELSEWHERE = 'ring elsewhere'
    ORPHAN = 'orphan'
    #: the ring gives it here, but a live peer's published ring still
    #: gives it to that peer (see :mod:`hashring.handoff`)
    HANDOFF = 'waiting for handoff'
    #: the ring gives it to a peer, which has not yet asked for it: it is
    #: managed here until then (see :mod:`hashring.handoff`)
    HANDING_OVER = 'handing over'


class Decision(typing.NamedTuple):
    """The decision about one node.

    A named tuple rather than a frozen dataclass: a filter makes one per
    node, and a tuple is built several times faster.
    """

    node_id: Any
    owned: bool
    reason: Reason
    #: the ring's primary for the node
    ring_owner: ring_mod.Member
    instance_id: Any = None
    #: who manages the instance, where known (canonical id)
    instance_host: str | None = None


@dataclasses.dataclass(frozen=True)
class Result:
    """The outcome of :meth:`OwnershipFilter.filter`."""

    host: str
    #: the nodes this service manages, in the order they were given
    owned: list[Any]
    #: a decision for every node, by node id (a read-only mapping)
    decisions: Mapping[Any, Decision]
    #: the ids of the orphaned nodes, whether adopted or not
    orphans: list[Any]
    #: the generation and fingerprint of the ring the decisions used
    ring_generation: int | None
    fingerprint: str
    #: a fencing token for every node owned, by node id: the same while
    #: this service keeps the node, another once it takes it afresh (see
    #: :class:`hashring.claims.Token`)
    tokens: dict[Any, claims.Token] = dataclasses.field(default_factory=dict)

    def counts(self) -> dict[Reason, int]:
        """Return how many nodes each reason covers."""
        counts = dict.fromkeys(Reason, 0)
        for decision in self.decisions.values():
            counts[decision.reason] += 1
        return counts


class RingRule:
    """How the ring, and the handoff protocol, decide a node (no instance).

    :param mine: this service's names on the ring.
    :param held_back: the keys the ring gives here that the handoff
        protocol does not let it manage yet (empty without the protocol,
        and once a ring is applied).
    :param over: the keys it keeps while it hands them over.
    """

    def __init__(
        self,
        mine: Collection[Any],
        held_back: Collection[Any],
        over: Collection[Any],
    ) -> None:
        self.mine = mine
        self.held_back = held_back
        self.over = over

    def owned_all(self, ids: list[Any], mapped: list[bool]) -> list[bool]:
        """Return whether each node is managed, in C (as decide() says).

        Runtime complexity: ``O(n)`` for ``n`` ids; a copy of ``mapped``
        when the protocol holds back and hands over nothing.

        :param ids: the node ids.
        :param mapped: whether the ring gives each one here.
        """
        keep = mapped
        if self.held_back:
            # Given here, and not held back (``>``: True and not False).
            keep = list(
                map(operator.gt, keep, map(self.held_back.__contains__, ids))
            )
        if self.over:
            # Kept while handed over: given to a peer, and in ``over``.
            handing = map(
                operator.gt, map(self.over.__contains__, ids), mapped
            )
            keep = list(map(operator.or_, keep, handing))
        return list(keep)

    def decide(self, nid: Any, owner: ring_mod.Member) -> 'Decision':
        """Return the decision about one node without an instance."""
        mapped = owner in self.mine
        reason = Reason.RING if mapped else Reason.RING_ELSEWHERE
        if mapped and nid in self.held_back:
            mapped, reason = False, Reason.HANDOFF
        elif self.over and not mapped and nid in self.over:
            mapped, reason = True, Reason.HANDING_OVER
        return Decision(nid, mapped, reason, owner)


class Mine(typing.NamedTuple):
    """How a filter without ``instance_host`` decides a node's instance.

    The instance is this service's when it is among ``instances``, and
    another's otherwise.  Without the handoff protocol either, the filter
    does not look such a node up on the ring: its owner is found here.
    """

    instances: Collection[Any]
    host: str
    #: the ring, for the owner of a node the filter did not look up
    ring: ring_mod.HashRing

    def decide(
        self, nid: Any, owner: ring_mod.Member | None, instance: Any
    ) -> 'Decision':
        """Return the decision about one node with an instance."""
        if owner is None:
            owner = self.ring.get_node(nid)
        if instance in self.instances:
            return Decision(
                nid, True, Reason.OWN_INSTANCE, owner, instance, self.host
            )
        return Decision(nid, False, Reason.INSTANCE_ELSEWHERE, owner, instance)


def place(
    skipped: list[bool],
    found: Iterable[Any],
    other: Iterable[Any] | None = None,
) -> list[Any]:
    """Return values in order at the places not skipped, and others'.

    Runtime complexity: ``O(n)`` for ``n`` places, in C.

    :param skipped: per place, whether it is skipped.
    :param found: the values of the places not skipped, in order.
    :param other: the values of the places skipped, in order; None at
        each where it is None.
    :returns: a list of as many values as places.
    """
    # Each place draws from one of two iterators: a bool indexes the pair
    # (False, not skipped, is 0).
    sources = (
        iter(found),
        itertools.repeat(None) if other is None else iter(other),
    )
    return list(map(next, map(sources.__getitem__, skipped)))


class Decisions(Mapping[Any, Decision]):
    """The decisions of a filter call, by node id, made when looked up.

    A filter decides a hundred thousand nodes mostly in C; a named tuple
    per node would cost more than the deciding.  So it keeps what it
    found (whether each node is managed; for a node with an instance, the
    reason and who manages the instance, as the consumer's
    ``instance_host`` said) and a :class:`Decision` is made when looked
    up; a node without an instance is decided again from the ring's
    answer, as the filter decided it, and one with an instance, when the
    filter has no ``instance_host``, from the service's instances
    (:class:`Mine`).  A node given twice has the
    decision of its last place.  Where the filter looked up only the nodes
    without an instance, ``owners`` holds theirs, in order, and
    ``skipped`` says which nodes have one (their owner is then found when
    read).
    """

    def __init__(
        self,
        ids: list[Any],
        owners: list[ring_mod.Member],
        instances: list[Any],
        keep: list[bool],
        reasons: dict[int, Reason],
        hosts: dict[int, str | None],
        rule: RingRule,
        mine: Mine | None = None,
        skipped: list[bool] | None = None,
    ) -> None:
        self._ids = ids
        self._found = owners
        self._skipped = skipped
        self._owners = None if skipped is not None else owners
        self._instances = instances
        self._keep = keep
        self._reasons = reasons
        self._hosts = hosts
        self._rule = rule
        self._mine = mine
        self._places: dict[Any, int] | None = None

    @property
    def _index(self) -> dict[Any, int]:
        # The place of each node: made when first needed, since a filter
        # call whose decisions nobody reads needs none.
        if self._places is None:
            self._places = dict(zip(self._ids, itertools.count()))
        return self._places

    def _owner(self, i: int) -> Any:
        """Return the ring owner of the node at place i, None if unknown."""
        owners = self._owners
        if owners is None:
            # Placed when a decision is first read, from lists that do not
            # change: two threads placing them at once place the same.
            assert self._skipped is not None
            owners = self._owners = place(self._skipped, self._found)
        return owners[i]

    def __getitem__(self, nid: Any) -> Decision:
        i = self._index[nid]
        reason = self._reasons.get(i)
        if reason is None:
            instance = self._instances[i]
            if instance is not None and self._mine is not None:
                return self._mine.decide(
                    self._ids[i], self._owner(i), instance
                )
            return self._rule.decide(self._ids[i], self._owner(i))
        return Decision(
            self._ids[i],
            self._keep[i],
            reason,
            self._owner(i),
            self._instances[i],
            self._hosts.get(i),
        )

    def __iter__(self) -> Iterator[Any]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f'Decisions({dict(self)!r})'

    def owned(self) -> list[Any]:
        """Return the ids of the nodes managed, once each, in order."""
        if len(set(self._ids)) == len(self._ids):
            return list(itertools.compress(self._ids, self._keep))
        return [nid for nid, i in self._index.items() if self._keep[i]]
