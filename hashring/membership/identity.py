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

"""Member ids: their canonical form, and the ring names that are one id.

A member's identity is its canonical id (:func:`canonical_id`), so that a
host whose name changed case is still one member; a ring places it under
its registered name, which :func:`canonical_of` and :func:`names_of` tie
back to the id.  Each registration of a member also has an incarnation
(:func:`incarnation`), so that two processes that run as one member can
tell each other apart.
"""

from collections.abc import Iterable
from collections.abc import Mapping
import functools
import re
import secrets
import time
from typing import Any
import unicodedata

from hashring import exception

MAX_ID_LENGTH = 255

#: An incarnation as :func:`incarnation` makes it.
INCARNATION_RE = re.compile(r'[0-9a-f]{16}-[0-9a-f]{8}')


def canonical_id(name: str) -> str:
    """Return the canonical form of a member id.

    The same function serves for this service and for its peers, so that a
    host whose name changed case is still one member: Unicode NFC,
    stripped of surrounding white space, lower case.  It is idempotent:
    the canonical form of a canonical id is itself.

    :param name: a member id.
    :returns: its canonical form.
    :raises hashring.exception.InvalidMemberError: the id is not a str, is
        empty, is longer than 255 characters, or holds control characters.
    """
    if not isinstance(name, str):
        raise exception.InvalidMemberError(name, 'member ids must be str')
    # str.__str__: a subclass cannot change the text that is compared.
    return _canonical(name if type(name) is str else str.__str__(name))


# A pure function of a str, called for every record of every read: the
# same names, over and over.  Sized for groups of tens of thousands: an
# LRU cache smaller than a group misses on every name of every read.
@functools.lru_cache(maxsize=65536)
def _canonical(name: str) -> str:
    if name.isascii():
        # NFC leaves ASCII as it is, and the only unprintable ASCII
        # characters are the control characters (category Cc).
        canon = name.strip().lower()
        if canon and canon.isprintable():
            if len(canon) > MAX_ID_LENGTH:
                raise exception.InvalidMemberError(
                    name, f'a member id has at most {MAX_ID_LENGTH} characters'
                )
            return canon
    canon = name
    # Lower-casing can undo NFC ('J\u030c' becomes 'j\u030c', which NFC
    # composes to one character): repeat until nothing changes, so that
    # canonical_id(canonical_id(x)) == canonical_id(x).
    for _ in range(4):
        step = unicodedata.normalize('NFC', canon).strip().lower()
        if step == canon:
            break
        canon = step
    if not canon:
        raise exception.InvalidMemberError(name, 'a member id is required')
    if len(canon) > MAX_ID_LENGTH:
        raise exception.InvalidMemberError(
            name, f'a member id has at most {MAX_ID_LENGTH} characters'
        )
    if any(unicodedata.category(c).startswith('C') for c in canon):
        raise exception.InvalidMemberError(
            name, 'a member id may not hold control characters'
        )
    return canon


def canonical_of(name: Any) -> str | None:
    """Return the canonical id of a ring's member name, or None.

    :param name: a member as a ring holds it: ``str``, or ``bytes`` read
        as UTF-8.
    :returns: its canonical id; None for a name that no member id can
        have (not UTF-8, control characters...).
    """
    try:
        text = name.decode('utf-8') if isinstance(name, bytes) else name
        return canonical_id(text)
    except (UnicodeDecodeError, exception.InvalidMemberError):
        return None


def names_of(
    members: Iterable[Any],
    member_id: str,
    known: Mapping[Any, str | None] | None = None,
) -> frozenset[Any]:
    """Return the names among a ring's members that are one member id.

    Runtime complexity: ``O(m)`` for ``m`` members: a dict look-up for
    each name ``known`` holds, else its canonical id.

    :param members: the ring's members (or the ring itself).
    :param member_id: a canonical id.
    :param known: :func:`canonical_of` of names read before, where the
        caller keeps them (a ring's members, once per ring).
    :returns: the names whose canonical id it is: one name, or none.
    """
    known = known or {}
    return frozenset(
        m
        for m in members
        if (known[m] if m in known else canonical_of(m)) == member_id
    )


def incarnation() -> str:
    """Return a new incarnation: this registration of a member, and when.

    Its first part is the time of the registration in nanoseconds, so
    that two incarnations of one member compare as their registrations'
    order (by the clocks of their hosts); the second is random, so that
    two registrations of one moment differ.  Every process that compares
    two of them reaches the same order.

    :returns: 16 and 8 hexadecimal digits, joined by ``-``.
    """
    return f'{time.time_ns():016x}-{secrets.token_hex(4)}'


def incarnation_of(value: Any) -> str | None:
    """Return a record's incarnation, or None where it carries none.

    :param value: what the record carries; anything but an incarnation
        (a record of an older release has none) reads as None.
    """
    if isinstance(value, str) and INCARNATION_RE.fullmatch(value):
        return value
    return None
