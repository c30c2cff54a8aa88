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

"""Registering: joining a group, draining and leaving.

The half of :class:`hashring.membership.MembershipSource` that writes;
the heartbeat that keeps its records fresh is in
:mod:`hashring.membership.heartbeats`.
A driver that can register implements the hooks at the end
(``_register``, ``_rewrite``, ``_unregister``, and the heartbeat's
``_beat``); the defaults mean "not supported".
"""

from collections.abc import Mapping
import dataclasses
import logging
import os
import typing
from typing import Any

from hashring import claims
from hashring import exception
from hashring.membership import heartbeats
from hashring.membership import identity
from hashring.membership import incarnations
from hashring.membership import records as records_mod
from hashring.membership import values

# One logger for all a source says, as before the split: operators and
# their filters know it by this name.
LOG = logging.getLogger('hashring.membership.base')


class Registration(incarnations.Incarnations, heartbeats.Heartbeats):
    """Joining, draining and leaving, for a membership source.

    A mixin of :class:`hashring.membership.MembershipSource`, which sets
    the attributes below; its heartbeat comes from
    :class:`~hashring.membership.heartbeats.Heartbeats`.
    """

    default_group: str
    _parent: int | None
    _claims: 'dict[str, claims.Claim]'
    _resumed: bool

    if typing.TYPE_CHECKING:
        # What MembershipSource provides, for the type checker.
        @property
        def backend(self) -> str: ...

        def get_members(self, group: str | None = None) -> values.Snapshot: ...

        def _close(self) -> None: ...

        durable_records: bool

        def _read_groups(
            self, groups: list[str] | None
        ) -> tuple[dict[str, list[values.Record]], Any]: ...

    def join(
        self,
        member: str,
        group: str | None = None,
        weight: int = 1,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """Register this service as a member of a group, and heartbeat.

        Call it once per group for a member of several groups; the weight
        and attributes of the last call apply to all of them.  The
        heartbeat runs on its own thread every ``heartbeat_interval``.

        :param member: this service's id; it is canonicalised.
        :param group: the group; ``[hashring] group`` when None.
        :param weight: an integer of at least 1.
        :param attributes: JSON-serialisable facts about this member.
        :raises hashring.exception.RegistrationNotSupported: the driver
            cannot register members.
        :raises hashring.exception.InvalidArgumentError: this source is
            already registered under another id, or an argument is bad.
        :raises hashring.exception.MembershipUnavailable: the backend could
            not be written; the heartbeat thread keeps trying.
        """
        self._require_registration()
        self._require_own()
        member_id = identity.canonical_id(member)
        self._check_name(member)
        group = values.check_group(
            self.default_group if group is None else group
        )
        checked = values.check_attributes(member, attributes)
        reserved = sorted(
            k for k in checked if k.startswith(values.RESERVED_PREFIX)
        )
        if reserved:
            raise exception.InvalidMemberError(
                member,
                f'attribute(s) {", ".join(reserved)}: names beginning with '
                f'{values.RESERVED_PREFIX!r} are hashring\'s own',
            )
        record = values.Record(
            member,
            values.State.UP,
            values.check_weight(member, weight),
            checked,
            None,
        )
        with self._lock:
            if self._me is not None and self.member_id != member_id:
                raise exception.InvalidArgumentError(
                    f'This source is registered as {self._me.id!r}; it '
                    f'cannot also join as {member!r}'
                )
            groups = {group}
            if self._me is None:
                self._incarnation = identity.incarnation()
            else:
                # One member, one name: the records of every group agree.
                record = dataclasses.replace(
                    record, id=self._me.id, state=self._me.state
                )
                if (record.weight, record.attributes) != (
                    self._me.weight,
                    self._me.attributes,
                ):
                    # A new weight or attributes: every group's record.
                    groups |= self._groups
            self._me = record
            self._groups.add(group)
            self._resumed = False
            self._start_heartbeat()
            started = self._clock()
            self._write_records(groups, stated={group})
            self._beat_ended(started, [])
        LOG.info('Joined group %s of %s as %s', group, self.backend, record.id)

    def resume(self, member: str, group: str | None = None) -> values.Member:
        """Act for a member registered earlier, as read from the backend.

        For a process that did not join itself, such as a command-line tool
        run after a restart: it takes the member's recorded weight,
        attributes, claim and state (up or draining) without writing
        anything, so that :meth:`heartbeat`, :meth:`drain` and
        :meth:`leave` act for it, and a :meth:`join` after it keeps its
        claim and state.  No heartbeat thread is started.

        :returns: the member as read.
        :raises hashring.exception.UnknownMemberError: the member has no
            record in the group.
        :raises hashring.exception.MembershipUnavailable: the backend could
            not be read.
        """
        self._require_registration()
        member_id = identity.canonical_id(member)
        group = values.check_group(
            self.default_group if group is None else group
        )
        found = self.get_members(group).members.get(member_id)
        if found is None:
            raise exception.UnknownMemberError(member)
        state = (
            found.state
            if found.state is values.State.DRAINING
            else values.State.UP
        )
        with self._lock:
            if self._me is not None and self.member_id != member_id:
                raise exception.InvalidArgumentError(
                    f'This source is registered as {self._me.id!r}; it '
                    f'cannot also act for {member!r}'
                )
            self._me = values.Record(
                found.name, state, found.weight, found.attributes, None
            )
            self._groups.add(group)
            self._resumed = True
            # Written back with any change, as the running member wrote it.
            self._incarnation = found.incarnation
            if found.claim is not None:
                # Written back with any change: the member's claim stays.
                self._claims[group] = found.claim
        return found

    def publish(self, group: str, claim: 'claims.Claim | None') -> None:
        """Publish this member's handoff claim for a group, or withdraw it.

        The claim is written to the member's record of that group now, and
        again whenever the record is written (a state change, a re-join
        after the backend forgot it); peers read it as ``Member.claim``.

        :param group: a group this source joined.
        :param claim: a :class:`hashring.claims.Claim` of this member, or
            None to publish none.
        :raises hashring.exception.InvalidArgumentError: the group was not
            joined, or the claim is another member's.
        :raises hashring.exception.MembershipUnavailable: the backend could
            not be written; the claim is kept, and the next heartbeat
            writes it.
        """
        self._require_registration()
        self._require_own()
        group = values.check_group(group)
        with self._lock:
            if self._me is None or group not in self._groups:
                raise exception.InvalidArgumentError(
                    f'Join group {group!r} before publishing a claim in it'
                )
            if claim is not None and claim.member != self.member_id:
                raise exception.InvalidArgumentError(
                    f'This source is member {self.member_id!r}; it cannot '
                    f'publish the claim of {claim.member!r}'
                )
            if claim is None:
                self._claims.pop(group, None)
            else:
                self._claims[group] = claim
            self._write_records({group}, stated=set())

    def drain(self) -> None:
        """Keep this member alive but take it off the ring.

        :raises hashring.exception.MembershipUnavailable: the backend could
            not be written; the heartbeat writes the state later.
        """
        self._change_state(values.State.DRAINING)

    def undrain(self) -> None:
        """Put a draining member back on the ring."""
        self._change_state(values.State.UP)

    def leave(self) -> None:
        """Stop heartbeating and remove this member's own records.

        Nothing else is removed: another member's records are never
        touched, nor are this member's once another process joined as it
        later (:class:`~hashring.exception.DuplicateMemberError`).
        """
        # Outside the lock: the heartbeat thread takes it to beat.
        self._stop_heartbeat()
        with self._lock:
            me, groups = self._me, sorted(self._groups)
            duplicate = self._duplicate
            self._forget()
            if me is None:
                return
            if duplicate is not None or self._parent is not None:
                LOG.info(
                    'Process %d forgets member %s: its records belong to %s',
                    os.getpid(),
                    me.id,
                    'the process that joined as it later'
                    if duplicate is not None
                    else f'process {self._parent}, which it was forked from',
                )
                self._parent = None
                return
            for group in groups:
                self._unregister(group, me.id)
            self._forget_past(me.id, groups)
        LOG.info('Left %s as %s', self.backend, me.id)

    def _forget_past(self, name: str, groups: list[str]) -> None:
        """Remove this member's records under other names, as it leaves.

        Once its own are gone, a past record (its name in another case)
        would read as the member, up, until ``dead_after``.  A record
        that lives as long as its writer's session (tooz) goes with it.
        """
        if not self.durable_records:
            return
        try:
            found, _ = self._read_groups(groups)
            for group, past in records_mod.past_names(found, name):
                self._unregister(group, past)
                LOG.info(
                    'Removed %r, %s by another name, from %s',
                    past,
                    name,
                    group,
                )
        except exception.MembershipUnavailable as exc:
            LOG.warning(
                'Records of %s under other names, if any, stay until '
                'dead_after: %s',
                name,
                exc,
            )

    def stop(self) -> None:
        """Stop heartbeating without removing the records.

        The records expire after ``dead_after``, as a crash would leave
        them.  Use :meth:`leave` for a graceful exit.
        """
        self._stop_heartbeat()
        with self._lock:
            self._forget()
            self._parent = None
        self._close()

    def _forget(self) -> None:
        """Forget the registration, under the lock; write nothing."""
        self._me = None
        self._groups = set()
        self._claims = {}
        self._unwritten = {}
        self._resumed = False
        self._incarnation = None
        self._duplicate = None
        self._beat_started = None

    @property
    def groups(self) -> frozenset[str]:
        """The groups this source has joined."""
        return frozenset(self._groups)

    @property
    def member_id(self) -> str | None:
        """This source's canonical member id once it has joined, else None."""
        me = self._me
        return None if me is None else identity.canonical_id(me.id)

    @property
    def member_name(self) -> str | None:
        """The name this source joined with, exactly, else None."""
        me = self._me
        return None if me is None else me.id

    def _change_state(self, state: values.State) -> None:
        self._require_registration()
        self._require_own()
        with self._lock:
            if self._me is None:
                raise exception.InvalidArgumentError(
                    f'Join a group before changing state to {state.value}'
                )
            self._me = dataclasses.replace(self._me, state=state)
            self._write_records(self._groups)
        LOG.info('Member %s is now %s', self._me.id, state.value)

    def _require_own(self) -> None:
        """Refuse to change records a parent, or a later process, owns."""
        if self._parent is not None:
            raise exception.InvalidArgumentError(
                f'Process {os.getpid()} was forked from process '
                f'{self._parent}, which registered member {self.member_id}:'
                f' only that process may change its records'
            )
        self._require_unique()

    def _require_registration(self) -> None:
        if type(self)._register is Registration._register:
            raise exception.RegistrationNotSupported(
                f'The {self.name} membership driver cannot register members'
            )

    # Driver hooks for registration; the defaults mean "not supported".

    def _check_name(self, name: str) -> None:
        """Refuse a name this backend cannot store or read back.

        :raises hashring.exception.InvalidMemberError: it cannot.
        """

    def _register(self, group: str, record: values.Record) -> None:
        """Create or replace this member's record in a group."""
        raise exception.RegistrationNotSupported(self.name)

    def _rewrite(self, group: str, record: values.Record) -> None:
        """Rewrite this member's record in a group, keeping its state.

        Drivers whose records outlive their writer's session (so that
        ``hashring drain --host`` can change them from another process)
        keep the state stored, and create a missing record with the
        record's; the default replaces the record (:meth:`_register`).
        """
        self._register(group, record)

    def _set_state(self, group: str, record: values.Record) -> None:
        """Write only the state of a member's record in a group.

        For a member that another process runs (:meth:`resume`), whose
        claim, weight and attributes that process may have changed since
        they were read.  Drivers whose records outlive their writer keep
        the rest of the record, and create a missing one; the default
        writes the record whole (:meth:`_register`).
        """
        self._register(group, record)

    def _unregister(self, group: str, member_id: str) -> None:
        """Remove this member's record from a group."""
        raise exception.RegistrationNotSupported(self.name)
