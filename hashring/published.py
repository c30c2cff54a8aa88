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

"""What a read of a group says of the claims its members published.

Whose claims have ended (:func:`live_claims`), what a member's peers
claim (:func:`peer_claims`, a peer that publishes nothing taken to apply
the current ring), which members the published rings place that the read
left out (:func:`unlisted`), and which ring the members agree on
(:func:`convergence_of`).  The claims themselves are
:mod:`hashring.claims`.
"""

import datetime
from typing import Any

from hashring import claims as claims_mod
from hashring.membership import identity
from hashring.membership import values
from hashring import ring as ring_mod


def live_claims(snapshot: Any) -> list[claims_mod.Claim]:
    """Return the claims the live members of a snapshot published.

    Down and forced-down members' claims have ended; members that
    publish nothing are left out.
    """
    return [m.claim for m in snapshot if m.claim is not None and m.state.alive]


def peer_claims(
    snapshot: Any, host: str, ring: ring_mod.HashRing
) -> tuple[list[claims_mod.Claim], frozenset[str], frozenset[str]]:
    """Return the claims of a snapshot's live peers of ``host``.

    :param snapshot: the group's :class:`hashring.membership.Snapshot`.
    :param host: the member reading, whose own claim is left out.
    :param ring: the ring of the current membership, which a peer that
        publishes no claim (an older release, or tooz) is taken to apply.
    :returns: the live peers' claims (one that publishes none is taken
        to apply ``ring``, settling); the live members' ids, ``host``'s
        included where it is alive; and the draining peers' ids.  A dead
        or forced-down member's claims have ended.

    Runtime complexity: ``O(m)`` for ``m`` members.
    """
    found = []
    live = set()
    draining = set()
    inferred = None
    for member in snapshot:
        if not member.state.alive:
            continue
        live.add(member.id)
        if member.id == host:
            continue
        if member.state is values.State.DRAINING:
            draining.add(member.id)
        claim = member.claim
        if claim is None:
            # What it applies is inferred, not said: it hands nothing
            # (a member that joined, yet to publish, read nothing yet).
            inferred = inferred or claims_mod.RingSpec.of(ring)
            claim = claims_mod.Claim(member.id, inferred, settling=True)
        found.append(claim)
    return found, frozenset(live), frozenset(draining)


def unlisted(
    claims: list[claims_mod.Claim],
    listed: frozenset[str],
    me: str,
    before: list[claims_mod.Claim] | None = None,
) -> list[claims_mod.Claim]:
    """Return claims for the members a peer places that a read leaves out.

    A member whose record a backend lost (restarted empty, its keys
    expired) is missing from every read until it heartbeats again, and may
    still manage its keys meanwhile; a peer that knew it presumes it up
    (:class:`hashring.membership.liveness.Judge`), and its published rings
    place it.  A reader that joined since never knew it: to it, the claims
    returned stand for such a member, as though it had published each of
    those rings itself (:func:`hashring.taking.blocked` then blocks what
    they give it).  Without a record it cannot have moved: the rings of
    ``before`` that placed it stand for it while a peer still places it,
    though its peers move on.

    Runtime complexity: ``O(r * m)`` for ``r`` distinct published rings of
    ``m`` members.

    :param claims: the live peers' claims.
    :param listed: the ids of every member the reader's reads listed,
        live or not (one it read, and judged gone since, is its own to
        judge).
    :param me: the reader's canonical id.
    :param before: what the reader's last read returned.
    :returns: a claim per member left out and ring that places it.
    """
    found: dict[tuple[str, str], claims_mod.Claim] = {}
    seen = set()
    for claim in claims:
        for spec in claim.rings():
            if spec.fingerprint in seen:
                continue
            seen.add(spec.fingerprint)
            for name in spec.members:
                if name in listed:
                    continue  # most names are their canonical ids
                member = identity.canonical_of(name)
                if member not in listed and member not in (None, me):
                    # Settling: it hands nothing (taking.handed()).
                    found[member, spec.fingerprint] = claims_mod.Claim(
                        member, spec, settling=True
                    )
    placed = {member for member, _ in found}
    for claim in before or ():
        if claim.member in placed and claim.applied is not None:
            found.setdefault((claim.member, claim.applied.fingerprint), claim)
    return list(found.values())


def gives_to(claim: claims_mod.Claim, member: str) -> bool:
    """Tell whether a claim's rings place a member (by canonical id)."""
    return any(
        identity.names_of(spec.members, member) for spec in claim.rings()
    )


def convergence_of(
    snapshot: Any, ring: ring_mod.HashRing
) -> tuple[str | None, dict[str, str | None], datetime.datetime | None]:
    """Return the fingerprint a group's live members agree on, and each's.

    :param snapshot: the group's :class:`hashring.membership.Snapshot`.
    :param ring: the ring of the current membership, which a member that
        publishes no claim (an older release, or tooz) is taken to apply,
        unless it is up and the ring leaves it out.
    :returns: the agreed fingerprint, or None while the members differ or
        one is moving; each live member's applied fingerprint, None for
        one moving or that has applied none yet; and, when they agree,
        when the last of them acknowledged the ring (None if unknown).
    """
    applied: dict[str, str | None] = {}
    since: list[datetime.datetime | None] = []
    placed: frozenset[str | None] | None = None
    for member in snapshot:
        if not member.state.alive:
            continue
        claim = member.claim
        if claim is None:
            if member.state is values.State.UP:
                if placed is None:
                    placed = frozenset(
                        map(identity.canonical_of, ring.members)
                    )
                if member.id not in placed:
                    # Up, and off the ring: a ring read before it joined
                    # (and before its first claim), which it cannot apply.
                    applied[member.id] = None
                    continue
            applied[member.id] = ring.fingerprint
        elif claim.intended is None and claim.applied is not None:
            applied[member.id] = claim.applied.fingerprint
            since.append(claim.since)
        else:
            applied[member.id] = None
    found = set(applied.values())
    agreed = found.pop() if len(found) == 1 else None
    last = None
    if agreed is not None and since and None not in since:
        last = max(s for s in since if s is not None)
    return agreed, applied, last
