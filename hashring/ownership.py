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
import itertools
import operator
from typing import Any
import uuid

from oslo_config import cfg

from hashring import _rules
from hashring import _validate
from hashring import decisions
from hashring import exception
from hashring import fields
from hashring import manager as manager_mod
from hashring.membership import base as membership_base
from hashring import opts
from hashring import ring as ring_mod
from hashring import taking

KeyFunc = fields.KeyFunc


#: Kept here, where they were first defined.
Reason = decisions.Reason
Decision = decisions.Decision
Result = decisions.Result
field = fields.field
Field = fields.Field


# Node ids the ring takes as they are: checked without looking them up.
_PLAIN_IDS = {str, bytes}


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
        ``ring`` and ``manager``, a bad ``orphan_policy``, a ``handoff``
        over another manager, or a key function that is not callable.
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
        field_hint = ': ownership.field() reads a field by name'
        for name, given, hint in (
            ('node_id', node_id, field_hint),
            ('instance_id', instance_id, field_hint),
            ('instance_host', instance_host, ''),
        ):
            if given is not None and not callable(given):
                # A field's name, say: it failed at the first filter().
                raise exception.InvalidArgumentError(
                    f'{name} must be a callable, not {given!r:.80}{hint}'
                )
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
        # The last ring, its names' member ids, and the ids (_ids_on()).
        self._ring_ids: tuple[
            Any, dict[Any, str | None], frozenset[str | None]
        ] = (None, {}, frozenset())
        # Fencing tokens of the nodes owned, kept while they stay owned.
        self._tenure = taking.Tenure(
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

    def _ids_on(
        self, ring: ring_mod.HashRing
    ) -> tuple[dict[Any, str | None], frozenset[str | None]]:
        """Return the member id of each of a ring's names, and the ids.

        Made once per ring: at 10,000 members, a tenth of a filter call
        went to making them at every call.

        Runtime complexity: ``O(m)`` for ``m`` members, once per ring.
        """
        known, id_of, ids = self._ring_ids
        if known is not ring:
            names = list(ring.members)
            id_of = dict(zip(names, map(membership_base.canonical_of, names)))
            ids = frozenset(id_of.values())
            self._ring_ids = (ring, id_of, ids)
        return id_of, ids

    def filter(self, nodes: Iterable[Any], instances: Iterable[Any]) -> Result:
        """Decide, for every node, whether this service manages it.

        Read ``nodes`` before ``instances`` (see the module's notes).

        Runtime complexity: ``O(n + i)`` for ``n`` nodes and ``i``
        instances, with the ring lookups done as one batch.

        :param nodes: the nodes (dicts or objects).
        :param instances: the ids of the instances this service manages.
        :returns: a :class:`Result`.
        :raises hashring.exception.InvalidArgumentError: a node lacks an
            id field or an instance field (which may hold None), or an
            instance field or ``instances`` holds what cannot be hashed
            (a list, say).
        :raises hashring.exception.InvalidKeyError: a node id is not
            ``str`` or bytes.
        :raises: what :meth:`hashring.RingManager.get_ring` raises; but
            under the handoff protocol, after a silence of this member's
            heartbeats (a pause), a call that cannot read the membership
            answers that it manages no node instead
            (:meth:`hashring.handoff.Protocol.after_silence`).
        """
        alive: frozenset[Any]
        if self.manager is not None:
            try:
                ring = self.manager.get_ring(self.group)
                alive = self.manager.alive(self.group)
            except exception.RingUnavailable:
                # Paused past max_stale, into an outage: the protocol lets
                # go of every node, under the last ring, rather than let
                # the consumer go on with those its peers took meanwhile.
                last = self.handoff and self.handoff.after_silence(self.group)
                if not last:
                    raise
                ring, alive = last
        else:
            assert self.ring is not None
            ring = self.ring
            alive = self.alive
        # The ring holds registered names; identity is canonical.
        nodes = _validate.collection('nodes', nodes)
        mine = _validate.id_set('instances', instances)
        # No instance is no instance, whatever the caller passed.
        mine.discard(None)
        kinds = fields.kinds_of(nodes)
        ids = fields.of_all(self.node_id, nodes, kinds)
        found = fields.of_all(self.instance_id, nodes, kinds)
        try:
            return self._decide(ring, alive, nodes, ids, found, mine)
        except TypeError:
            fields.refuse_unhashable(ids, found)
            raise

    def _decide(
        self,
        ring: ring_mod.HashRing,
        alive: frozenset[Any],
        nodes: list[Any],
        ids: list[Any],
        instances: list[Any],
        mine: set[Any],
    ) -> Result:
        """Decide every node, given its id and instance (see filter())."""
        has = list(map(operator.is_not, instances, itertools.repeat(None)))
        protocol = self.handoff
        lookup_host = self.instance_host
        scattered = (
            lookup_host is None
            and protocol is None
            and any(has)
            and set(map(type, itertools.compress(ids, has))) <= _PLAIN_IDS
        )
        id_of, ring_ids = self._ids_on(ring)
        if scattered:
            # The nodes with an instance are not looked up: their ring
            # owner is found when a decision is read.  (An id of another
            # type is looked up, to be refused with its node.)
            rule, keep, owners = _rules.decided_apart(
                ring, id_of, self.host, ids, instances, has, mine
            )
        else:
            owners = ring.map_keys(ids)
            rule, keep, alive = _rules.by_ring(
                ring,
                id_of,
                self.host,
                self.group,
                owners,
                ids,
                protocol,
                alive,
            )
            if lookup_host is None and any(has):
                # Without instance_host an instance is this service's or
                # another's (no orphans): decided in C, as the nodes
                # without one are, and each reason made when read
                # (decisions.Mine).  A node is kept by its instance (None
                # is not in mine, so only a node with one can be) or else
                # by the ring.
                keep = list(
                    map(
                        operator.or_,
                        map(mine.__contains__, instances),
                        map(operator.gt, keep, has),
                    )
                )
        alive = alive | {self.host}
        alive |= ring_ids
        host = self.host
        # Under the protocol, only under a ring it announced: a peer back
        # from the dead reads there that its instances' nodes may be here.
        adopt = self.orphan_policy == 'adopt' and (
            protocol is None or protocol.announced(ring, self.group)
        )
        # The nodes with an instance, one by one where instance_host says
        # who manages it: their reason, and that manager.
        reasons: dict[int, Reason] = {}
        hosts: dict[int, str | None] = {}
        orphans: list[Any] = []
        looked_up = has if lookup_host is not None else ()
        for i in itertools.compress(itertools.count(), looked_up):
            instance = instances[i]
            if instance in mine:
                reasons[i], hosts[i], keep[i] = Reason.OWN_INSTANCE, host, True
                continue
            manager_of = None
            assert lookup_host is not None
            named = lookup_host(instance)
            if named is not None:
                manager_of = membership_base.canonical_id(named)
            hosts[i] = manager_of
            if manager_of in alive:
                keep[i] = manager_of == host
                reasons[i] = (
                    Reason.OWN_INSTANCE
                    if keep[i]
                    else Reason.INSTANCE_ELSEWHERE
                )
            else:
                nid = ids[i]
                orphans.append(nid)
                reasons[i] = Reason.ORPHAN
                keep[i] = (
                    adopt
                    and owners[i] in rule.mine
                    and nid not in rule.held_back
                )
        if protocol is not None and mine:
            _rules.hold_back_own(
                protocol,
                self.group,
                ids,
                instances,
                mine,
                keep,
                reasons,
                hosts,
                host,
            )
        owned = list(itertools.compress(nodes, keep))
        made = decisions.Decisions(
            ids,
            owners,
            instances,
            keep,
            reasons,
            hosts,
            rule,
            decisions.Mine(mine, host, ring) if lookup_host is None else None,
            skipped=has if scattered else None,
        )
        held = made.owned()
        if protocol is None:
            tokens = self._tenure.update(held, ring.generation)
        else:
            # One set of tokens for the result and the manager's token().
            tokens = protocol.record(held, self.group, ring.generation)
        return Result(
            host,
            owned,
            made,
            orphans,
            ring.generation,
            ring.fingerprint,
            tokens,
        )
