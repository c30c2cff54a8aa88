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

"""The handoff protocol's core: published claims, and who may take a key.

Rings converge one service at a time, so for a while two services' rings
can give one node to both of them, or to neither.  The protocol closes
that window without a lock service, with what each member publishes
through its membership source beside its heartbeat: a :class:`Claim` per
group, naming the ring it *applies* and, while it moves to another, the
ring it *intends* to apply.  A member moving to a target ring:

1. publishes its intent (applied: the old ring, intended: the target);
2. reads its live peers' claims, after that publish;
3. manages the keys :func:`owned` gives: those the target gives it that
   no live peer's published ring (applied or intended) still gives to
   that peer.  The keys it held and the target gives away are released
   here, before anything else happens;
4. once the consumer has acted on that (released what it lost), publishes
   the target as applied, with no intent.

Two members cannot both manage a key: each published a ring giving the
key to itself before reading the other's claims, so the later reader sees
the earlier writer's claim and leaves the key alone.  A key is unmanaged
only while the member that held it has not yet published a ring without
it, or has died and is not yet judged dead: a dead or ``forced_down``
member's claims end.  A peer that publishes nothing (an older release) is
given no claim here; the caller decides what it applies.

This module decides; it neither stores nor fetches claims.

Runtime complexity of :func:`owned`: ``O(k * c)`` for ``k`` keys and
``c`` published rings that differ, each built once per fingerprint.
"""

from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import threading
from typing import Any

from hashring import _validate
from hashring import exception
from hashring.membership import values
from hashring import ring as ring_mod

#: How many distinct published rings a cache keeps built.
CACHE_SIZE = 64


@dataclasses.dataclass(frozen=True)
class RingSpec:
    """Enough to rebuild a ring exactly, and its fingerprint to check it."""

    #: member name, as placed, to weight
    members: Mapping[str, int]
    points: int
    hash_function: str
    fingerprint: str

    @classmethod
    def of(cls, ring: ring_mod.HashRing) -> 'RingSpec':
        """Return the spec of a ring.

        :raises hashring.exception.InvalidArgumentError: a member is
            ``bytes``, which a published claim cannot carry.
        """
        names = {}
        for member, weight in ring.members.items():
            if not isinstance(member, str):
                raise exception.InvalidArgumentError(
                    f'A claim names members as str, not {member!r}'
                )
            names[member] = weight
        return cls(names, ring.points, ring.hash_function, ring.fingerprint)

    def build(self) -> ring_mod.HashRing:
        """Return the ring the spec describes.

        :raises hashring.exception.InvalidArgumentError: the spec does not
            build a ring with its own fingerprint (corrupt or forged).
        """
        built = ring_mod.HashRing(
            dict(self.members),
            hash_function=self.hash_function,
            points=self.points,
        )
        if built.fingerprint != self.fingerprint:
            raise exception.InvalidArgumentError(
                f'Published ring {self.fingerprint} rebuilds as '
                f'{built.fingerprint}: the claim is corrupt'
            )
        return built

    def to_dict(self) -> dict[str, Any]:
        """Return the spec as JSON-safe data, for a membership record."""
        return {
            'members': dict(sorted(self.members.items())),
            'points': self.points,
            'hash_function': self.hash_function,
            'fingerprint': self.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: Any) -> 'RingSpec':
        """Return a spec read from a membership record.

        :raises hashring.exception.InvalidArgumentError: a field is missing
            or of the wrong type; the message names it.
        """
        if not isinstance(data, Mapping):
            raise exception.InvalidArgumentError(
                f'A published ring is a mapping, not {data!r:.80}'
            )
        members = data.get('members')
        if not isinstance(members, Mapping) or not all(
            isinstance(m, str) for m in members
        ):
            raise exception.InvalidArgumentError(
                f'A published ring has members by name, not {members!r:.80}'
            )
        weights = {m: values.check_weight(m, w) for m, w in members.items()}
        points = _validate.integer(
            'points', data.get('points'), 1, ring_mod.MAX_POINTS_PER_WEIGHT
        )
        hash_function = data.get('hash_function')
        fingerprint = data.get('fingerprint')
        for name, value in (
            ('hash_function', hash_function),
            ('fingerprint', fingerprint),
        ):
            if not isinstance(value, str):
                raise exception.InvalidArgumentError(
                    f'A published ring has a str {name}, not {value!r}'
                )
        return cls(weights, points, hash_function, fingerprint)  # type: ignore[arg-type]


@dataclasses.dataclass(frozen=True)
class Claim:
    """What one member publishes for one group."""

    #: the member's canonical id
    member: str
    #: the ring it applies, None before its first
    applied: RingSpec | None = None
    #: the ring it moves to, None when it is not moving
    intended: RingSpec | None = None

    def rings(self) -> list[RingSpec]:
        """Return the published rings, applied first."""
        return [r for r in (self.applied, self.intended) if r is not None]

    def to_dict(self) -> dict[str, Any]:
        """Return the claim as JSON-safe data (the member is the record's)."""
        return {
            'applied': None
            if self.applied is None
            else self.applied.to_dict(),
            'intended': (
                None if self.intended is None else self.intended.to_dict()
            ),
        }

    @classmethod
    def from_dict(cls, member: str, data: Any) -> 'Claim':
        """Return a member's claim read from its record.

        :raises hashring.exception.InvalidArgumentError: as
            :meth:`RingSpec.from_dict`.
        """
        if not isinstance(data, Mapping):
            raise exception.InvalidArgumentError(
                f'A claim is a mapping, not {data!r:.80}'
            )
        specs = [
            None if data.get(k) is None else RingSpec.from_dict(data[k])
            for k in ('applied', 'intended')
        ]
        return cls(values.canonical_id(member), specs[0], specs[1])


class RingCache:
    """Built rings by fingerprint: peers publish the same few rings."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._rings: dict[str, ring_mod.HashRing] = {}

    def get(self, spec: RingSpec) -> ring_mod.HashRing:
        """Return the ring of a spec, built once.

        :raises hashring.exception.InvalidArgumentError: as
            :meth:`RingSpec.build`.
        """
        found = self._rings.get(spec.fingerprint)
        if found is None or dict(found.members) != dict(spec.members):
            found = spec.build()
            if len(self._rings) >= self._size:
                # Dicts keep order: drop the oldest.
                del self._rings[next(iter(self._rings))]
            self._rings[spec.fingerprint] = found
        return found


def blocked(
    keys: list[Any],
    me: str,
    claims: Iterable[Claim],
    cache: RingCache | None = None,
) -> set[Any]:
    """Return the keys a live peer's published rings still give to it.

    :param keys: the keys to check.
    :param me: this member's canonical id; its own claim blocks nothing.
    :param claims: the claims of the live peers (dead and ``forced_down``
        members' claims left out by the caller).
    :param cache: built rings to reuse.
    :returns: the blocked keys.
    """
    cache = cache or RingCache()
    held: set[Any] = set()
    for claim in claims:
        if claim.member == me:
            continue
        for spec in claim.rings():
            ring = cache.get(spec)
            names = values.names_of(ring.members, claim.member)
            if not names:
                continue
            held.update(
                k for k, o in zip(keys, ring.map_keys(keys)) if o in names
            )
    return held


def owned(
    target: ring_mod.HashRing,
    me: str,
    keys: Iterable[Any],
    claims: Iterable[Claim],
    cache: RingCache | None = None,
    held: Iterable[Any] = (),
) -> list[Any]:
    """Return the keys this member may manage while it moves to ``target``.

    Call it after publishing ``target`` as intended (step 1 of the
    protocol) and with the claims read after that (step 2).

    :param target: the ring this member moves to (or applies).
    :param me: this member's canonical id.
    :param keys: the keys (node ids).
    :param claims: the live peers' claims.
    :param cache: built rings to reuse.
    :param held: the keys this member manages already, under claims it
        has published without a break since it took them.  A peer that
        announced a ring giving one of them to itself waits for this
        member to let go, so this member keeps it: releasing it at once
        would leave it unmanaged until the peer could take it.
    :returns: the keys ``target`` gives to ``me`` that this member holds,
        or that no live peer's published ring gives to that peer, in the
        order of ``keys``.
    """
    keys = _validate.collection('keys', keys)
    kept = set(held)
    mine_names = values.names_of(target.members, me)
    mine = [k for k, o in zip(keys, target.map_keys(keys)) if o in mine_names]
    taken = blocked([k for k in mine if k not in kept], me, claims, cache)
    return [k for k in mine if k in kept or k not in taken]


class Protocol:
    """Run the handoff protocol for this member, over a ring manager.

    :meth:`owned` is the protocol's steps 1 to 3 for one call, and step 4
    of the call before: it acknowledges the previous target at the start
    of the next call, when the consumer has acted on the previous answer.
    Give it to an :class:`hashring.OwnershipFilter` (``handoff=``), or
    call it directly for code that asks "is this node mine?" (Ironic's
    ``_mapped_to_this_conductor``).

    :param manager: a :class:`hashring.RingManager` whose ``host`` is the
        member its source joined as.
    :raises hashring.exception.InvalidArgumentError: the manager has no
        host, or its source is not registered as that host.
    """

    def __init__(self, manager: Any) -> None:
        source = manager.source
        if manager.host is None or source.member_id != manager.host:
            raise exception.InvalidArgumentError(
                f'The handoff protocol needs a manager whose host is the '
                f'member its source joined as (host {manager.host!r}, '
                f'source registered as {source.member_id!r})'
            )
        self.manager = manager
        self.host: str = manager.host
        self._applied: dict[str, ring_mod.HashRing] = {}
        self._unacknowledged: dict[str, ring_mod.HashRing] = {}
        self._claims: dict[str, tuple[float, list[Claim]]] = {}
        self._published: dict[str, Claim] = {}
        # What the last answer let the consumer manage, by group.
        self._held: dict[str, set[Any]] = {}
        self._cache = RingCache()
        self._lock = threading.Lock()

    def owned(
        self,
        keys: Iterable[Any],
        group: str | None = None,
        ring: ring_mod.HashRing | None = None,
    ) -> list[Any]:
        """Return the keys this member may manage now, and move on.

        Runtime complexity: ``O(k * c)`` for ``k`` keys and ``c`` distinct
        published rings; one backend write and one read while the ring
        moves, none once it is applied and the peers' claims are fresh.

        :param keys: the keys (node ids).
        :param group: the group; the source's default when None.
        :param ring: the ring to move to; the manager's current one when
            None (pass the ring a filter call already holds).
        :returns: the keys of ``ring`` that are this member's and that no
            live peer's published ring still gives to that peer.
        :raises hashring.exception.MembershipUnavailable: the claim could
            not be published or the claims read; nothing is taken then.
        :raises: what :meth:`hashring.RingManager.get_ring` raises.
        """
        source = self.manager.source
        group = source.default_group if group is None else group
        keys = _validate.collection('keys', keys)
        with self._lock:
            target = ring if ring is not None else self.manager.get_ring(group)
            done = self._unacknowledged.pop(group, None)
            if done is not None:
                # 4. The consumer acted on the answer given for it.
                applied_claim = Claim(self.host, RingSpec.of(done))
                source.publish(group, applied_claim)
                self._published[group] = applied_claim
                self._applied[group] = done
                self._claims.pop(group, None)
            applied = self._applied.get(group)
            moving = applied is None or (
                applied.fingerprint != target.fingerprint
            )
            if moving:
                # 1. Announce before reading anyone's claims.
                claim = Claim(
                    self.host,
                    None if applied is None else RingSpec.of(applied),
                    RingSpec.of(target),
                )
                if self._published.get(group) != claim:
                    source.publish(group, claim)
                    self._published[group] = claim
                    self._claims.pop(group, None)
            # 2. The peers' claims, read after this member's last publish.
            claims = self._peer_claims(group, target)
            # 3. Take what is free; release what the target gives away once
            # its new owner has announced a ring that gives it the key.
            mine = values.names_of(target.members, self.host)
            wanted = sum(o in mine for o in target.map_keys(keys))
            held = self._held.get(group, set())
            result = owned(target, self.host, keys, claims, self._cache, held)
            kept = (
                self._handing_over(
                    applied, target, [k for k in keys if k in held], claims
                )
                if moving and applied is not None
                else []
            )
            if len(result) < wanted or kept:
                # Waiting on a peer: read its claims again next time, to
                # take or let go as soon as it moves.
                self._claims.pop(group, None)
            if moving and not kept:
                self._unacknowledged[group] = target
            self._held[group] = {*result, *kept}
            return result + kept

    def _handing_over(
        self,
        applied: ring_mod.HashRing,
        target: ring_mod.HashRing,
        keys: list[Any],
        claims: list[Claim],
    ) -> list[Any]:
        """Return the keys to keep managing until their new owners ask.

        The keys the applied ring gives here and the target gives to live
        peers are all kept while one of those peers has published no ring
        that gives it its keys: letting go before a peer can take a key
        would leave it unmanaged.  The applied ring stays published
        meanwhile, so no peer can take one, and they are let go together,
        since the acknowledgement that frees them is for the whole ring.
        """
        was = values.names_of(applied.members, self.host)
        leaving = [
            (k, values.canonical_of(new))
            for k, old, new in zip(
                keys, applied.map_keys(keys), target.map_keys(keys)
            )
            if old in was and values.canonical_of(new) != self.host
        ]
        if not leaving:
            return []
        by_member = {c.member: c for c in claims}
        asked: set[Any] = set()
        for member in {m for _, m in leaving}:
            claim = by_member.get(member)  # type: ignore[arg-type]
            if claim is None:
                # Not a live member this reader knows: nobody will ask.
                asked.update(k for k, m in leaving if m == member)
                continue
            theirs = [k for k, m in leaving if m == member]
            asked |= blocked(theirs, self.host, [claim], self._cache)
        if all(k in asked for k, _ in leaving):
            return []
        return [k for k, _ in leaving]

    def applied(self, group: str | None = None) -> ring_mod.HashRing | None:
        """Return the ring this member acknowledged applying, if any.

        :param group: the group; the source's default when None.
        """
        key = self.manager.source.default_group if group is None else group
        return self._applied.get(key)

    def _peer_claims(
        self, group: str, target: ring_mod.HashRing
    ) -> list[Claim]:
        now = self.manager._clock()
        cached = self._claims.get(group)
        if (
            cached is not None
            and now - cached[0] < self.manager.reset_interval
        ):
            return cached[1]
        claims = []
        for member in self.manager.source.get_members(group):
            if member.id == self.host or member.state in (
                values.State.DOWN,
                values.State.FORCED_DOWN,
            ):
                # A dead or fenced member's claims end.
                continue
            claim = member.claim
            if claim is None:
                # A peer that publishes nothing (an older release) is
                # taken to apply the ring of the current membership.
                claim = Claim(member.id, RingSpec.of(target))
            claims.append(claim)
        self._claims[group] = (now, claims)
        return claims
