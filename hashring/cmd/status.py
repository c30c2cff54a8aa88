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

"""``hashring status``: every group at a glance."""

import argparse
from collections.abc import Sequence
from typing import Any

from hashring.cmd import inputs
from hashring.cmd import output
from hashring.cmd import parser
from hashring import status as status_mod


def register(sub: Any) -> None:
    """Add the status command to the parent's subparsers."""
    p = parser.command(
        sub,
        'status',
        run,
        'Show each group: members by state, the ring each applies, whether '
        'they agree and since when, the balance, and warnings.',
        parser.RING,
    )
    p.add_argument(
        '--keys',
        metavar='FILE',
        help='keys to measure the balance over, one per line (default: '
        "exactly, over the ring's own arcs)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the status of the group, or of every group."""
    config = parser.conf(args)
    source = parser.source(args, config)
    if args.group or args.members is not None:
        snapshots = {args.group: source.get_members(args.group)}
    else:
        snapshots = source.get_groups()
    keys = inputs.keys(args) if args.keys else None
    settings = config.hashring
    found = [
        status_mod.group_status(
            snapshot,
            settings.partition_exponent
            if args.partition_exponent is None
            else args.partition_exponent,
            args.hash_function or settings.hash_function,
            keys,
            heartbeat_interval=settings.heartbeat_interval,
        )
        for _, snapshot in sorted(snapshots.items(), key=lambda i: i[0] or '')
    ]
    rows: list[Sequence[Any]] = [
        ('GROUP', 'MEMBER', 'STATE', 'WEIGHT', 'RING')
    ]
    for s in found:
        for m in s.members:
            ring = m.applied or '-'
            if m.intended:
                ring = f'{ring} -> {m.intended}'
            rows.append((s.group, m.name, m.state, m.weight, ring))
    output.emit(args, {'groups': [s.to_dict() for s in found]}, rows)
    if args.format == 'table':
        for s in found:
            print(f'group {s.group}: {parser.tally(s.states)}; {_summary(s)}')
            for warning in s.warnings:
                print(f'warning: group {s.group}: {warning}')
    return 0


def _summary(s: status_mod.GroupStatus) -> str:
    """Say what a group's ring is, whether it is applied, and its load."""
    if not s.states.get('up'):
        return 'no member is up, so no ring'
    if not any(m.applied or m.intended for m in s.members):
        # Convergence takes a member that publishes nothing to apply the
        # current ring: with none publishing, it says nothing.
        agreed = 'no member publishes the ring it applies'
    elif s.converged:
        agreed = f'converged on {s.converged}' + (
            f' since {s.since:%Y-%m-%d %H:%M:%S}Z' if s.since else ''
        )
    else:
        agreed = 'not converged'
    over = (
        f'over {s.balance_keys:,} keys'
        if s.balance_keys
        else "over the ring's arcs"
    )
    return (
        f'ring {s.fingerprint}, {agreed}; peak-to-mean '
        f'{s.peak_to_mean:.2f} {over}'
    )
