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

"""The handoff protocol's state for one group, and when it lets keys go.

:class:`hashring.handoff.Protocol` keeps a :class:`Group` per group: the
rings it applied and announced, the keys it holds, and the rules by which
it keeps a key it hands over until the new owner asks, lets go of keys a
new claim would leave uncovered before publishing it, and bounds how long
a caller that asks one key at a time may act on an answer.
"""

from collections.abc import Callable
from collections.abc import Iterable
import dataclasses
import datetime
import logging
import math
from typing import Any

from hashring import claims as claims_mod
from hashring.membership import identity
from hashring import ring as ring_mod
from hashring import taking

# The protocol's logger: operators know its messages by this name.
LOG = logging.getLogger('hashring.handoff')

Claim = claims_mod.Claim

#: At most how often, in seconds, the claims are read again while a
#: member waits for a peer to take or let go of a key.
WAIT_READ_INTERVAL = 1.0


@dataclasses.dataclass
class Group:
    """What the protocol keeps for one group, and its rules for it."""

    host: str
    clock: Callable[[], float]
    dead_after: Callable[[], float]
    cache: taking.RingCache
    tenure: taking.Tenure
    applied: ring_mod.HashRing | None = None
    unacknowledged: ring_mod.HashRing | None = None
    published: Claim | None = None
    claims: list[Claim] | None = None
    read_at: float = -math.inf
    waiting: bool = False
    held: set[Any] = dataclasses.field(default_factory=set)
    # The keys the applied ring gives here and the target gives away,
    # with their new owners: (applied fingerprint, target fingerprint,
    # [(key, new owner)]).
    leaving: tuple[str, str, list[tuple[Any, str | None]]] | None = None
    # The keys of the last answer kept only until their new owners ask.
    handing_over: set[Any] = dataclasses.field(default_factory=set)
    # When the applied ring was acknowledged.
    since: datetime.datetime | None = None
    # The live members of the last read, those of them draining, and
    # those only presumed up through an outage.
    live: frozenset[str] | None = None
    draining: frozenset[str] = frozenset()
    presumed: frozenset[str] = frozenset()
    # The keys held that a new target and the applied ring both leave out,
    # for ((applied fingerprint, target fingerprint), keys).
    uncovered: tuple[tuple[str | None, str], set[Any]] | None = None
    # When each key was last answered "yours", for a caller asking one
    # key at a time: how long it may still act on it.
    answered: dict[Any, float] = dataclasses.field(default_factory=dict)
    # When an answer about every key last went out.
    full_at: float = -math.inf
    # Leaving (Protocol.drain): keep every key held until the record goes.
    holding: bool = False
    # The source's unbroken_since() at the last call: a new value, or
    # None, is a lapse of this member's heartbeats.
    unbroken: float | None = None
    # This member's record drains, as of the last read: its peers' rings
    # leave it out while it lives.
    drained: bool = False
    # The last read listed no record of this member's, or only presumed
    # it (the backend ended or lost it), and its peers may judge it dead
    # for that (Readings._absent(): not where theirs went with it).
    absent: bool = False
    # The peers' published rings of the last read that leave this member
    # out (taking.leaving_out()).
    counting_out: list[Claim] = dataclasses.field(default_factory=list)
    # The last read came before this member was settled (taking.settled).
    unsettled: bool = True
    # The peers only presumed up that no read has heard from since this
    # member's last lapse (note_unheard()).
    unheard: frozenset[str] = frozenset()
    # The members this member's reads listed (while a peer places them),
    # and claims for those that peers' published rings place but no read
    # listed (published.unlisted()).
    known: frozenset[str] = frozenset()
    unlisted: list[Claim] = dataclasses.field(default_factory=list)
    # When the last call that answered from the claims began, on the
    # source's clock; whether one since let go of all after a silence.
    checked: float = -math.inf
    silenced: bool = False

    def fresh_for(self, reset_interval: float) -> float:
        """Return how long a read of the claims serves, in seconds."""
        if self.waiting:
            # Take or let go soon after the peer moves, without reading
            # the backend on every call of a per-key caller.
            return min(reset_interval, WAIT_READ_INTERVAL)
        return reset_interval

    def counted_out(self, keys: Iterable[Any]) -> set[Any]:
        """Return the keys of ``keys`` a peer counting this out may hold.

        :func:`hashring.taking.blocked` by the rings of the last read that
        leave this member out (:func:`hashring.taking.leaving_out`); none
        while it drains or leaves, which its peers' rings leave out while
        it lives, taking nothing from it.

        Runtime complexity: ``O(1)`` while every peer's ring places this
        member; else ``O(k * r)`` for ``k`` keys and ``r`` such rings.

        :param keys: read only where such a ring is published; every
            one after a silence that no read has followed, or while the
            last read did not list this member (any may be).
        """
        if self.silenced or self.absent:
            return set(keys)
        if not self.counting_out or self.drained or self.holding:
            return set()
        return taking.blocked(
            list(keys), self.host, self.counting_out, self.cache
        )

    def let_go_of_taken(self) -> None:
        """Let go of every key held once a peer may count this member out.

        Call it after reading the claims after a lapse of this member's
        heartbeats
        (:meth:`hashring.membership.streaks.Streaks.unbroken_since`).
        A peer that judged it dead meanwhile ended its claims and
        publishes a ring that leaves it out: the rule that keys held are
        kept holds only for claims published without a break.  Such a
        ring gives each key to some other member, and not only its
        publisher may act on it: a peer that moves to a ring leaving out
        one more (a presumed member gone for good) takes what that ring
        gives it, seeing no claim of this member's (ended, or lost with
        its record).  So every key goes, draining or not, and is taken
        again once the peers publish rings that give it back (they do,
        seeing this member alive).  So does a read that lists no record
        of this member's (the backend ended it: an expired lease): a peer
        that read the same may take them before its claim is written;
        not one where its peers' records went with it, after an outage
        each saw (:attr:`absent`).  A lapse nobody took for a death
        (every peer's ring places it, its record stands) lets nothing
        go - but for a member that drains or leaves, whose peers' rings
        all leave it out while it lives: it cannot tell whether they took
        its keys (they take them once its record goes).

        Runtime complexity: ``O(1)``, and ``O(h)`` to let go of ``h``
        keys held.
        """
        if not self.held:
            return
        if self.absent:
            why = 'the membership lists no record of it, as for a dead member'
        elif self.counting_out or self.silenced:
            why = 'peers publish rings that leave it out, as for a dead member'
        else:
            return
        LOG.warning(
            'Member %s lets go of its %d nodes: after a lapse of its '
            'heartbeats, %s; it takes them again once they hand them back',
            self.host,
            len(self.held),
            why,
        )
        self.held = set()

    def note_unheard(self, lapsed: bool) -> None:
        """Note the peers presumed up that are unheard since a lapse.

        After a lapse of this member's heartbeats, a peer may have judged
        it dead and taken its keys under a claim this member could not
        read, and which is gone with the peer's record (keys a backend
        expired in an outage): the peer's claim as last read does not
        show them, and only a read that hears the peer again, or finds
        it dead, tells.  Until then this member takes no key it does not
        hold (:meth:`hashring.handoff.Protocol.owned`).

        :param lapsed: the read follows a lapse, or one goes on.
        """
        self.unheard = (
            self.presumed - {self.host}
            if lapsed
            else self.unheard & self.presumed
        )

    def to_let_go(
        self,
        applied: ring_mod.HashRing | None,
        target: ring_mod.HashRing,
        partial: bool = True,
    ) -> set[Any]:
        """Return the keys held that the claim about to go out leaves out.

        Keys taken under an intended ring that the target now replaces
        before it was acknowledged: publishing the new claim would let a
        peer take them while the consumer still acts on them.  They are
        let go first (:meth:`let_go`).  A call about some keys lets the
        others go without an answer once :meth:`overdue`; a call about
        every key answers for them all, and never does: its consumer acts
        on its last answer until this one (a pause, a long period).
        """
        if not self.held:
            return set()
        pair = (
            None if applied is None else applied.fingerprint,
            target.fingerprint,
        )
        if self.uncovered is None or self.uncovered[0] != pair:
            # Once per ring change, not on every call while it waits.
            held = list(self.held)
            mine = set(taking.mine(target, self.host, held))
            if applied is not None:
                mine.update(taking.mine(applied, self.host, held))
            self.uncovered = (pair, {k for k in held if k not in mine})
        left = self.uncovered[1] & self.held
        if not left:
            return set()
        if partial and self.overdue('intended ring', target, left):
            self.held -= left
            return set()
        return left

    def let_go(
        self,
        keys: list[Any],
        uncovered: set[Any],
        partial: bool,
        record: bool = True,
        given: Iterable[Any] = (),
    ) -> list[Any]:
        """Answer without the uncovered keys, taking nothing new.

        The claim that covers them stays published until the consumer has
        acted on this answer (every such key answered, for a caller that
        asks one key at a time); the next call announces the new target.
        The keys of the answer that the target does not give here (not in
        ``given``) are handed over: the claim that stays still covers them,
        and a consumer that let go of them would leave them unmanaged.
        """
        answer = [k for k in keys if k in self.held and k not in uncovered]
        if partial:
            self.held -= set(keys) & uncovered
            self.note_answers(keys, set(answer))
        else:
            self.held = set(answer)
        self.waiting = True
        self.handing_over = set(answer).difference(given)
        if record:
            self.tenure.update(answer, None, forget=keys if partial else None)
        return answer

    def let_go_after_silence(
        self, keys: list[Any], partial: bool, record: bool
    ) -> list[Any]:
        """Answer without any key held, after a silence, unable to read.

        This member's heartbeats were silent past the lapse bound since the
        last call that read the claims
        (:meth:`hashring.membership.streaks.Streaks.last_silence`):
        its peers may have judged it dead and taken any of its keys, and
        the backend cannot be read to learn which.  The next call that
        reads them takes back what they hand it.
        """
        if self.held and not self.silenced:
            LOG.warning(
                'Member %s lets go of its %d nodes: its heartbeats were '
                'silent for longer than dead_after allows (a pause?), its '
                'peers may have taken them, and the membership cannot be '
                'read to learn which; it takes them again once it can',
                self.host,
                len(self.held),
            )
        self.silenced = True
        return self.let_go(keys, set(self.held), partial, record)

    def note_answers(self, keys: list[Any], yes: set[Any]) -> None:
        """Note when keys asked about one at a time were answered "yours"."""
        at = self.clock()
        for key in keys:
            if key in yes:
                self.answered[key] = at
            else:
                self.answered.pop(key, None)

    def unanswered(self, target: ring_mod.HashRing) -> bool:
        """Tell whether a key handed over was not yet asked about again.

        A caller that asks one key at a time still acts on a key it was
        told is its own until it asks again: the ring is acknowledged (and
        the key free for its new owner) only once every key handed over
        has been answered "not yours" - or after ``dead_after``, as long
        as a crash would keep it, for a key nobody asks about any more.
        """
        leaving = [] if self.leaving is None else self.leaving[2]
        left = {k for k, _ in leaving if k in self.held}
        if not left:
            return False
        if self.overdue('ring', target, left):
            self.held -= left
            return False
        return True

    def overdue(self, what: str, ring: Any, left: set[Any]) -> bool:
        """Tell whether keys to let go have waited their bound for it.

        A caller that asks one key at a time acts on an answer for one
        action, ``dead_after`` at most: a key it has not been told is its
        own for that long can go without being asked about again, as a
        crash would let it go.
        """
        now = self.clock()
        bound = self.dead_after()
        answered = self.answered
        if any(now - answered.get(k, self.full_at) < bound for k in left):
            return False
        LOG.info(
            'Moving to %s %s without being asked again about %d key(s) '
            'it no longer gives here, such as %r, after %gs',
            what,
            getattr(ring, 'fingerprint', None),
            len(left),
            next(iter(left)),
            bound,
        )
        for key in left:
            answered.pop(key, None)
        return True

    def kept_for(
        self,
        applied: ring_mod.HashRing,
        target: ring_mod.HashRing,
        claims: list[Claim],
    ) -> set[Any]:
        """Return the keys to keep managing until their new owners ask.

        The keys held that the applied ring gives here and the target
        gives to live peers are all kept while one of those peers has
        published no ring that gives it its keys: letting go before a peer
        can take a key would leave it unmanaged.  The applied ring stays
        published meanwhile, so no peer can take one, and they are let go
        together, since the acknowledgement that frees them is for the
        whole ring.  A member that is leaving (``holding``) keeps them
        all until its record goes.
        """
        cached = self.leaving
        if cached is None or cached[:2] != (
            applied.fingerprint,
            target.fingerprint,
        ):
            # Once per ring change: which held keys leave, and to whom.
            held = list(self.held)
            was = identity.names_of(applied.members, self.host)
            cached = self.leaving = (
                applied.fingerprint,
                target.fingerprint,
                [
                    (k, identity.canonical_of(new))
                    for k, old, new in zip(
                        held, applied.map_keys(held), target.map_keys(held)
                    )
                    if old in was and identity.canonical_of(new) != self.host
                ],
            )
        leaving = [(k, m) for k, m in cached[2] if k in self.held]
        if not leaving:
            return set()
        if self.holding:
            # Its peers take them once its record is gone, not before.
            return {k for k, _ in leaving}
        by_member = {c.member: c for c in claims}
        for member in {m for _, m in leaving}:
            claim = None if member is None else by_member.get(member)
            if (
                claim is None
                or member in self.draining
                or member in self.presumed
            ):
                # Gone since the ring was built (left, or judged dead),
                # off the ring now, or only presumed up (its claim may be
                # stale): it may never take its keys, so this member
                # keeps them until the ring changes (its claim still
                # covers them).
                return {k for k, _ in leaving}
            theirs = [k for k, m in leaving if m == member]
            asked = taking.blocked(theirs, self.host, [claim], self.cache)
            if len(asked) < len(theirs):
                return {k for k, _ in leaving}
        return set()
