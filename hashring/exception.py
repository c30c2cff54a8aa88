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

"""The errors raised by hashring.

Every error derives from :class:`HashRingError` and also from the builtin
that a caller would naturally catch, so ``except ValueError`` keeps working
around code that switched from tooz.
"""

from typing import Any


class HashRingError(Exception):
    """Base class of every error raised by hashring."""


class InvalidArgumentError(HashRingError, ValueError):
    """Raised when a parameter has a value the ring cannot use."""


class InvalidMemberError(InvalidArgumentError):
    """Raised when a member name or weight is invalid.

    :ivar member: the offending member, as given.
    """

    def __init__(self, member: Any, reason: str) -> None:
        super().__init__(f'Invalid member {member!r}: {reason}')
        self.member = member


class InvalidKeyError(HashRingError, TypeError):
    """Raised when a key is neither ``str`` nor bytes-like.

    :ivar key: the offending key, as given.
    """

    def __init__(self, key: Any) -> None:
        super().__init__(
            f'Invalid key {key!r} of type {type(key).__name__}: keys must '
            'be str (hashed as UTF-8) or bytes'
        )
        self.key = key


class UnknownMemberError(HashRingError, KeyError):
    """Raised when a member that is not in the ring is named.

    :ivar member: the member that was looked for.
    """

    def __init__(self, member: Any) -> None:
        super().__init__(member)
        self.member = member

    def __str__(self) -> str:
        # KeyError's str() is the repr of its argument; say what happened.
        return f'Unknown member {self.member!r}'


class EmptyRingError(HashRingError, LookupError):
    """Raised when a key is looked up in a ring that has no members."""


#: The distribution that install hints name (the import package is
#: ``hashring``; ``pip install hashring`` is another project).
DISTRIBUTION = 'oslo.hashring'

#: The extra of DISTRIBUTION that installs each optional module.
EXTRAS = {
    'sqlalchemy': 'sql',
    'psycopg2': 'postgresql',
    'pymysql': 'mysql',
    'tooz': 'tooz',
    'redis': 'redis',
    'etcd3gw': 'etcd',
    'kazoo': 'zookeeper',
    'matplotlib': 'plot',
    'prometheus_client': 'prometheus',
}


#: What an extra offers instead of a module that no extra provides.
INSTEAD = {
    # SQLAlchemy 2.1 reads postgresql:// as psycopg (3): the extra's is 2.
    'psycopg': (
        ", or name psycopg2 in the URL (postgresql+psycopg2://) and pip "
        f"install '{DISTRIBUTION}[postgresql]'"
    ),
}


def install_hint(module: str) -> str:
    """Return the command that installs an optional module.

    :param module: the module's import name (its top-level package counts).
    :returns: ``pip install 'oslo.hashring[extra]'``, or ``pip install
        module`` for a module that no extra provides.
    """
    top = module.split('.')[0]
    extra = EXTRAS.get(top.lower())
    if extra is None:
        return f'pip install {top}' + INSTEAD.get(top.lower(), '')
    return f"pip install '{DISTRIBUTION}[{extra}]'"


class DriverNotFound(InvalidArgumentError):
    """Raised when no membership driver has the name asked for.

    :ivar name: the name that was asked for.
    :ivar available: the names of the drivers that can be loaded.
    :ivar unusable: the drivers that are registered but miss a module, each
        with the command that installs it.
    """

    def __init__(
        self,
        name: Any,
        available: list[str],
        unusable: dict[str, str] | None = None,
    ) -> None:
        unusable = unusable or {}
        text = (
            f'No membership driver named {name!r}; installed drivers: '
            f'{", ".join(available) or "none"}'
        )
        if unusable:
            text += '; needing an extra: ' + ', '.join(
                f'{n} ({hint})' for n, hint in sorted(unusable.items())
            )
        super().__init__(text)
        self.name = name
        self.available = available
        self.unusable = unusable


class MissingDependency(InvalidArgumentError, ImportError):
    """Raised when a feature needs an optional module that is not installed.

    The message is one line that names the extra to install, for example
    ``pip install 'oslo.hashring[sql]'``.

    :ivar feature: what needs the module, for example ``the 'sql'
        membership driver``.
    :ivar module: the missing module's name.
    """

    def __init__(self, feature: str, module: str) -> None:
        super().__init__(
            f'{feature} needs the Python module {module!r}, which is not '
            f'installed: {install_hint(module)}'
        )
        self.feature = feature
        self.module = module


class MembershipUnavailable(HashRingError):
    """Raised when a membership backend cannot be read or written.

    An outage is never reported as an empty membership: a caller gets this
    error, and decides whether an older answer is still good enough.

    :ivar backend: the backend, as the driver name and where it points.
    :ivar cause: the underlying exception, or None.
    """

    def __init__(
        self, backend: str, reason: str, cause: BaseException | None = None
    ) -> None:
        super().__init__(
            f'Membership backend {backend} is unavailable: {reason}'
        )
        self.backend = backend
        self.cause = cause


class DuplicateMemberError(HashRingError):
    """Raised by a source whose member another process joined as since.

    Two processes that run as one member (one host name configured for
    two services, or two names that differ only in case) would manage the
    same keys.  The one that registered first stops when it reads the
    other's record: it heartbeats and writes no more, and its source
    raises this error for every read and write until it leaves or is
    restarted; the other runs on.

    :ivar member: the member's id, as this process joined.
    :ivar group: the group whose record the other process wrote.
    :ivar incarnation: this process's registration.
    :ivar other: the other process's.
    """

    def __init__(
        self, member: str, group: str, incarnation: str, other: str
    ) -> None:
        super().__init__(
            f'Another process joined group {group!r} as member {member!r} '
            f'after this one did (its incarnation {other}, this one\'s '
            f'{incarnation}): two services run as {member!r} (one host '
            f'name configured twice, or names that differ only in case). '
            f'This one has stopped: it no longer heartbeats, writes or '
            f'reads the membership; give each service a name of its own '
            f'and restart it'
        )
        self.member = member
        self.group = group
        self.incarnation = incarnation
        self.other = other


class RegistrationNotSupported(HashRingError, NotImplementedError):
    """Raised by join and its kin on a source that cannot register members."""


class RingUnavailable(HashRingError):
    """Raised when no ring can be served for a group.

    The membership source has been unavailable for longer than
    ``max_stale`` seconds, or was never read successfully.

    :ivar group: the group.
    :ivar cause: the last MembershipUnavailable, or None.
    """

    def __init__(
        self, group: str, reason: str, cause: BaseException | None = None
    ) -> None:
        super().__init__(f'No hash ring for group {group!r}: {reason}')
        self.group = group
        self.cause = cause


class RingNotReady(RingUnavailable, TimeoutError):
    """Raised by ``RingManager.wait_ready`` when its peers did not come.

    :ivar group: the group.
    :ivar members: how many members its ring had at the deadline.
    """

    def __init__(
        self,
        group: str,
        reason: str,
        members: int,
        cause: BaseException | None = None,
    ) -> None:
        super().__init__(group, reason, cause)
        self.members = members


class NoMembersError(HashRingError, LookupError):
    """Raised when a group has no member up, even after a fresh read.

    :ivar group: the group.
    :ivar offline: how many of its members are listed but not up.
    """

    def __init__(self, group: str, offline: int) -> None:
        super().__init__(
            f'Group {group!r} has no member up ({offline} offline); a ring '
            f'needs at least one'
        )
        self.group = group
        self.offline = offline
