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

"""Argument checks shared by the modules, with errors that name the value."""

from collections.abc import Iterable
from collections.abc import Mapping
import math
from typing import Any
from typing import NoReturn

from hashring import exception


def integer(name: str, value: Any, low: int, high: int | None = None) -> int:
    """Return value if it is an integer within bounds, else raise.

    ``bool`` is refused although it is an ``int``: ``True`` is no count.

    :param name: the argument's name, for the message.
    :param value: the value to check.
    :param low: the least value allowed.
    :param high: the greatest value allowed, or None for no bound.
    :raises hashring.exception.InvalidArgumentError: it is not.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        bounds = (
            f'from {low} to {high}'
            if high is not None
            else f'of at least {low}'
        )
        raise exception.InvalidArgumentError(
            f'{name} must be an integer {bounds}, not {value!r}'
        )
    return value


def points_per_weight(
    exponent: int | None, points: int | None, default: int, most: int
) -> int:
    """Return the points per unit of weight an exponent or count gives.

    :param exponent: a ring's ``partition_exponent``, or None.
    :param points: its ``points``, or None.
    :param default: the exponent where neither is given.
    :param most: the greatest exponent; ``points`` may be up to
        ``2 ** most``.
    :raises hashring.exception.InvalidArgumentError: either is out of
        range, or they disagree.
    """
    if exponent is not None:
        integer('partition_exponent', exponent, 0, most)
    if points is None:
        return 1 << (default if exponent is None else exponent)
    integer('points', points, 1, 1 << most)
    if exponent is not None and points != 1 << exponent:
        raise exception.InvalidArgumentError(
            f'points={points} and partition_exponent={exponent} disagree: '
            f'give one of them'
        )
    return points


def number(
    name: str, value: Any, low: float = 0.0, what: str = 'a finite number'
) -> float:
    """Return value as a float if it is a finite number of at least low.

    :param name: the argument's name, for the message.
    :param value: the value to check.
    :param low: the least value allowed.
    :param what: what the value is, for the message.
    :raises hashring.exception.InvalidArgumentError: it is not.
    """
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value < low
    ):
        raise exception.InvalidArgumentError(
            f'{name} must be {what} of at least {low:g}, not {value!r}'
        )
    return float(value)


def seconds(name: str, value: Any) -> float:
    """Return a duration in seconds if it is a finite number of at least 0.

    :param name: the argument's name, for the message.
    :param value: the value to check.
    :raises hashring.exception.InvalidArgumentError: it is not.
    """
    return number(name, value, 0.0, 'a finite number of seconds')


def weight(member: Any, value: Any) -> int:
    """Return a member's weight as an ``int`` if it is valid, else raise.

    :param member: the member, for the message.
    :param value: the weight: an integer of at least 1, not a ``bool``.
    :raises hashring.exception.InvalidMemberError: it is not.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise exception.InvalidMemberError(
            member, f'weight {value!r} is not an integer'
        )
    if value < 1:
        raise exception.InvalidMemberError(
            member, f'weight {value!r} is below 1'
        )
    return int(value)


def repeated(member: Any, earlier: Any) -> NoReturn:
    """Refuse a member given again.

    :param member: the member given again.
    :param earlier: the member it repeats: itself, listed twice, or one
        that is the same member once encoded or made canonical.
    :raises hashring.exception.InvalidMemberError: always, naming both.
    """
    raise exception.InvalidMemberError(
        member,
        'it is listed twice'
        if earlier.__class__ is member.__class__ and earlier == member
        else f'it is the same member as {earlier!r}',
    )


def collection(name: str, value: Any) -> list[Any]:
    """Return the items of a collection argument as a list, else raise.

    A ``str`` (or bytes) is refused although it is iterable: its
    characters are not the keys or ids the caller meant.

    :param name: the argument's name, for the message.
    :param value: an iterable of items.
    :raises hashring.exception.InvalidArgumentError: it is a string or
        bytes, or is not iterable.
    """
    if isinstance(value, (str, bytes, bytearray, memoryview)) or not (
        isinstance(value, Iterable)
    ):
        raise exception.InvalidArgumentError(
            f'{name} must be a collection (a list, a set...), not '
            f'{type(value).__name__} {value!r:.80}'
        )
    return list(value)


def hashable(value: Any) -> bool:
    """Return whether a value can be a dict key or set member."""
    try:
        # Whether, not how: nothing is placed by the hash.
        hash(value)
    except TypeError:
        return False
    return True


def id_set(name: str, value: Any) -> set[Any]:
    """Return the items of a collection argument as a set, else raise.

    :param name: the argument's name, for the message.
    :param value: an iterable of ids.
    :raises hashring.exception.InvalidArgumentError: it is a string or
        bytes, is not iterable, or holds an item that cannot be hashed.
    """
    items = collection(name, value)
    try:
        return set(items)
    except TypeError:
        bad = next(item for item in items if not hashable(item))
        raise exception.InvalidArgumentError(
            f'{name} holds {bad!r:.80} of type {type(bad).__name__}, '
            'which cannot be an id (a str, say)'
        ) from None


def mapping(name: str, value: Any, what: str = 'a mapping') -> Any:
    """Return value if it is a mapping, else raise an error naming it.

    :param name: the argument's name, for the message.
    :param what: what it must be, for the message.
    :raises hashring.exception.InvalidArgumentError: it is not.
    """
    if not isinstance(value, Mapping):
        raise exception.InvalidArgumentError(
            f'{name} must be {what}, not {type(value).__name__} {value!r:.80}'
        )
    return value
