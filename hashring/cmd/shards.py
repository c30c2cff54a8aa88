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

"""``hashring shards plan``: nodes into balanced Ironic shards."""

import argparse
from collections.abc import Sequence
from typing import Any

from hashring.cmd import inputs
from hashring.cmd import output
from hashring.cmd import parser
from hashring import shards as shards_mod


def register(sub: Any) -> None:
    """Add shards, with plan, to the parent's subparsers."""
    p = parser.command(sub, 'shards', usage, 'Plan Ironic shards.')
    parser.add_common(p, ('format',))
    plans = p.add_subparsers(metavar='ACTION', title='actions')
    plans.hashring_prefix = 'shards '  # type: ignore[attr-defined]
    q = parser.command(
        plans,
        'plan',
        plan,
        'Assign nodes to balanced shards, moving the fewest, and print the '
        'commands that carry it out.',
        ('format',),
    )
    q.add_argument(
        '--nodes',
        required=True,
        metavar='FILE',
        help='a JSON list or a CSV file of nodes with the columns id, shard '
        '(the current one, may be empty) and instance_id',
    )
    q.add_argument(
        '--shards',
        required=True,
        type=parser.members_arg,
        metavar='A,B:2,C',
        help='the desired shards, as name or name:weight',
    )
    q.add_argument(
        '--move-instances',
        action='store_true',
        help='let nodes with instances move too (by default they stay in '
        'their shard while it is kept)',
    )
    q.add_argument(
        '--compute-host',
        action='append',
        metavar='SHARD=HOST',
        help='the nova-compute service of a shard, for the nova-manage '
        'commands; repeatable',
    )


def usage(args: argparse.Namespace) -> int:
    raise parser.UsageError('hashring shards: say what to do: plan')


def plan(args: argparse.Namespace) -> int:
    """Print the plan: shards before and after, moves and commands."""
    hosts = {}
    for item in args.compute_host or ():
        shard, sep, host = item.partition('=')
        if not sep or not shard or not host:
            raise parser.UsageError(
                f'hashring shards plan: --compute-host {item!r} is not '
                'SHARD=HOST'
            )
        hosts[shard] = host
    result = shards_mod.plan(
        inputs.read_records(args.nodes),
        args.shards,
        move_instances=args.move_instances,
    )
    lines = shards_mod.commands(result, hosts)
    rows: list[Sequence[Any]] = [
        ('SHARD', 'WEIGHT', 'BEFORE', 'AFTER', 'TARGET')
    ]
    for shard in sorted({*result.before, *result.after}):
        rows.append(
            (
                shard,
                args.shards.get(shard, '-'),
                result.before.get(shard, 0),
                result.after.get(shard, '-') if shard in result.after else '-',
                result.targets.get(shard, '-'),
            )
        )
    output.emit(
        args,
        {
            'after': result.after,
            'before': result.before,
            'targets': result.targets,
            'peak_to_mean': round(result.peak_to_mean, 6),
            'ideal': round(result.ideal, 6),
            'moves': [
                {
                    'node': m.node,
                    'from': m.old,
                    'to': m.new,
                    'instance': m.instance,
                }
                for m in result.moves
            ],
            'commands': lines,
            'warnings': result.warnings,
        },
        rows,
    )
    if args.format == 'table':
        moved_instances = sum(1 for m in result.moves if m.instance)
        print(
            f'{len(result.moves)} of {len(result.assignment)} nodes move '
            f'({moved_instances} with an instance); peak-to-mean '
            f'{result.peak_to_mean:.3f} (best possible {result.ideal:.3f})'
        )
        for warning in result.warnings:
            print(f'warning: {warning}')
        if lines:
            print()
            print('\n'.join(lines))
    return 0
