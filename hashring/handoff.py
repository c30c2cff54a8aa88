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

"""The handoff protocol: no node managed twice while rings converge.

Rings converge one service at a time, so for a while two services' rings
can give one node to both of them, or to neither.  The protocol closes
that window without a lock service, with what each member publishes
through its membership source beside its heartbeat: a
:class:`~hashring.claims.Claim` per group, naming the ring it *applies*
and, while it moves to another, the ring it *intends* to apply.  A member
moving to a target ring:

1. publishes its intent (applied: the old ring, intended: the target);
2. reads its live peers' claims, after that publish;
3. manages the keys :func:`hashring.taking.owned` gives: those the
   target gives it that no live peer's published ring (applied or
   intended) still gives to that peer.  The keys it held and the
   target gives away are released here, before anything else happens;
4. once the consumer has acted on that (released what it lost), publishes
   the target as applied, with no intent.

Two members cannot both manage a key: each published a ring giving the
key to itself before reading the other's claims, so the later reader sees
the earlier writer's claim and leaves the key alone.  A key is unmanaged
only while the member that held it has not yet published a ring without
it, or has died and is not yet judged dead: a dead or ``forced_down``
member's claims end.  A peer that publishes nothing (an older release, or
a service on tooz) is taken to apply the ring of the current membership.

:mod:`hashring.claims` says what members publish and
:mod:`hashring.taking` decides from it; :class:`Protocol` runs them over
a ring manager and its source, which stores the claims.  A
:class:`hashring.RingManager` whose host joined its source runs one
(``[hashring] handoff``), and its :class:`hashring.OwnershipFilter` and
:meth:`~hashring.RingManager.owns` go through it.
"""

from collections.abc import Iterable
import logging
import threading
from typing import Any
import uuid

from hashring import _fork
from hashring import _validate
from hashring import backoff
from hashring import claims as claims_mod
from hashring import exception
from hashring import handover
from hashring import leaving
from hashring.membership import values
from hashring import published
from hashring import readings
from hashring import ring as ring_mod
from hashring import taking

LOG = logging.getLogger(__name__)

# The names of the protocol's parts, where its callers look for them.
CACHE_SIZE = taking.CACHE_SIZE
RingSpec = claims_mod.RingSpec
Claim = claims_mod.Claim
RingCache = taking.RingCache
Token = claims_mod.Token
blocked = taking.blocked
owned = taking.owned
live_claims = published.live_claims
Convergence = claims_mod.Convergence
WAIT_READ_INTERVAL = handover.WAIT_READ_INTERVAL


class Protocol(leaving.Leaving, readings.Readings):
    """Run the handoff protocol for this member, over a ring manager.

    :meth:`owned` is the protocol's steps 1 to 3 for one call, and step 4
    of the call before: it acknowledges the previous target at the start
    of the next call, when the consumer has acted on the previous answer.
    A :class:`hashring.RingManager` makes one for its host (see its
    ``handoff`` attribute); :class:`hashring.OwnershipFilter` and
    :meth:`hashring.RingManager.owns` call it.

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
        #: one per protocol: the fencing tokens of a restarted service
        #: differ from those of its earlier run
        self.epoch: str = getattr(manager, 'epoch', '') or uuid.uuid4().hex[:8]
        self._groups: dict[str, handover.Group] = {}
        # Set by drain(): keep every key held until the record goes.
        self._holding = False
        self._cache = RingCache()
        self._lock = threading.Lock()
        # One for every group: their backend is one.
        self._backoff = backoff.Backoff(manager._clock)
        _fork.register(self)

    def _after_fork(self) -> None:
        # A parent's thread may have held it; the state is the parent's
        # member's, which the child cannot publish for anyway.
        self._lock = threading.Lock()

    def owned(
        self,
        keys: Iterable[Any],
        group: str | None = None,
        ring: ring_mod.HashRing | None = None,
        mine: list[Any] | None = None,
        record: bool = True,
    ) -> list[Any]:
        """Return the keys this member may manage now, and move on.

        Give it every key this member could manage (every node): a key
        left out is taken to be gone, and let go.  Code that asks about
        one key at a time calls :meth:`owns`.

        Runtime complexity: ``O(k * c)`` for ``k`` keys and ``c`` distinct
        published rings; one backend write and one read while the ring
        moves, none once it is applied and the peers' claims are fresh.

        :param keys: the keys (node ids).
        :param group: the group; the source's default when None.
        :param ring: the ring to move to; the manager's current one when
            None (pass the ring a filter call already holds).
        :param mine: the keys of ``keys`` that ``ring`` gives to this
            member, in order, when the caller has looked them up already
            (it saves a lookup).
        :param record: False when the caller records the fencing tokens
            of what it manages itself, with :meth:`record` (a filter also
            manages nodes through their instances).
        :returns: the keys given that are this member's on ``ring`` and
            that no live peer's published ring still gives to that peer,
            and those it still hands over, in the order of ``keys``.
        :raises hashring.exception.MembershipUnavailable: the claim could
            not be published or the claims read; nothing is taken then.
            After a silence of this member's heartbeats (a pause: see
            :meth:`~hashring.membership.streaks.Streaks.last_silence`)
            it answers with no key instead, until a call reads the claims.
        :raises: what :meth:`hashring.RingManager.get_ring` raises.
        """
        return self._decide(keys, group, ring, False, mine, record)

    def owns(self, key: Any, group: str | None = None) -> bool:
        """Tell whether this member may manage one key now, and move on.

        For code that asks about one node at a time, as Ironic's
        ``_mapped_to_this_conductor``: what it holds of other keys stays
        as it is, and the ring is acknowledged only once every key it
        hands over has been asked for by its new owner.

        Runtime complexity: ``O(c)`` for ``c`` distinct published rings,
        and ``O(h)`` for ``h`` keys held on the first call after a ring
        change; backend calls as for :meth:`owned`.

        :raises: as :meth:`owned`.
        """
        return bool(self._decide([key], group, None, partial=True))

    def token(self, key: Any, group: str | None = None) -> Token | None:
        """Return the fencing token of a key this member holds, or None.

        :param key: a key :meth:`owns` or :meth:`owned` gave this member.
        :param group: the group; the source's default when None.
        """
        state = self._groups.get(self._group(group))
        return None if state is None else state.tenure.token(key)

    def record(
        self, held: Iterable[Any], group: str | None, generation: int | None
    ) -> dict[Any, Token]:
        """Record every key this member manages now; return their tokens.

        For a caller of :meth:`owned` with ``record=False``: one set of
        tokens serves its results and :meth:`token`.

        Runtime complexity: ``O(k)`` for ``k`` keys held.

        :param held: every key managed now, those the ring does not give
            this member included.
        :param group: the group; the source's default when None.
        :param generation: the ring generation they are managed under.
        :returns: the token of each key of ``held``.
        """
        with self._lock:
            state = self._state(self._group(group))
            return state.tenure.update(held, generation)

    def _group(self, group: str | None) -> str:
        source = self.manager.source
        return source.default_group if group is None else group

    def _decide(
        self,
        keys: Iterable[Any],
        group: str | None,
        ring: ring_mod.HashRing | None,
        partial: bool,
        mine: list[Any] | None = None,
        record: bool = True,
    ) -> list[Any]:
        group = self._group(group)
        keys = _validate.collection('keys', keys)
        try:
            return self._decide_now(keys, group, ring, partial, mine, record)
        except (exception.MembershipUnavailable, exception.RingUnavailable):
            # After a silence of this member's heartbeats (a pause), its
            # peers may have taken any of its keys: unable to read which,
            # it lets go of them all, rather than go on with them.
            with self._lock:
                state = self._state(group)
                if not self._silence_unread(state):
                    raise
                return state.let_go_after_silence(keys, partial, record)

    def _decide_now(
        self,
        keys: list[Any],
        group: str,
        ring: ring_mod.HashRing | None,
        partial: bool,
        mine: list[Any] | None,
        record: bool,
    ) -> list[Any]:
        source = self.manager.source
        begun = source._clock()
        # After a failed backend call, calls raise at once, for every
        # group, until the backend is tried again (Backoff).
        calling = self._backoff.calling(
            source.backend, self.manager.reset_interval
        )
        with self._lock, calling:
            state = self._state(group)
            target = ring if ring is not None else self.manager.get_ring(group)
            # Every claim it publishes says so while it settles: one that
            # did not would hand its ring's keys for a moment.
            settling = not self._settled(source.unbroken_since())
            done = state.unacknowledged
            if done is not None:
                # 4. The consumer acted on the answer given for it.
                since = values.utcnow()
                applied_claim = Claim(
                    self.host,
                    RingSpec.of(done),
                    since=since,
                    settling=settling,
                )
                source.publish(group, applied_claim)
                state.unacknowledged = None
                state.published = applied_claim
                state.applied = done
                state.since = since
                state.claims = None
            applied = state.applied
            if mine is None or ring is None:
                given = taking.mine(target, self.host, keys)
            else:
                given = mine
            moving = applied is None or (
                applied.fingerprint != target.fingerprint
            )
            # 1. Announce before reading anyone's claims (or withdraw an
            # intent the target no longer has).
            claim = Claim(
                self.host,
                None if applied is None else RingSpec.of(applied),
                RingSpec.of(target) if moving else None,
                state.since,
                settling,
            )
            if state.published != claim:
                uncovered = state.to_let_go(applied, target, partial)
                if uncovered:
                    return state.let_go(
                        keys, uncovered, partial, record, given
                    )
                source.publish(group, claim)
                state.published = claim
                state.claims = None
            # 2. The peers' claims, read after this member's last publish,
            # and after a lapse of its heartbeats, once it ended: peers may
            # have taken what it holds meanwhile.
            unbroken = source.unbroken_since()
            changed = unbroken != state.unbroken
            if changed:
                state.claims = None
            cached = state.claims
            claims = self._peer_claims(state, group, target)
            if claims is not cached:
                if changed or unbroken is None:
                    state.let_go_of_taken()
                state.note_unheard(changed or unbroken is None)
                state.unsettled = not self._settled(unbroken)
            state.unbroken = unbroken
            # 3. Take what is free (of unlisted members too); release what
            # the target gives away once its new owner has announced it.
            if moving:
                self._cache.add(applied, target)  # peers publish them too
            # Unlisted (its peers may judge it dead), or with peers unheard
            # since a lapse, it takes nothing it does not hold.
            taken = taking.take(
                [k for k in given if k in state.held]
                if state.unheard or state.absent
                else given,
                self.host,
                claims + state.unlisted,
                self._cache,
                state.held,
                target,
                unsettled=state.unsettled,
            )
            kept = (
                state.kept_for(applied, target, claims)
                if moving and applied is not None
                else set()
            )
            # A draining peer is about to leave: read again soon, to see
            # it go and let the consumer adopt its orphans.  While this
            # member's heartbeats lapse, its peers may take its keys at
            # any moment: read again soon, to let them go.
            state.waiting = (
                len(taken) < len(given)
                or bool(kept)
                or bool(state.draining)
                or unbroken is None
                or state.unsettled
                or bool(state.unheard)
                or state.absent
            )
            if kept:
                taken_set = set(taken)
                answer = [k for k in keys if k in kept or k in taken_set]
            else:
                answer = taken
            now = set(answer)
            if partial:
                state.held = (state.held - set(keys)) | now
                state.note_answers(keys, now)
            else:
                # An answer about every key: each was told now.
                state.full_at = self.manager._clock()
                state.answered.clear()
                state.held = now | kept if kept else now
            state.handing_over = (
                {k for k in answer if k in kept} if kept else set()
            )
            if moving and not kept and not state.unanswered(target):
                state.unacknowledged = target
            if record:
                state.tenure.update(
                    now, target.generation, forget=keys if partial else None
                )
            state.checked, state.silenced = begun, False
            return answer

    def _settled(self, unbroken: float | None) -> bool:
        source = self.manager.source
        return taking.settled(unbroken, source._clock(), source.settle_after)

    def _state(self, group: str) -> handover.Group:
        # Under the lock.
        state = self._groups.get(group)
        if state is None:
            state = self._groups[group] = handover.Group(
                self.host,
                self.manager._clock,
                lambda: self.manager.source.dead_after,
                self._cache,
                taking.Tenure(self.host, self.epoch),
                holding=self._holding,
            )
        return state

    def converged(self, group: str | None = None) -> str | None:
        """Return the fingerprint every live member applies, if they agree.

        The rule of :meth:`hashring.RingManager.convergence`: a peer that
        publishes nothing applies the ring of the current membership.

        Runtime complexity: one membership read.

        :param group: the group; the source's default when None.
        :returns: the fingerprint, when every live member applies the same
            ring and none is moving; else None.
        :raises: what :meth:`hashring.RingManager.convergence` raises.
        """
        convergence: Convergence = self.manager.convergence(self._group(group))
        return convergence.fingerprint
