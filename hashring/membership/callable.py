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

"""Members from a function the consumer supplies.

For a service that already knows its peers, from its own table or API:
Ironic's conductors table, Nova's servicegroup API.  The service stays
the source of truth; hashring judges, caches and places as for any other
driver.  One call of the function is one read of every group::

    def conductors():
        return [
            {'name': c.hostname, 'groups': c.ring_groups,
             'heartbeat': c.updated_at, 'state': 'up' if c.online else
             'draining'}
            for c in Conductor.list_online()
        ]

    source = membership.load('callable', function=conductors)

Each entry the function returns is a member's name (up, weight 1, in every
group), or a mapping with:

``name``
    the member's name, exactly as the ring places it (required);
``state``
    a :class:`~hashring.membership.State` or its value (default ``up``);
``weight``
    an integer from 1 to 1000 (default 1);
``groups``
    the groups it belongs to (default: every group);
``attributes``
    JSON-safe facts about it;
``heartbeat``
    when it last heartbeat, a ``datetime`` (naive means UTC), or None.
    With it the member is down once silent for ``dead_after``, as with
    the sql driver; without it, the state is taken as given;
``claims``
    the handoff claims the member published, by group, as the
    ``publish`` function was given them (see below).

For the handoff protocol (:mod:`hashring.handoff`) a service publishes the
ring it applies.  Give ``publish``, a function ``publish(member, group,
claim)`` that stores ``claim`` (JSON-safe data, or None to delete it) with
the member's row - a JSON column of Nova's services table, say - and have
``function`` return it under ``claims``; the service then joins the
source as itself (:meth:`~hashring.membership.MembershipSource.join`),
which publishes and heartbeats nothing else: the service's own table
says who is alive.

An exception raised by the function, or a call that takes longer than
``read_timeout``, is an outage (MembershipUnavailable), never "no members".
"""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
import dataclasses
import datetime
from typing import Any

from oslo_config import cfg
from oslo_utils import importutils

from hashring import exception
from hashring.membership import base
from hashring.membership import bounded
from hashring.membership import values

#: The keys a member's mapping may have.
FIELDS = frozenset(
    {'name', 'state', 'weight', 'groups', 'attributes', 'heartbeat', 'claims'}
)

Function = Callable[[], Iterable[Any]]
Publish = Callable[[str, str, Any], None]


class CallableSource(base.MembershipSource):
    """Members from a function (``function`` or ``[hashring]
    membership_function``).

    Registering is not supported: the consumer registers its services its
    own way, and the function reports them.

    :param conf: as for :class:`~hashring.membership.MembershipSource`.
    :param function: a callable taking no argument that returns the
        members (see the module's notes); ``[hashring]
        membership_function`` is imported when None.
    :param in_thread: call the function on a worker thread, and give up
        on it after ``read_timeout`` (the default).  False calls it in the
        caller's thread, for a function that needs the caller's
        thread-local state (a database session bound to the thread, an
        eventlet hub); bounding its time is then the function's own job,
        through its database's or client's timeouts.
    :param publish: a callable ``publish(member, group, claim)`` that
        stores a member's handoff claim (see the module's notes); without
        it the source cannot be joined.
    :param overrides: option values.
    :raises hashring.exception.InvalidArgumentError: no function, one
        that is not callable, or an import path that does not import.
    """

    name = 'callable'

    def __init__(
        self,
        conf: cfg.ConfigOpts | None = None,
        function: Function | None = None,
        in_thread: bool = True,
        publish: Publish | None = None,
        **overrides: Any,
    ) -> None:
        super().__init__(conf, **overrides)
        if publish is not None and not callable(publish):
            raise exception.InvalidArgumentError(
                f'publish must be a callable, not {publish!r}'
            )
        self.publish_function = publish
        if function is None:
            function = _import(self.required_option('membership_function'))
        if not callable(function):
            raise exception.InvalidArgumentError(
                f'The callable membership driver needs a callable, not '
                f'{function!r}'
            )
        self.function = function
        self.in_thread = bool(in_thread)
        self._caller = bounded.Caller('hashring-callable', self.read_timeout)

    @property
    def backend(self) -> str:
        return f'callable ({_describe(self.function)})'

    def _read_groups(
        self, groups: list[str] | None
    ) -> tuple[dict[str, list[base.Record]], datetime.datetime]:
        # list() inside the call: a generator's work is bounded too.
        entries = self._call('read', lambda: list(self.function()))
        now = base.utcnow()
        found: dict[str, list[base.Record]] = (
            {} if groups is None else {g: [] for g in groups}
        )
        everywhere = []
        for entry in entries:
            try:
                record, member_groups = _record(entry)
            except (TypeError, ValueError, exception.HashRingError) as exc:
                self._bad_record('every group', _name_of(entry), f'{exc}')
                continue
            if member_groups is None:
                everywhere.append((record, entry))
                continue
            for group in member_groups:
                if groups is None or group in found:
                    found.setdefault(group, []).append(
                        _with_claim(record, entry, group)
                    )
        if groups is None and everywhere:
            # Members of every group are at least in the default one.
            found.setdefault(self.default_group, [])
        for group, records in found.items():
            records.extend(_with_claim(r, e, group) for r, e in everywhere)
        return found, now

    def _call(self, what: str, function: Callable[[], Any]) -> Any:
        """Call the consumer's code, bounded as configured."""
        try:
            return (
                self._caller.call(function) if self.in_thread else function()
            )
        except TimeoutError as exc:
            raise exception.MembershipUnavailable(
                self.backend,
                f'{what}: no answer within {self.read_timeout:g}s',
                exc,
            ) from exc
        except Exception as exc:
            raise exception.MembershipUnavailable(
                self.backend, f'{what}: it raised {base.mask(exc)!r}', exc
            ) from exc

    def _require_registration(self) -> None:
        if self.publish_function is None:
            raise exception.RegistrationNotSupported(
                'The callable membership driver registers members only '
                'with a publish function; the consumer registers them its '
                'own way otherwise'
            )

    def _start_heartbeat(self) -> None:
        """The consumer's own table says who is alive: nothing to beat."""

    def _register(self, group: str, record: base.Record) -> None:
        publish = self.publish_function
        assert publish is not None
        claim = record.attributes.get(values.CLAIM_ATTRIBUTE)
        self._call('publish', lambda: publish(record.id, group, claim))

    def _beat(
        self, groups: list[str], record: base.Record, recovering: bool
    ) -> list[str]:
        return []

    def unbroken_since(self) -> float | None:
        """Return when this member joined, or None before it joins.

        The consumer heartbeats in its own table, out of sight: no lapse
        is seen here.
        """
        return None if self._beat_started is None else self._unbroken_since

    def last_silence(self) -> float | None:
        """Return None: no heartbeat here is silent (see unbroken_since)."""
        return None

    def _unregister(self, group: str, member_id: str) -> None:
        publish = self.publish_function
        assert publish is not None
        self._call('publish', lambda: publish(member_id, group, None))

    def _close(self) -> None:
        self._caller.close()

    def _after_fork(self) -> None:
        super()._after_fork()
        self._caller.after_fork()


def _record(entry: Any) -> tuple[base.Record, list[str] | None]:
    """Return the record of an entry, and its groups (None: every one)."""
    if isinstance(entry, str):
        return base.Record(entry, base.State.UP, 1, {}, None), None
    if not isinstance(entry, Mapping):
        raise exception.InvalidMemberError(
            entry, 'an entry is a name or a mapping with a "name"'
        )
    unknown = set(entry) - FIELDS
    if unknown:
        raise exception.InvalidMemberError(
            entry.get('name'),
            f'unknown field(s) {", ".join(sorted(map(str, unknown)))}',
        )
    name = entry.get('name')
    if not isinstance(name, str):
        raise exception.InvalidMemberError(name, 'the name must be a str')
    base.canonical_id(name)
    groups = entry.get('groups')
    if groups is not None:
        groups = [base.check_group(g) for g in _strings('groups', groups)]
    published = entry.get('claims')
    if published is not None and not isinstance(published, Mapping):
        raise exception.InvalidMemberError(
            name, f'claims {published!r:.80} is not a mapping by group'
        )
    heartbeat = entry.get('heartbeat')
    if heartbeat is not None:
        if not isinstance(heartbeat, datetime.datetime):
            raise exception.InvalidMemberError(
                name, f'heartbeat {heartbeat!r} is not a datetime'
            )
        if heartbeat.tzinfo is None:
            heartbeat = heartbeat.replace(tzinfo=datetime.timezone.utc)
    return (
        base.Record(
            name,
            base.State(entry.get('state', base.State.UP)),
            base.check_weight(name, entry.get('weight', 1)),
            base.check_attributes(name, entry.get('attributes')),
            heartbeat,
        ),
        groups,
    )


def _with_claim(record: base.Record, entry: Any, group: str) -> base.Record:
    """Return a record with the claim its entry gives for a group."""
    published = entry.get('claims') if isinstance(entry, Mapping) else None
    if not published or published.get(group) is None:
        return record
    return dataclasses.replace(
        record,
        attributes={
            **record.attributes,
            values.CLAIM_ATTRIBUTE: published[group],
        },
    )


def _strings(what: str, value: Any) -> list[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise exception.InvalidArgumentError(
            f'{what} must be a list of names, not {value!r}'
        )
    return list(value)


def _name_of(entry: Any) -> Any:
    return entry.get('name') if isinstance(entry, Mapping) else entry


def _describe(function: Any) -> str:
    module = getattr(function, '__module__', None) or '?'
    name = getattr(function, '__qualname__', None) or type(function).__name__
    return f'{module}.{name}'


def _import(path: str) -> Function:
    """Import ``package.module:function`` (or a dotted path)."""
    try:
        function: Function = importutils.import_class(path.replace(':', '.'))
    except (ImportError, ValueError, AttributeError) as exc:
        raise exception.InvalidArgumentError(
            f'[hashring] membership_function {path!r} does not import: {exc}'
        ) from exc
    return function
