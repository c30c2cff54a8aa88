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

"""How member names and keys become digests.

Everything that decides an owner goes through here, so that a ring built in
one process maps keys exactly as a ring built in another, and exactly as
``tooz.hashring`` does: a name or key is its raw bytes, or the UTF-8
encoding of a ``str``; it is never ``str()``, ``repr()`` or ``hash()`` of an
object.
"""

from collections.abc import Callable
from collections.abc import Iterable
import functools
import hashlib
import importlib
from typing import Any

from hashring import _validate
from hashring import exception

_md5: Any
try:
    # CPython's own md5, which hashlib falls back to without OpenSSL.  It
    # gives the same digests and skips OpenSSL's per-call context set-up,
    # which is most of the cost of hashing a short key or name.
    _md5 = importlib.import_module('_md5')
except ImportError:  # pragma: no cover (CPython built without it)
    _md5 = None

#: The hash function tooz, Ironic and Nova use by default.
DEFAULT_HASH_FUNCTION = 'md5'

#: Largest partition power :func:`partition_of` accepts.  Swift's rings use
#: the same bound: the partition is read from the first four digest bytes.
MAX_PARTITION_POWER = 32

HashConstructor = Callable[..., Any]


def hash_constructor(name: str) -> HashConstructor:
    """Return the hashlib constructor of a fixed-length algorithm.

    The constructor takes ``(data, usedforsecurity=False)``: a ring's hash
    decides placement, not security, and FIPS hosts refuse md5 without the
    flag.  For md5 it is CPython's built-in implementation where that is
    present and agrees with hashlib's, which is faster for short inputs.

    :param name: a name from :data:`hashlib.algorithms_available`.
    :returns: a callable that returns a new hash object for its data.
    :raises hashring.exception.InvalidArgumentError: the name is unknown on
        this system, or the algorithm has no fixed digest length (``shake_*``
        would fail deep inside a lookup otherwise, as it does in tooz).
    """
    if not isinstance(name, str) or name not in hashlib.algorithms_available:
        raise exception.InvalidArgumentError(
            f'Hash function {name!r} is not supported on this system, '
            f'supported are: {", ".join(fixed_length_algorithms())}'
        )
    ctor = getattr(hashlib, name, None)
    if ctor is None:
        ctor = functools.partial(hashlib.new, name)
    if name == 'md5' and _BUILTIN_MD5_AGREES:
        ctor = _md5.md5
    try:
        probe = ctor(b'', usedforsecurity=False)
        probe.digest()
    except (TypeError, ValueError) as exc:
        raise exception.InvalidArgumentError(
            f'Hash function {name!r} cannot be used for a ring: it has no '
            f'fixed digest length or is disabled here ({exc})'
        ) from exc
    return ctor


def plain_constructor(ctor: HashConstructor) -> HashConstructor | None:
    """Return a constructor if it may be called with the data alone.

    A call with no keyword is what lets a batch hash its keys in C, through
    ``map()``.  Only CPython's built-in md5 qualifies: it ignores
    ``usedforsecurity``, so leaving the flag out changes nothing, where a
    FIPS host's OpenSSL md5 would refuse.

    :param ctor: a constructor from :func:`hash_constructor`.
    :returns: ``ctor``, or None when it needs its keyword.
    """
    return ctor if _md5 is not None and ctor is _md5.md5 else None


def _builtin_md5_agrees() -> bool:
    if _md5 is None:
        return False
    try:
        builtin = _md5.md5(b'hashring', usedforsecurity=False).digest()
    except Exception:  # noqa: S112 - any refusal means "use hashlib's"
        return False
    return bool(
        builtin == hashlib.md5(b'hashring', usedforsecurity=False).digest()
    )


# Checked once: the answer cannot change while the process runs.
_BUILTIN_MD5_AGREES = _builtin_md5_agrees()


def fixed_length_algorithms() -> list[str]:
    """List the hash functions this system offers that a ring can use.

    :returns: sorted names of the algorithms with a fixed digest length.
    """
    return sorted(
        name
        for name in hashlib.algorithms_available
        if not name.startswith('shake_')
    )


def encode(value: Any) -> bytes:
    """Return the bytes that stand for a member name or a key.

    :param value: a ``str`` (encoded as UTF-8), ``bytes``, ``bytearray``,
        or a contiguous ``memoryview`` of bytes.
    :returns: the bytes that are hashed.
    :raises hashring.exception.InvalidKeyError: the value is none of them;
        an ``array.array`` or a view of wider items is refused, since its
        bytes depend on the machine's byte order.
    :raises hashring.exception.InvalidArgumentError: the ``str`` cannot be
        encoded as UTF-8 (a lone surrogate).
    """
    if isinstance(value, str):
        try:
            # str.encode, not value.encode: a subclass cannot change it.
            return str.encode(value, 'utf-8')
        except UnicodeEncodeError as exc:
            raise exception.InvalidArgumentError(
                f'{value!r} cannot be encoded as UTF-8: {exc.reason}'
            ) from exc
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if (
        isinstance(value, memoryview)
        and value.itemsize == 1
        and value.contiguous
    ):
        return value.tobytes()
    raise exception.InvalidKeyError(value)


def digest(base: Any, key: Any) -> bytes:
    """Return the digest of a key, as a ring hashes it.

    :param base: an empty hash object of the ring's algorithm, copied.
    :param key: ``str`` (hashed as its UTF-8 encoding) or bytes.
    :raises hashring.exception.InvalidKeyError: the key is of another type.
    :raises hashring.exception.InvalidArgumentError: the ``str`` cannot be
        encoded as UTF-8.
    """
    h = base.copy()
    try:
        # Exact str and bytes without encode()'s checks (as in
        # HashRing.get_node); anything else through them.
        h.update(
            key.encode()
            if key.__class__ is str
            else key
            if key.__class__ is bytes
            else None
        )
    except (TypeError, UnicodeEncodeError):
        h.update(encode(key))
    return h.digest()  # type: ignore[no-any-return]


def digests(
    base: Any, plain: HashConstructor | None, keys: Iterable[Any]
) -> list[bytes]:
    """Return the digests of keys, in order, as a ring hashes them.

    Runtime complexity: ``O(k)`` for ``k`` keys, in C where the keys are
    all ``str`` or all ``bytes`` and ``plain`` is given.

    :param base: an empty hash object of the ring's algorithm, copied.
    :param plain: the constructor of :func:`plain_constructor`, or None.
    :param keys: ``str`` or bytes keys.
    :raises: as :func:`digest`, and
        :class:`hashring.exception.InvalidArgumentError` where ``keys`` is
        no collection.
    """
    if not isinstance(keys, (list, tuple)):
        # A failed fast pass must be able to go over them again.
        keys = _validate.collection('keys', keys)
    if plain is not None:
        finish = base.__class__.digest
        # Keys all str, then keys all bytes: hashed in C, without a
        # Python-level call per key.  Anything else goes key by key.
        try:
            return list(map(finish, map(plain, map(str.encode, keys))))
        except (TypeError, UnicodeEncodeError):
            pass
        if set(map(type, keys)) <= {bytes}:
            return list(map(finish, map(plain, keys)))
    copy = base.copy
    found: list[bytes] = []
    append = found.append
    try:
        for k in keys:
            h = copy()
            if k.__class__ is bytes:
                h.update(k)
            else:
                h.update(k.encode() if k.__class__ is str else None)
            append(h.digest())
    except (TypeError, UnicodeEncodeError):
        return [digest(base, k) for k in keys]
    return found


def partition_of(key: str | bytes, partition_power: int) -> int:
    """Return a stable partition number for a key.

    The partition is the top ``partition_power`` bits of the key's md5
    digest, as Swift computes it (without Swift's path prefix and suffix).
    It does not depend on the ring's members, so a backend can store and
    index it, as Ironic's shards do, and narrow a query to the partitions a
    service owns.

    Runtime complexity: ``O(len(key))``.

    :param key: the key, ``str`` (hashed as UTF-8) or bytes.
    :param partition_power: the number of bits, 0 to 32.
    :returns: an integer in ``range(2 ** partition_power)``.
    :raises hashring.exception.InvalidArgumentError: the power is out of
        range.
    :raises hashring.exception.InvalidKeyError: the key is not a str or
        bytes.
    """
    _validate.integer(
        'partition_power', partition_power, 0, MAX_PARTITION_POWER
    )
    digest = hashlib.md5(encode(key), usedforsecurity=False).digest()
    return int.from_bytes(digest[:4], 'big') >> (32 - partition_power)
