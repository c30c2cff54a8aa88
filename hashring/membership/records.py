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

"""From the records a driver read to a group's members.

Every read of every source goes through :func:`members`: a record that one
peer wrote badly is left out and named, never raised, so that one peer
cannot take a whole group down; and where two records are one member once
canonical, every reader keeps the same one.
"""

from collections.abc import Callable
import functools
import types
from typing import Any

from hashring import claims
from hashring import exception
from hashring.membership import identity
from hashring.membership import values


def members(
    records: list[values.Record],
    bad_record: Callable[[str, str], None],
    bad_claim: Callable[[str, Exception], None],
) -> dict[str, values.Member]:
    """Return the members of valid records, leaving bad ones out.

    Runtime complexity: ``O(m)`` for ``m`` records, and ``O(d log d)`` for
    ``d`` records that repeat a member.

    :param records: a group's records, as the driver read them.
    :param bad_record: called with the raw id of each record left out, and
        why.
    :param bad_claim: called with the id of each member whose handoff claim
        does not parse, and the error; the member counts as one that
        publishes no claim.
    :returns: the members by canonical id, in no particular order.
    """
    chosen: dict[str, values.Record] = {}
    repeated: dict[str, list[values.Record]] = {}
    for record in records:
        weight = record.weight
        try:
            member_id = identity.canonical_id(record.id)
            # The usual weight checked inline: a read checks every record.
            if type(weight) is not int or not 1 <= weight <= values.MAX_WEIGHT:
                values.check_weight(record.id, weight)
            beat = record.heartbeat
            if beat is not None and not (
                values.EARLIEST_HEARTBEAT <= beat <= values.LATEST_HEARTBEAT
            ):
                raise exception.InvalidMemberError(
                    record.id, f'heartbeat {beat.isoformat()} is out of range'
                )
        except exception.InvalidMemberError as exc:
            bad_record(record.id, str(exc))
            continue
        if member_id in chosen:
            repeated.setdefault(member_id, [chosen[member_id]]).append(record)
        else:
            chosen[member_id] = record
    # Where two records are one member once canonical (a host whose name
    # changed case, or a record from before an upgrade), keep the live one
    # of the latest registration, then the one heard from last: the other
    # is its stale past, or a process that stops once it reads this one
    # (hashring.membership.incarnations).  Readers that kept the one heard
    # from last switched between two running processes at every heartbeat,
    # and read the claim of the one that stops.  Ties go to the first by
    # raw id, so that every reader keeps the same.
    for member_id, same in sorted(repeated.items()):
        keep, *stale = sorted(
            same, key=functools.partial(_preference, member_id)
        )
        chosen[member_id] = keep
        for record in stale:
            bad_record(
                record.id, f'it is the same member as record {keep.id!r}'
            )
    found: dict[str, values.Member] = {}
    parsed: dict[Any, Any] = {}
    for member_id, record in chosen.items():
        claim = incarnation = None
        published = values.NO_ATTRIBUTES
        if record.attributes:
            attributes = dict(record.attributes)
            claim = _claim_of(member_id, attributes, bad_claim, parsed)
            incarnation = identity.incarnation_of(
                attributes.pop(values.INCARNATION_ATTRIBUTE, None)
            )
            if attributes:
                published = types.MappingProxyType(attributes)
        found[member_id] = values.Member(
            member_id,
            record.state,
            record.weight,
            published,
            record.heartbeat,
            record.id,
            claim,
            incarnation,
        )
    return found


def _claim_of(
    member_id: str,
    attributes: dict[str, Any],
    bad_claim: Callable[[str, Exception], None],
    parsed: dict[Any, Any],
) -> 'claims.Claim | None':
    """Take a record's claim out of its attributes; None if it has none."""
    data = attributes.pop(values.CLAIM_ATTRIBUTE, None)
    if data is None:
        return None
    try:
        return claims.Claim.from_dict(member_id, data, parsed)
    except exception.HashRingError as exc:
        bad_claim(member_id, exc)
        return None


def _preference(
    member_id: str, record: values.Record
) -> tuple[bool, int, float, bool, str]:
    """Sort key of one member's records: the one to keep sorts first."""
    alive = record.state in (values.State.UP, values.State.DRAINING)
    incarnation = identity.incarnation_of(
        (record.attributes or {}).get(values.INCARNATION_ATTRIBUTE)
    )
    # Incarnations compare as their registrations' order (both parts are
    # hexadecimal of one width); none, from an older release, is earliest.
    later = -int(incarnation.replace('-', ''), 16) if incarnation else 0
    heard = record.heartbeat.timestamp() if record.heartbeat else 0.0
    return (not alive, later, -heard, member_id != record.id, record.id)


def past_names(
    found: dict[str, list[values.Record]], name: str
) -> list[tuple[str, str]]:
    """Return the records of a member under names other than its own.

    A host whose name changed case leaves records under its old name, its
    past, which readers skip while the member is heard from later.

    Runtime complexity: ``O(m)`` for ``m`` records.

    :param found: records by group, as a driver read them.
    :param name: the member's name, as it registered.
    :returns: ``(group, name)`` of each such record.
    """
    member_id = identity.canonical_id(name)
    return [
        (group, record.id)
        for group, records in sorted(found.items())
        for record in records
        if record.id != name and identity.canonical_of(record.id) == member_id
    ]
