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

"""Which nodes a service manages: Nova's instance-aware rules, made safe.

A service that shares nodes with peers manages:

1. any node with an instance managed by this service;
2. any node mapped to this service on the hash ring;
3. no node with an instance managed by another *live* service.

A node whose instance belongs to no live service (its host is down or
gone, or the instance no longer exists) is an *orphan*: it is always
reported, and ``orphan_policy`` decides whether the ring owner adopts it.

Read the nodes first and the instances second.  An instance created
between the two reads then shows up as this service's own instance, and
is never mistaken for another service's (Nova bug 1841481).
"""

from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
import dataclasses
import enum
import typing
from typing import Any
import uuid

from oslo_config import cfg

from hashring import _validate
from hashring import claims
from hashring import exception
from hashring import manager as manager_mod
from hashring.membership import base as membership_base
from hashring import opts
from hashring import ring as ring_mod

KeyFunc = Callable[[Any], Any]


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
    #: a decision for every node, by node id
    decisions: dict[Any, Decision]
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


def field(*names: str) -> KeyFunc:
    """Return a key function reading the first of names that a node has.

    It reads dict keys, then attributes, so one filter serves dicts and
    objects (openstacksdk nodes, Ironic objects).
    """

    def get(node: Any) -> Any:
        for name in names:
            if isinstance(node, dict):
                if name in node:
                    return node[name]
            elif hasattr(node, name):
                return getattr(node, name)
        raise exception.InvalidArgumentError(
            f'Node {node!r} has none of the fields {", ".join(names)}'
        )

    return get


class OwnershipFilter:
    """Decide which nodes this service manages.

    :param host: this service's member id (compared canonically).
    :param ring: a :class:`hashring.HashRing`; or else
    :param manager: a :class:`hashring.RingManager`, whose ring of
        ``group`` is used (and whose membership tells who is alive).
    :param group: the manager's group; its default when None.
    :param node_id: a key function for a node's id (the ring key);
        ``id``, then ``uuid``, by default.
    :param instance_id: a key function for the id of a node's instance, or
        None; ``instance_id``, then ``instance_uuid``, by default.
    :param instance_host: optional: a function giving the member that
        manages an instance, or None when the instance does not exist.
        Without it an instance that is not this service's is taken to be
        another live service's, as in Nova, and no orphan is found.
    :param alive: the ids of the live members, for a filter over a plain
        ring; with a manager, its membership says.  A ring's own members
        are always alive.
    :param orphan_policy: ``adopt`` (the ring owner manages an orphan) or
        ``report``; ``[hashring] orphan_policy`` when None.
    :param conf: the configuration holding the ``[hashring]`` options.
    :param handoff: the handoff protocol: None for ``manager``'s own
        (:attr:`hashring.RingManager.handoff`, on by default once its
        source joined as its host), False for none, or a
        :class:`hashring.handoff.Protocol` over ``manager``.  With it, a
        node the ring gives here is managed only once no live peer's
        published ring still gives it to that peer, so that no node is
        managed twice while rings converge.
    :raises hashring.exception.InvalidArgumentError: both or neither of
        ``ring`` and ``manager``, a bad ``orphan_policy``, or a
        ``handoff`` over another manager.
    """

    def __init__(
        self,
        host: str,
        ring: ring_mod.HashRing | None = None,
        manager: manager_mod.RingManager | None = None,
        group: str | None = None,
        node_id: KeyFunc | None = None,
        instance_id: KeyFunc | None = None,
        instance_host: Callable[[Any], str | None] | None = None,
        alive: Collection[str] = (),
        orphan_policy: str | None = None,
        conf: cfg.ConfigOpts | None = None,
        handoff: Any = None,
    ) -> None:
        if (ring is None) == (manager is None):
            raise exception.InvalidArgumentError(
                'An OwnershipFilter needs either a ring or a manager'
            )
        self.host = membership_base.canonical_id(host)
        self.ring = ring
        self.manager = manager
        self.group = group
        self.node_id = node_id or field('id', 'uuid')
        self.instance_id = instance_id or field('instance_id', 'instance_uuid')
        self.instance_host = instance_host
        self.alive = frozenset(
            membership_base.canonical_id(h)
            for h in _validate.collection('alive', alive)
        )
        policy = (
            opts.ensure(conf).hashring.orphan_policy
            if orphan_policy is None
            else orphan_policy
        )
        if policy not in ('adopt', 'report'):
            raise exception.InvalidArgumentError(
                f"orphan_policy must be 'adopt' or 'report', not {policy!r}"
            )
        self.orphan_policy = policy
        if handoff not in (None, False) and (
            manager is None or handoff.manager is not manager
        ):
            raise exception.InvalidArgumentError(
                'An OwnershipFilter takes a handoff protocol over its own '
                'manager'
            )
        self._handoff = handoff
        # Fencing tokens of the nodes owned, kept while they stay owned.
        self._tenure = claims.Tenure(
            self.host,
            manager.epoch if manager is not None else uuid.uuid4().hex[:8],
        )

    @property
    def handoff(self) -> Any:
        """The handoff protocol the filter runs, or None."""
        if self._handoff is False:
            return None
        if self._handoff is None:
            return None if self.manager is None else self.manager.handoff
        return self._handoff

    def filter(self, nodes: Iterable[Any], instances: Iterable[Any]) -> Result:
        """Decide, for every node, whether this service manages it.

        Read ``nodes`` before ``instances`` (see the module's notes).

        Runtime complexity: ``O(n + i)`` for ``n`` nodes and ``i``
        instances, with the ring lookups done as one batch.

        :param nodes: the nodes (dicts or objects).
        :param instances: the ids of the instances this service manages.
        :returns: a :class:`Result`.
        :raises hashring.exception.InvalidArgumentError: a node lacks an
            id field.
        :raises hashring.exception.InvalidKeyError: a node id is not
            ``str`` or bytes.
        :raises: what :meth:`hashring.RingManager.get_ring` raises.
        """
        alive: frozenset[Any]
        if self.manager is not None:
            ring = self.manager.get_ring(self.group)
            alive = self.manager.alive(self.group)
        else:
            assert self.ring is not None
            ring = self.ring
            alive = self.alive
        # The ring holds registered names; identity is canonical.
        nodes = _validate.collection('nodes', nodes)
        mine = set(_validate.collection('instances', instances))
        ids = [self.node_id(n) for n in nodes]
        owners = ring.map_keys(ids)
        mine_on_ring = membership_base.names_of(set(owners), self.host)
        taken = None
        over: frozenset[Any] = frozenset()
        protocol = self.handoff
        if protocol is not None:
            given = [n for n, o in zip(ids, owners) if o in mine_on_ring]
            taken = set(
                protocol.owned(ids, self.group, ring, given, record=False)
            )
            over = protocol.handing_over(self.group)
            # The protocol reads the membership more often while peers
            # move (a peer leaving, say): a member gone from its read is
            # gone, and its instances' nodes orphans, from now.
            fresher = protocol.alive(self.group)
            if fresher is not None:
                alive = alive & fresher
        alive = alive | {self.host}
        alive |= {membership_base.canonical_of(m) for m in ring.members}
        host = self.host
        adopt = self.orphan_policy == 'adopt'
        lookup_host = self.instance_host
        instance_id = self.instance_id
        owned: list[Any] = []
        decisions: dict[Any, Decision] = {}
        orphans: list[Any] = []
        for node, nid, owner in zip(nodes, ids, owners):
            instance = instance_id(node)
            manager_of = None
            if instance is None:
                mapped = owner in mine_on_ring
                reason = Reason.RING if mapped else Reason.RING_ELSEWHERE
                if mapped and taken is not None and nid not in taken:
                    mapped, reason = False, Reason.HANDOFF
                elif over and not mapped and nid in over:
                    mapped, reason = True, Reason.HANDING_OVER
                decision = Decision(nid, mapped, reason, owner)
            elif instance in mine:
                decision = Decision(
                    nid, True, Reason.OWN_INSTANCE, owner, instance, host
                )
            else:
                if lookup_host is not None:
                    named = lookup_host(instance)
                    if named is not None:
                        manager_of = membership_base.canonical_id(named)
                if lookup_host is None or manager_of in alive:
                    keep = manager_of == host
                    decision = Decision(
                        nid,
                        keep,
                        Reason.OWN_INSTANCE
                        if keep
                        else Reason.INSTANCE_ELSEWHERE,
                        owner,
                        instance,
                        manager_of,
                    )
                else:
                    orphans.append(nid)
                    decision = Decision(
                        nid,
                        adopt
                        and owner in mine_on_ring
                        and (taken is None or nid in taken),
                        Reason.ORPHAN,
                        owner,
                        instance,
                        manager_of,
                    )
            decisions[nid] = decision
            if decision.owned:
                owned.append(node)
        held = [nid for nid, d in decisions.items() if d.owned]
        if protocol is None:
            tokens = self._tenure.update(held, ring.generation)
        else:
            # One set of tokens for the result and the manager's token().
            tokens = protocol.record(held, self.group, ring.generation)
        return Result(
            host,
            owned,
            decisions,
            orphans,
            ring.generation,
            ring.fingerprint,
            tokens,
        )
