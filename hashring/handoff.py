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

The functions here decide; :class:`Protocol` runs them over a ring
manager and its source, which stores the claims
(:mod:`hashring.claims`).

Runtime complexity of :func:`owned`: ``O(k * c)`` for ``k`` keys and
``c`` published rings that differ, each built once per fingerprint.
"""

from collections.abc import Iterable
import logging
import threading
import time
from typing import Any

from hashring import _validate
from hashring import claims as claims_mod
from hashring import exception
from hashring.membership import values
from hashring import ring as ring_mod

LOG = logging.getLogger(__name__)

# The claims' names, where the protocol's callers look for them.
CACHE_SIZE = claims_mod.CACHE_SIZE
RingSpec = claims_mod.RingSpec
Claim = claims_mod.Claim
RingCache = claims_mod.RingCache


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
    kept = set(held)
    mine = _mine(target, me, _validate.collection('keys', keys))
    taken = blocked([k for k in mine if k not in kept], me, claims, cache)
    return [k for k in mine if k in kept or k not in taken]


def _mine(target: ring_mod.HashRing, me: str, keys: list[Any]) -> list[Any]:
    """Return the keys a ring gives to a member, in the order of keys."""
    names = values.names_of(target.members, me)
    return [k for k, o in zip(keys, target.map_keys(keys)) if o in names]


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
            # One pass of the keys over the target: owned() then looks up
            # only the keys it gives here.
            mine = _mine(target, self.host, keys)
            held = self._held.get(group, set())
            result = owned(target, self.host, mine, claims, self._cache, held)
            kept = (
                self._handing_over(
                    applied, target, [k for k in keys if k in held], claims
                )
                if moving and applied is not None
                else []
            )
            if len(result) < len(mine) or kept:
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

    def converged(self, group: str | None = None) -> str | None:
        """Return the fingerprint every live member applies, if they agree.

        Runtime complexity: one membership read.

        :param group: the group; the source's default when None.
        :returns: the fingerprint, when every live member publishes the
            same applied ring and none is moving; else None.
        :raises hashring.exception.MembershipUnavailable: the claims could
            not be read.
        """
        source = self.manager.source
        key = source.default_group if group is None else group
        return agreed(live_claims(source.get_members(key)))

    def leave(self, timeout: float | None = None) -> bool:
        """Drain, wait until every live peer applies a ring without this
        member, then leave the membership.

        Call it after the consumer's last filter call, when it is about
        to stop.  Until the peers acknowledge, this member's claims keep
        its nodes from them; once they do, its record goes and they take
        the nodes at their next call.

        :param timeout: seconds to wait at most; the source's
            ``dead_after`` when None.
        :returns: True when every peer acknowledged, False when the
            timeout ran out first (it leaves anyway, and logs which peers
            had not).
        :raises hashring.exception.InvalidArgumentError: a bad timeout.
        """
        source = self.manager.source
        limit = (
            source.dead_after
            if timeout is None
            else _validate.seconds('timeout', timeout)
        )
        source.drain()
        deadline = time.monotonic() + limit
        step = min(source.heartbeat_interval, 1.0)
        while True:
            waiting = []
            try:
                for group in sorted(source.groups):
                    waiting += [
                        c.member
                        for c in live_claims(source.get_members(group))
                        if c.member != self.host and _gives_to(c, self.host)
                    ]
            except exception.MembershipUnavailable as exc:
                waiting = [f'(unreadable: {exc})']
            if not waiting or time.monotonic() >= deadline:
                break
            time.sleep(min(step, max(0.0, deadline - time.monotonic())))
        if waiting:
            LOG.warning(
                'Leaving %s after %gs without the acknowledgement of %s',
                source.backend,
                limit,
                ', '.join(sorted(set(waiting))),
            )
        source.leave()
        return not waiting

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


def live_claims(snapshot: Any) -> list[Claim]:
    """Return the claims the live members of a snapshot published.

    Down and forced-down members' claims have ended; members that
    publish nothing are left out.
    """
    return [
        m.claim
        for m in snapshot
        if m.claim is not None
        and m.state not in (values.State.DOWN, values.State.FORCED_DOWN)
    ]


def _gives_to(claim: Claim, member: str) -> bool:
    """Tell whether a claim's rings place a member (by canonical id)."""
    return any(values.names_of(spec.members, member) for spec in claim.rings())


def agreed(claims: Iterable[Claim]) -> str | None:
    """Return the ring fingerprint a set of claims agrees on, if any.

    :param claims: the live members' claims.
    :returns: the fingerprint when every claim applies it and none
        intends another; None otherwise, or for no claims.
    """
    found = {
        None
        if c.intended is not None or c.applied is None
        else c.applied.fingerprint
        for c in claims
    }
    if len(found) != 1:
        return None
    return found.pop()
