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

"""What a member's handoff protocol found at its last call, for its filter.

:class:`hashring.OwnershipFilter` asks :class:`hashring.handoff.Protocol`,
after each call, about what the call found: the keys it keeps while it
hands them over, the live members of its read (newer than the
manager's), the keys a peer may manage because it counts this member out,
the rings it announced, and the ring to let go under after a silence of
its heartbeats.
"""

from collections.abc import Iterable
import typing
from typing import Any

from hashring import claims as claims_mod
from hashring import handover
from hashring.membership import values
from hashring import published
from hashring import ring as ring_mod
from hashring import taking


class Readings:
    """The last call's findings of :class:`hashring.handoff.Protocol`."""

    if typing.TYPE_CHECKING:
        # What Protocol provides, for the type checker.
        manager: Any
        host: str
        _cache: taking.RingCache
        _groups: dict[str, handover.Group]

        def _group(self, group: str | None) -> str: ...

    def handing_over(self, group: str | None = None) -> frozenset[Any]:
        """Return the keys of the last answer that the ring gives away.

        They are managed here only until their new owners ask for them.

        :param group: the group; the source's default when None.
        """
        state = self._groups.get(self._group(group))
        return frozenset() if state is None else frozenset(state.handing_over)

    def alive(self, group: str | None = None) -> frozenset[str] | None:
        """Return the live members of the protocol's last read, if newer.

        It reads more often than the manager while peers move; None when
        the manager's own last read is as new, or before its first read.

        :param group: the group; the source's default when None.
        """
        key = self._group(group)
        state = self._groups.get(key)
        entry = self.manager._entries.get(key)
        if state is None or (
            entry is not None and state.read_at < entry.good_at
        ):
            # The manager's own read is newer: it knows better.
            return None
        return state.live

    def counted_out(
        self, keys: Iterable[Any], group: str | None = None
    ) -> set[Any]:
        """Return the keys of ``keys`` a peer may manage, counting this out.

        :meth:`hashring.handover.Group.counted_out`, over the last read:
        back from a crash or a pause, this member leaves its instances'
        nodes to the peers that adopted them as orphans until they see it
        alive.

        Runtime complexity: ``O(1)`` while every peer's published ring
        places this member; else ``O(k * r)`` for ``k`` keys and ``r``
        rings that leave it out.

        :param keys: read only where such a ring is published.
        :param group: the group; the source's default when None.
        """
        state = self._groups.get(self._group(group))
        return set() if state is None else state.counted_out(keys)

    def announced(self, ring: ring_mod.HashRing, group: str | None) -> bool:
        """Tell whether this member's published claim names ``ring``."""
        state = self._groups.get(self._group(group))
        published = None if state is None else state.published
        return published is not None and any(
            spec.fingerprint == ring.fingerprint for spec in published.rings()
        )

    def applied(self, group: str | None = None) -> ring_mod.HashRing | None:
        """Return the ring this member acknowledged applying, if any.

        :param group: the group; the source's default when None.
        """
        state = self._groups.get(self._group(group))
        return None if state is None else state.applied

    def after_silence(
        self, group: str | None = None
    ) -> tuple[ring_mod.HashRing, frozenset[str]] | None:
        """Return the last ring and live members, if heartbeats went silent.

        For a filter whose manager cannot serve a ring any more (its
        membership has been unreadable for longer than ``max_stale``):
        after a silence of this member's heartbeats that no call has read
        the claims since, the protocol lets go of every key rather than
        raise (see :meth:`hashring.handoff.Protocol.owned`), and the filter
        decides under the manager's last ring to say so.

        :param group: the group; the source's default when None.
        :returns: the manager's last ring of the group and its live
            members; None when there was no such silence, or no ring.
        """
        key = self._group(group)
        entry = self.manager._entries.get(key)
        if entry is None or not self._silence_unread(self._groups.get(key)):
            return None
        return entry.ring, entry.alive

    def _silence_unread(self, state: handover.Group | None) -> bool:
        """Tell whether heartbeats went silent since a call last read.

        (:meth:`hashring.membership.streaks.Streaks.last_silence`, against
        the start of the group's last call that answered from the claims.)
        """
        silence = self.manager.source.last_silence()
        return (
            state is not None
            and silence is not None
            and silence > state.checked
        )

    def _peer_claims(
        self, state: handover.Group, group: str, target: ring_mod.HashRing
    ) -> list[claims_mod.Claim]:
        """Return the live peers' claims, read again unless still fresh.

        The read also notes what the other findings here answer from: the
        live and draining members, whether this member drains or is not
        listed, the rings that count it out, who is only presumed up, and
        the members that peers place but the read leaves out.
        """
        now = self.manager._clock()
        fresh_for = state.fresh_for(self.manager.reset_interval)
        if state.claims is not None and now - state.read_at < fresh_for:
            return state.claims
        snapshot = self.manager.source.get_members(group)
        claims, state.live, state.draining = published.peer_claims(
            snapshot, self.host, target
        )
        # A member read before and gone since was judged by this member's
        # own reads: it stays known while a peer's ring places it.
        listed = frozenset(m.id for m in snapshot)
        gone = {
            m
            for m in state.known - listed
            if any(published.gives_to(c, m) for c in claims)
        }
        state.known = listed.union(gone)
        state.unlisted = published.unlisted(
            claims, state.known, self.host, state.unlisted
        )
        own = snapshot.members.get(self.host)
        state.drained = own is not None and own.state is values.State.DRAINING
        state.absent = self._absent(state, snapshot, claims)
        state.counting_out = taking.leaving_out(claims, self.host)
        state.claims, state.read_at = claims, now
        state.presumed = snapshot.presumed
        return claims

    def _absent(
        self,
        state: handover.Group,
        snapshot: values.Snapshot,
        claims: list[claims_mod.Claim],
    ) -> bool:
        """Tell whether a read leaves this member out as its peers may.

        The read lists no record of this member's, or only presumes it:
        the backend ended it (an etcd lease past its end) or lost it.  A
        peer that read the same may have judged it dead.  Not where its
        peers' records went with it (presumed too, or made again: their
        claims settle): the backend was out or emptied for all, and each
        peer saw that itself.  But after a silence of this member's own
        heartbeats (its process stopped) its peers wrote on and may have
        judged it dead whatever else went; and once a read leaves it out
        so, it stays out until a read lists it again.

        :param state: the group's state, as of the read before.
        :param snapshot: the read.
        :param claims: the live peers' claims of the read.
        :returns: whether to let go, take nothing and count the
            instances' nodes out as its peers' reads may.
        """
        if (
            self.host in snapshot.members
            and self.host not in snapshot.presumed
        ):
            return False
        if state.absent or self._silence_unread(state):
            return True
        lost_with = snapshot.presumed - {self.host}
        return not lost_with and not any(c.settling for c in claims)
