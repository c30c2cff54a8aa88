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

"""Which keys a member may take, from the claims its peers published.

The decisions of the handoff protocol (:mod:`hashring.handoff`) over the
claims of :mod:`hashring.claims`: a key a peer's published ring still
gives to that peer is blocked (:func:`blocked`), and a member manages the
keys its target ring gives it that it holds or that are not blocked
(:func:`owned`).  A :class:`Tenure` says since which ring it holds each,
its fencing tokens; a :class:`hashring.ringcache.RingCache` builds each
published ring once.

Runtime complexity of :func:`owned`: ``O(k * c)`` for ``k`` keys and
``c`` published rings that differ, each built once per fingerprint.
"""

from collections.abc import Iterable
import logging
from typing import Any

from hashring import _validate
from hashring import claims as claims_mod
from hashring import exception
from hashring.membership import identity
from hashring import ring as ring_mod
from hashring import ringcache

# The claims' logger: operators know a corrupt claim's message by it.
LOG = logging.getLogger('hashring.claims')

CACHE_SIZE = ringcache.CACHE_SIZE

Claim = claims_mod.Claim
RingCache = ringcache.RingCache
RingSpec = claims_mod.RingSpec
Token = claims_mod.Token


class Tenure:
    """Since when a member holds each key it holds: its fencing tokens."""

    def __init__(self, member: str, epoch: str) -> None:
        self.member = member
        self.epoch = epoch
        self._since: dict[Any, Token] = {}

    def update(
        self, held: Iterable[Any], generation: int | None, forget: Any = None
    ) -> dict[Any, Token]:
        """Record the keys held now, and return their tokens.

        Runtime complexity: ``O(k)`` for ``k`` keys held.

        :param held: the keys held now.
        :param generation: the ring generation they are held under.
        :param forget: the keys this answer was about, when it was about
            some keys only (the others stay as they were); None when
            ``held`` is everything held.
        :returns: the token of each key of ``held``.
        """
        since = self._since
        new = Token(self.member, self.epoch, generation or 0)
        tokens = {k: since.get(k, new) for k in held}
        if forget is None:
            self._since = tokens
        else:
            for key in forget:
                since.pop(key, None)
            since.update(tokens)
        return tokens

    def token(self, key: Any) -> Token | None:
        """Return the token of a key held, or None."""
        return self._since.get(key)


def blocked(
    keys: list[Any],
    me: str,
    claims: Iterable[Claim],
    cache: RingCache | None = None,
    given_by: ring_mod.HashRing | None = None,
) -> set[Any]:
    """Return the keys a live peer's published rings still give to it.

    Runtime complexity: ``O(k * r)`` for ``k`` keys and ``r`` distinct
    published rings.

    :param keys: the keys to check.
    :param me: this member's canonical id; its own claim blocks nothing.
    :param claims: the claims of the live peers (dead and ``forced_down``
        members' claims left out by the caller).
    :param cache: built rings to reuse.
    :param given_by: a ring that gives every key of ``keys`` to ``me``
        (the target of the caller): a published ring that is the same,
        or that it holds as a part (fewer members, with their weights,
        ``me`` among them), gives them to nobody else, and is not looked
        up.
    :returns: the blocked keys.  A published ring that does not rebuild
        with its own fingerprint (a peer's bug, or a forged record) blocks
        every key its members might hold: what it gives them cannot be
        known, and taking a node it gives them would manage it twice.
    """
    cache = cache or RingCache()
    held: set[Any] = set()
    for spec, members in _peer_rings(claims, me):
        if given_by is not None and spec.fingerprint == given_by.fingerprint:
            continue
        try:
            ring = cache.get(spec)
        except exception.InvalidArgumentError as exc:
            if spec.fingerprint not in cache.corrupt:
                cache.corrupt.add(spec.fingerprint)
                LOG.error(
                    '%s; members %s publish it, so no node they might '
                    'hold is taken until they publish a ring that rebuilds',
                    exc,
                    ', '.join(sorted(members)),
                )
            held.update(keys)
            continue
        if given_by is not None and _within(ring, given_by, me):
            continue
        names: set[Any] = set()
        for member in members:
            names |= identity.names_of(ring.members, member)
        if names:
            held.update(
                k for k, o in zip(keys, ring.map_keys(keys)) if o in names
            )
    return held


def _peer_rings(
    claims: Iterable[Claim], me: str
) -> list[tuple[RingSpec, set[str]]]:
    """Return each distinct ring ``me``'s peers publish, and its peers.

    Runtime complexity: ``O(c)`` for ``c`` claims of one read, whose
    equal specs are one object; ``O(c * m)`` for ``m`` members otherwise.
    """
    # Peers publish the same few rings: look the keys up once per ring,
    # not once per peer.  A forged ring must not pass for the one whose
    # fingerprint it names, so rings are compared whole (in C; sorting
    # each one's members took 0.16 s a read at 1,000 members).
    by_print: dict[str, list[tuple[RingSpec, set[str]]]] = {}
    for claim in claims:
        if claim.member == me:
            continue
        for spec in claim.rings():
            alike = by_print.setdefault(spec.fingerprint, [])
            for known, members in alike:
                if known == spec:
                    members.add(claim.member)
                    break
            else:
                alike.append((spec, {claim.member}))
    return [ring for alike in by_print.values() for ring in alike]


def settled(unbroken: float | None, now: float, settle_after: float) -> bool:
    """Tell whether claims read now hold every live peer's.

    A backend that lost its records (restarted empty, or its keys expired
    in an outage) holds a live peer's record and claim again once the
    peer heartbeats after its return: within an interval, or, where the
    peer's call hung on a connection to the old server, within
    ``read_timeout`` and an interval (a ZooKeeper client's new session
    took 2.1 s in a chaos run).  A member that joined, or joined again,
    meanwhile finds the peer's keys free: until its own record has stood
    for ``settle_after`` seconds (the option; ``read_timeout`` and two
    heartbeat intervals unless set), it takes only the keys a peer hands
    it (:func:`handed`).

    :param unbroken: since when this member's heartbeats have had no
        lapse (``MembershipSource.unbroken_since()``), or None.
    :param now: the time, on the clock of ``unbroken``.
    :param settle_after: the source's ``settle_after``, in seconds.
    """
    if unbroken is None:
        return False
    return now - unbroken >= settle_after


def handed(
    keys: list[Any],
    me: str,
    claims: Iterable[Claim],
    cache: RingCache | None = None,
) -> set[Any]:
    """Return the keys a live peer's published rings give to ``me``.

    A peer hands ``me`` a key by publishing a ring that gives it to
    ``me``: it saw ``me`` join, or saw the key's holder die.  A key that
    is free but handed by no one may be a key of a peer whose record a
    backend lost: :class:`hashring.handoff.Protocol` takes such keys only
    once :func:`settled`.  A peer that is settling itself (its claim says
    so) hands nothing: its read may lack the holder's record as well, and
    two members that join an emptied backend together would hand each
    other their absent peers' keys.

    Runtime complexity: ``O(k * r)`` for ``k`` keys and ``r`` distinct
    published rings.

    :param keys: the keys to check.
    :param me: this member's canonical id.
    :param claims: the claims of the live peers.
    :param cache: built rings to reuse.
    :returns: the keys some peer's published ring gives to ``me``.  A ring
        that does not rebuild hands nothing.
    """
    cache = cache or RingCache()
    found: set[Any] = set()
    settled_claims = (c for c in claims if not c.settling)
    for spec, _ in _peer_rings(settled_claims, me):
        try:
            ring = cache.get(spec)
        except exception.InvalidArgumentError:
            continue  # logged by blocked(), which every such call makes
        names = identity.names_of(ring.members, me)
        if names:
            found.update(
                k for k, o in zip(keys, ring.map_keys(keys)) if o in names
            )
    return found


def leaving_out(claims: Iterable[Claim], me: str) -> list[Claim]:
    """Return the published rings that leave ``me`` out, as claims.

    A peer that judged ``me`` dead, or has yet to see it join, publishes
    such a ring before it acts on it: it takes ``me``'s keys that the ring
    gives it (``me``'s claims ended for it), and adopts the nodes of
    ``me``'s instances as orphans (``orphan_policy = adopt``), until it
    publishes a ring that places ``me`` again.  A peer that moves for
    another reason publishes rings that place ``me``.

    Runtime complexity: ``O(c)`` for ``c`` claims, and ``O(m)`` for each
    distinct ring of ``m`` members that does not hold ``me``'s id as a
    name.

    :param claims: the claims of the live peers.
    :param me: this member's canonical id.
    :returns: a claim of its peer for each such ring (the applied one), to
        pass to :func:`blocked`: the keys it blocks may be managed there.
    """
    places: dict[str, bool] = {}
    found = []
    for claim in claims:
        if claim.member == me:
            continue
        for spec in claim.rings():
            placed = places.get(spec.fingerprint)
            if placed is None:
                placed = places[spec.fingerprint] = me in spec.members or (
                    bool(identity.names_of(spec.members, me))
                )
            if not placed:
                found.append(Claim(claim.member, spec))
    return found


def _within(
    part: ring_mod.HashRing, whole: ring_mod.HashRing, me: str
) -> bool:
    """Tell whether a key ``whole`` gives to ``me``, ``part`` gives to it.

    True when ``part`` is ``whole`` less some members: the same points per
    weight and hash function, every member of ``part`` in ``whole`` with
    its weight, ``me`` among them.  Its points are then some of
    ``whole``'s, with their owners (a colliding point goes to the lowest
    name in both), ``me``'s all among them: the first point above a key
    in ``whole`` is in ``part`` too when it is ``me``'s, and the first
    there.  So a peer that publishes it while ``me`` moves to ``whole``
    - the peer has yet to see a member join - gives ``me``'s keys to
    nobody else.
    """
    if (
        part.points != whole.points
        or part.hash_function != whole.hash_function
        or len(part) > len(whole)
        or not identity.names_of(part.members, me)
    ):
        return False
    weights = whole.members
    return all(weights.get(m) == w for m, w in part.members.items())


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
    given = mine(target, me, _validate.collection('keys', keys))
    return take(given, me, claims, cache, held, target)


def take(
    given: list[Any],
    me: str,
    claims: Iterable[Claim],
    cache: RingCache | None = None,
    held: Iterable[Any] = (),
    given_by: ring_mod.HashRing | None = None,
    unsettled: bool = False,
) -> list[Any]:
    """Return, of the keys a ring gives to ``me``, those it may manage.

    :func:`owned` for a caller that has looked the keys up already.

    :param given: the keys the target ring gives to ``me``, in order.
    :param given_by: the target ring, when known (it saves lookups, as
        for :func:`blocked`).
    :param unsettled: the claims were read before this member was
        :func:`settled`: a free key is then taken only where a peer hands
        it (:func:`handed`), for it may be a lost peer's.
    :returns: those held, and those no live peer's published ring gives
        to that peer (and, unsettled, one gives to ``me``), in the order
        of ``given``.
    """
    kept = held if isinstance(held, (set, frozenset)) else set(held)
    free = [k for k in given if k not in kept] if kept else given
    if not free:
        return given
    if unsettled:
        claims = list(claims)  # read twice
    taken = blocked(free, me, claims, cache, given_by)
    if unsettled:
        open_keys = [k for k in free if k not in taken]
        passed = handed(open_keys, me, claims, cache)
        return [k for k in given if k in kept or k in passed]
    if not taken:
        return given
    return [k for k in given if k in kept or k not in taken]


def mine(target: ring_mod.HashRing, me: str, keys: list[Any]) -> list[Any]:
    """Return the keys a ring gives to a member, in the order of keys."""
    names = identity.names_of(target.members, me)
    return [k for k, o in zip(keys, target.map_keys(keys)) if o in names]
