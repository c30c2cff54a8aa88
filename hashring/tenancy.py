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

"""What a ring manager's host may act on: ownership, tokens, convergence.

The part of :class:`hashring.RingManager` that speaks for its host: the
handoff protocol it runs (:mod:`hashring.handoff`), whether the host may
act on a key, the fencing token of a key it holds, whether the group's
members agree on one ring, a graceful leave, and whether the host
belongs on a ring that does not list it.  Routing (which service
to send a request to) needs none of it: :meth:`~hashring.RingManager.
get_ring` answers that.
"""

from collections.abc import Iterable
import datetime
import logging
import threading
import typing
from typing import Any

from hashring import _validate
from hashring import claims
from hashring import exception
from hashring import handoff as handoff_mod
from hashring.membership import base as membership_base
from hashring import published
from hashring import ring as ring_mod

LOG = logging.getLogger('hashring.manager')


class Tenancy:
    """The host's side of a :class:`hashring.RingManager` (a mixin)."""

    if typing.TYPE_CHECKING:
        # What RingManager provides, for the type checker.
        source: membership_base.MembershipSource
        host: str | None
        epoch: str
        _lock: threading.Lock
        _handoff_on: bool
        _protocol: handoff_mod.Protocol | None
        _seen: dict[str, tuple[str | None, datetime.datetime]]
        _states: dict[str, dict[str, int]]
        _host_name: str | None

        def get_ring(self, group: str | None = None) -> ring_mod.HashRing: ...

    @property
    def handoff(self) -> handoff_mod.Protocol | None:
        """The handoff protocol this manager runs for ``host``, or None.

        It runs once ``source`` has joined as ``host`` and ``handoff`` is
        on; a manager that only reads (a command-line tool, Nova's driver
        over a services table it does not write) runs none.
        """
        if (
            self._protocol is None
            and self._handoff_on
            and self.host is not None
            and self.source.member_id == self.host
        ):
            with self._lock:
                if self._protocol is None:
                    self._protocol = handoff_mod.Protocol(self)
        return self._protocol

    def owns(self, key: Any, group: str | None = None) -> bool:
        """Tell whether ``host`` may act on a key now.

        For code that asks about one node at a time (Ironic's
        ``_mapped_to_this_conductor``, a periodic task over "my" nodes):
        with the handoff protocol, a key is this host's once no live
        peer's published ring still gives it to that peer, so no two
        services act on it at once.  Routing (which service to send a
        request to) keeps using :meth:`get_ring`.

        Runtime complexity: ``O(c)`` for ``c`` distinct published rings
        (see :meth:`hashring.handoff.Protocol.owns`); ``O(1)`` without
        the protocol.

        :raises hashring.exception.InvalidArgumentError: no ``host``.
        :raises: what :meth:`get_ring` raises, and
            :class:`~hashring.exception.MembershipUnavailable` when the
            protocol cannot publish or read claims.
        """
        protocol = self._owner()
        if protocol is not None:
            return protocol.owns(key, group)
        return bool(self._mapped([key], group))

    def owned(
        self, keys: Iterable[Any], group: str | None = None
    ) -> list[Any]:
        """Return the keys ``host`` may act on now, of every key it could.

        As :meth:`owns`, for the whole set at once: a key left out is
        taken to be gone.  :class:`hashring.OwnershipFilter` adds the
        instance rules on top.

        Runtime complexity: ``O(k)`` for ``k`` keys (one batch lookup),
        and ``O(k * c)`` while claims of ``c`` other rings are published.

        :raises: as :meth:`owns`.
        """
        protocol = self._owner()
        if protocol is not None:
            return protocol.owned(keys, group)
        return self._mapped(keys, group)

    def _owner(self) -> handoff_mod.Protocol | None:
        """Return the protocol, after checking there is a host to own."""
        if self.host is None:
            raise exception.InvalidArgumentError(
                'Only a manager with a host can tell what it owns'
            )
        return self.handoff

    def _mapped(self, keys: Iterable[Any], group: str | None) -> list[Any]:
        """Return the keys the plain ring gives to ``host``."""
        keys = _validate.collection('keys', keys)
        ring = self.get_ring(group)
        names = membership_base.names_of(ring.members, self.host or '')
        return [k for k, o in zip(keys, ring.map_keys(keys)) if o in names]

    def _host_belongs(self, group: str) -> bool:
        """Tell whether ``host`` belongs on a group's ring when unlisted."""
        if self.host is None:
            return False
        if self.source.member_id != self.host:
            # This process registers nothing (Nova registers elsewhere):
            # the host belongs to every ring it asks for.
            return True
        # Registered here: only the groups it joined, not the rings it
        # merely reads, as an Ironic conductor reads other groups' rings.
        return group in self.source.groups

    def _read(
        self, snapshot: membership_base.Snapshot
    ) -> tuple[dict[str, int], int, frozenset[str]]:
        """Return a read's members as placed, the offline count, the alive.

        ``host`` is among them where it belongs (:meth:`_host_belongs`).
        The states of the group's members are kept for :meth:`stats`.
        """
        group = snapshot.group
        members = snapshot.placed()
        self._states[group] = snapshot.states()
        alive = snapshot.alive()
        if self._host_belongs(group):
            alive.add(self.host)  # type: ignore[arg-type]
            if self.host not in snapshot:
                members[self._host_name] = 1  # type: ignore[index]
        return (
            dict(sorted(members.items())),
            snapshot.offline(),
            frozenset(alive),
        )

    def token(self, key: Any, group: str | None = None) -> Any:
        """Return the fencing token of a key ``host`` holds, or None.

        Store it with the node's record and make every write on the node
        compare it (see the handoff guide): a service that lost the node
        but still acts on an old ring is then refused by the database.

        :returns: a :class:`hashring.claims.Token` (``str()`` gives its
            stored form), or None without the protocol or for a key not
            held.
        """
        protocol = self.handoff
        return None if protocol is None else protocol.token(key, group)

    def convergence(self, group: str | None = None) -> claims.Convergence:
        """Tell whether every live member of a group applies one ring.

        A member that publishes no claim (an older release, or a peer
        without the protocol) is taken to apply this manager's current
        ring, unless it is up and that ring leaves it out (read before it
        joined): then it applies none yet.

        Runtime complexity: one membership read, and a refresh of the
        group's ring where one is due (:meth:`get_ring`).

        :returns: a :class:`hashring.claims.Convergence`: the agreed
            fingerprint or None; since when (when the last member
            acknowledged the ring, as the members publish it, or else
            when this manager first saw the group so); and each live
            member's applied fingerprint.
        :raises: what :meth:`get_ring` raises, and
            :class:`~hashring.exception.MembershipUnavailable`.
        """
        key = self.source.default_group if group is None else group
        ring = self.get_ring(key)
        return self._converged(key, ring, self.source.get_members(key))

    def _converged(
        self, key: str, ring: ring_mod.HashRing, snapshot: Any
    ) -> claims.Convergence:
        """Return a group's convergence from a snapshot of its members.

        :param key: the group.
        :param ring: its current ring (see :func:`published.convergence_of`).
        :param snapshot: the group's members, as just read.
        """
        fingerprint, applied, last = published.convergence_of(snapshot, ring)
        seen = self._seen.get(key)
        if seen is None or seen[0] != fingerprint:
            seen = self._seen[key] = (fingerprint, membership_base.utcnow())
            if fingerprint is not None:
                LOG.info('Group %s converged on ring %s', key, fingerprint)
        # The members say when the last of them acknowledged; else, when
        # this manager first saw the group so.
        return claims.Convergence(fingerprint, last or seen[1], applied)

    def leave(self, timeout: float | None = None) -> bool:
        """Leave the membership gracefully.

        With the handoff protocol: drain, wait until every live peer
        applies a ring without ``host`` (at most ``timeout``, the
        source's ``dead_after`` when None), then leave
        (:meth:`hashring.handoff.Protocol.leave`).  Without it, leave at
        once.

        :returns: False when peers had not acknowledged by the timeout
            (logged); True otherwise.
        :raises hashring.exception.InvalidArgumentError: a bad timeout,
            with the protocol or without.
        """
        if timeout is not None:
            _validate.seconds('timeout', timeout)
        protocol = self.handoff
        if protocol is not None:
            return protocol.leave(timeout)
        self.source.leave()
        return True
