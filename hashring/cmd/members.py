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

"""``hashring members``, ``join``, ``heartbeat``, ``(un)drain``, ``leave``."""

import argparse
from collections.abc import Sequence
import signal
import threading
from typing import Any

from hashring.cmd import output
from hashring.cmd import parser
from hashring import exception
from hashring import membership
from hashring import published
from hashring import ring as ring_mod

REGISTERING = ('config_file', 'group')

EXPIRY = (
    'A record written by this command goes down after dead_after seconds '
    '(the [hashring] option) unless it heartbeats again: run "hashring '
    'heartbeat" more often than that, or "hashring join --foreground".'
)


def register(sub: Any) -> None:
    """Add the membership commands to the parent's subparsers."""
    parser.command(
        sub,
        'members',
        list_members,
        'List the members of a group, with their states.',
        ('config_file', 'members', 'group', 'format'),
    )
    for name, text in (
        ('join', 'Register HOST as a member of the group.'),
        ('heartbeat', 'Refresh the record of a registered HOST.'),
        ('drain', 'Keep HOST alive but take it off the ring.'),
        ('undrain', 'Put a draining HOST back on the ring.'),
        ('leave', "Remove HOST's own record."),
    ):
        p = parser.command(sub, name, change, text, REGISTERING, epilog=EXPIRY)
        p.add_argument('--host', required=True, help='the member to act for')
        if name == 'join':
            p.add_argument(
                '--weight',
                type=parser.number(int, 1, high=membership.base.MAX_WEIGHT),
                help="the member's share of the ring, as a whole number "
                '(default: the weight it has, or 1 for a new member)',
            )
            p.add_argument(
                '--foreground',
                action='store_true',
                help='stay running and heartbeat until SIGTERM or SIGINT, '
                'then leave (the only way to join with the tooz driver, '
                'whose members live as long as their session)',
            )


def list_members(args: argparse.Namespace) -> int:
    """Print the members of a group, their states and heartbeat ages."""
    snapshot = parser.source(args).get_members(args.group)
    now = snapshot.read_at
    claimed = published.live_claims(snapshot)
    data: dict[str, Any] = {
        'group': snapshot.group,
        'generation': snapshot.generation,
        'converged': _converged(args, snapshot),
        'members': [],
    }
    rows: list[Sequence[Any]] = [
        ('MEMBER', 'STATE', 'WEIGHT', 'HEARTBEAT AGE', 'RING')
    ]
    for m in snapshot:
        age = (
            None
            if m.last_heartbeat is None
            else round((now - m.last_heartbeat).total_seconds(), 1)
        )
        presumed = m.id in snapshot.presumed
        # The ring it applies and, while it moves, the one it intends.
        rings: dict[str, Any] = (
            {}
            if m.claim is None
            else {
                k: None if spec is None else spec.fingerprint
                for k, spec in (
                    ('applied', m.claim.applied),
                    ('intended', m.claim.intended),
                )
            }
        )
        if m.claim is not None and m.claim.settling:
            rings['settling'] = True
        data['members'].append(
            {
                'id': m.id,
                'name': m.name,
                'state': m.state.value,
                'weight': m.weight,
                'age': age,
                'presumed': presumed,
                'claim': rings or None,
                # Which process wrote it: two that joined as one member
                # differ here (the earlier stops).
                'incarnation': m.incarnation,
            }
        )
        rows.append(
            (
                # The name the ring places, which is the id in most cases.
                m.name,
                f'{m.state.value} (presumed)' if presumed else m.state.value,
                m.weight,
                '-' if age is None else f'{age}s',
                _ring_column(rings),
            )
        )
    output.emit(args, data, rows)
    if args.format == 'table':
        print(
            f'group {snapshot.group}: '
            f'{output.counted(len(snapshot), "member")}, '
            f'{len(snapshot.up())} up, generation {snapshot.generation}'
        )
        if claimed:
            print(
                f'rings: every live member applies {data["converged"]}'
                if data['converged']
                else 'rings: not converged, members apply or move to '
                + output.counted(
                    len({s.fingerprint for c in claimed for s in c.rings()}),
                    'ring',
                )
            )
        if snapshot.presumed:
            print(
                f'{len(snapshot.presumed)} presumed alive: silent for '
                f'longer than dead_after, but a backend outage explains it'
            )
    return 0


def _converged(args: argparse.Namespace, snapshot: Any) -> str | None:
    """Return the ring every live member applies, if they agree.

    As :meth:`hashring.RingManager.convergence` tells it: a member that
    publishes nothing applies the ring of the current membership.
    """
    placed = snapshot.placed()
    if not placed:
        return None
    settings = parser.conf(args).hashring
    current = ring_mod.HashRing(
        placed, settings.partition_exponent, settings.hash_function
    )
    return published.convergence_of(snapshot, current)[0]


def _ring_column(rings: dict[str, Any]) -> str:
    """Say what a member applies: ``fp``, ``fp -> fp`` moving, or ``-``.

    ``(settling)`` follows while its rings hand no node to anyone.
    """
    applied = rings.get('applied') or '-'
    intended = rings.get('intended')
    column = f'{applied} -> {intended}' if intended else applied
    return f'{column} (settling)' if rings.get('settling') else column


def change(args: argparse.Namespace) -> int:
    """Join, heartbeat, drain or leave for --host, and say which."""
    source = parser.source(args)
    foreground = getattr(args, 'foreground', False)
    group = args.group or source.default_group
    host = membership.canonical_id(args.host)
    if not source.durable_records and not foreground:
        source.close()
        raise parser.UsageError(
            f'hashring {args.command}: the {source.name} driver keeps a '
            f'member only while the session that joined it runs, so a '
            f'command that exits cannot '
            + (
                'join: use "hashring join --foreground"'
                if args.command == 'join'
                else f'{args.command} for it: do it in the member itself'
            )
        )
    said = ''
    try:
        if args.command == 'join':
            if _join(source, args) is membership.State.DRAINING:
                said = ' (draining: "hashring undrain" puts it on the ring)'
            if foreground:
                return _stay(source, host, group)
        else:
            try:
                source.resume(args.host, args.group)
            except exception.UnknownMemberError:
                raise parser.UsageError(
                    f'hashring {args.command}: {host!r} is not a member of '
                    f'group {group} of {source.backend}: join it first '
                    f'("hashring join --host {args.host}")'
                ) from None
            {
                'heartbeat': source.heartbeat,
                'drain': source.drain,
                'undrain': source.undrain,
                'leave': source.leave,
            }[args.command]()
    finally:
        # Without --foreground, the record stays behind and expires after
        # dead_after unless heartbeat runs again (EXPIRY).
        source.close()
    print(f'{args.command}: {host} in {group}{said}')
    return 0


def _join(source: Any, args: argparse.Namespace) -> Any:
    """Join --host; a host with a record keeps its attributes and claim.

    A running member's record may be joined again from here: rewriting it
    whole would drop the attributes and handoff claim the member
    publishes, and put a draining host back on the ring (``undrain`` does
    that).

    :returns: the state the record had, or None where none was read.
    """
    try:
        found = source.resume(args.host, args.group)
    except (exception.UnknownMemberError, exception.MembershipUnavailable):
        # No record to keep; or none read, as where the file driver's file
        # is still to be made: the join's own write then fails in an
        # outage, and makes the file.
        found = None
    weight = args.weight or (found.weight if found else 1)
    attributes = found.attributes if found else None
    source.join(args.host, args.group, weight=weight, attributes=attributes)
    return found.state if found else None


def _stay(source: Any, host: str, group: str) -> int:
    """Heartbeat until SIGTERM or SIGINT, then leave."""
    stop = threading.Event()
    received = []

    def handler(signum: int, frame: Any) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handler)
    print(
        f'join: {host} in {group}; heartbeating every '
        f'{source.option("heartbeat_interval"):g}s until SIGTERM or SIGINT',
        flush=True,
    )
    # A timeout, so that the main thread wakes to run the handler.
    while not stop.wait(1.0):
        pass
    source.leave()
    print(f'leave: {host} in {group} ({received[0]})', flush=True)
    return 0
