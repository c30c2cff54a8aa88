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

"""How an ownership filter applies the rules to many nodes at once.

The rules of :mod:`hashring.ownership`, run in C over lists of a hundred
thousand nodes: the filter calls these, and keeps the per-node work
(orphans, ``instance_host``) to itself.
"""

from collections.abc import Collection
import itertools
import operator
from typing import Any

from hashring import decisions
from hashring.membership import base as membership_base
from hashring import ring as ring_mod


def decided_apart(
    ring: ring_mod.HashRing,
    id_of: dict[Any, str | None],
    host: str,
    ids: list[Any],
    instances: list[Any],
    has: list[bool],
    mine: set[Any],
) -> tuple[decisions.RingRule, list[bool], list[Any]]:
    """Decide nodes where neither orphans nor the protocol play a part.

    A node with an instance is kept when the instance is this service's,
    one without when the ring gives it here: each rule runs in C over its
    own share of the nodes, and only the nodes without an instance are
    looked up on the ring.

    Runtime complexity: ``O(n)`` for ``n`` nodes.

    :param ring: the ring.
    :param id_of: the member id of each of its names.
    :param host: this service's member id.
    :param ids: every node's id.
    :param instances: every node's instance id, or None.
    :param has: whether each node has an instance.
    :param mine: the ids of this service's instances.
    :returns: the ring's rule, whether each node is kept, and the ring
        owners of the nodes without an instance, in order.
    """
    found = ring.map_keys(
        list(itertools.compress(ids, map(operator.not_, has)))
    )
    rule = decisions.RingRule(
        membership_base.names_of(set(found), host, id_of), (), frozenset()
    )
    keep = decisions.place(
        has,
        map(rule.mine.__contains__, found),
        map(mine.__contains__, itertools.compress(instances, has)),
    )
    return rule, keep, found


def by_ring(
    ring: ring_mod.HashRing,
    id_of: dict[Any, str | None],
    host: str,
    group: str | None,
    owners: list[Any],
    ids: list[Any],
    protocol: Any,
    alive: frozenset[Any],
) -> tuple[decisions.RingRule, list[bool], frozenset[Any]]:
    """Decide every node by the ring, and the protocol where it runs.

    Runtime complexity: ``O(n)`` for ``n`` nodes, in C.

    :param ring: the ring.
    :param id_of: the member id of each of its names.
    :param host: this service's member id.
    :param group: the group of the filter's manager.
    :param owners: the ring owner of every node.
    :param ids: every node's id.
    :param protocol: the handoff protocol, or None.
    :param alive: the live members.
    :returns: the ring's rule, whether it keeps each node, and the
        live members, as the protocol's fresher read has them.
    """
    mine_on_ring = membership_base.names_of(set(owners), host, id_of)
    held_back: Collection[Any] = frozenset()
    over: frozenset[Any] = frozenset()
    # The ring's say on every node, in C: the nodes without an instance
    # (most of them) are decided by it alone.
    mapped = list(map(mine_on_ring.__contains__, owners))
    if protocol is not None:
        given = list(itertools.compress(ids, mapped))
        answer = protocol.owned(ids, group, ring, given, record=False)
        over = protocol.handing_over(group)
        # Once a ring is applied the answer is the keys given (the
        # same objects: the comparison is quick), and nothing costs
        # a pass over every node.
        if answer != given:
            held_back = set(given).difference(answer)
        # The protocol reads the membership more often while peers
        # move (a peer leaving, say): a member gone from its read is
        # gone, and its instances' nodes orphans, from now.
        fresher = protocol.alive(group)
        if fresher is not None:
            alive = alive & fresher
    rule = decisions.RingRule(mine_on_ring, held_back, over)
    return rule, rule.owned_all(ids, mapped), alive


def hold_back_own(
    protocol: Any,
    group: str | None,
    ids: list[Any],
    instances: list[Any],
    mine: set[Any],
    keep: list[bool],
    reasons: dict[int, decisions.Reason],
    hosts: dict[int, str | None],
    host: str,
) -> None:
    """Hold back the nodes of this service's instances a peer may manage.

    A peer that judged this service dead (a crash, a pause) adopted them
    as orphans, and does until it sees it alive again
    (:meth:`hashring.handoff.Protocol.counted_out`): until then they wait,
    decided :attr:`~decisions.Reason.HANDOFF`.  ``keep``, ``reasons`` and
    ``hosts`` are updated in place.

    Runtime complexity: ``O(c)`` for ``c`` claims while every peer's
    published ring places this service; else ``O(n)`` for ``n`` nodes.
    """
    own = itertools.compress(ids, map(mine.__contains__, instances))
    adopted = protocol.counted_out(own, group)
    if not adopted:
        return
    for i, (nid, instance) in enumerate(zip(ids, instances)):
        if nid in adopted and instance in mine:
            keep[i] = False
            reasons[i] = decisions.Reason.HANDOFF
            hosts[i] = host
