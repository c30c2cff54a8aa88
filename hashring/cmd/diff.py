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

"""``hashring diff``: what moves from one ring to another."""

import argparse
from collections.abc import Sequence
import sys
from typing import Any

from hashring.cmd import inputs
from hashring.cmd import output
from hashring.cmd import owned
from hashring.cmd import parser
from hashring import movement
from hashring import ring as ring_mod
from hashring import simulation


def register(sub: Any) -> None:
    """Add the diff command to the parent's subparsers."""
    p = parser.command(
        sub,
        'diff',
        run,
        'Show what moves from one ring to another: members, weights or '
        'exponent.',
        parser.RING,
    )
    p.add_argument(
        '--to-members',
        type=parser.members_arg,
        metavar='A,B:2,C',
        help='the members of the new ring (default: the same members)',
    )
    p.add_argument(
        '--to-partition-exponent',
        type=parser.exponent,
        metavar='N',
        help="the new ring's exponent (default: the same exponent)",
    )
    parser.add_keys(p, 10000)
    p.add_argument(
        '--nodes',
        metavar='FILE',
        help='the nodes, as "hashring owned" reads them, with optional '
        'provision_state and maintenance fields: the keys are their ids, '
        'and the moves are split by what makes them expensive (an '
        'instance, active, maintenance), with the takeovers per member',
    )
    p.add_argument(
        '--max-moves',
        type=parser.number(int, 0),
        metavar='N',
        help='exit with status 1 when more than N keys (or nodes) move, '
        'for change-review scripts',
    )


def run(args: argparse.Namespace) -> int:
    """Print the moves by (from, to) and each member's load before/after."""
    old = parser.ring(args)
    exponent = (
        old.partition_exponent
        if args.to_partition_exponent is None
        else args.to_partition_exponent
    )
    to_members = old.members if args.to_members is None else args.to_members
    new = ring_mod.HashRing(to_members, exponent, old.hash_function)
    nodes = owned.read_nodes(args.nodes) if args.nodes else None
    keys = [n['id'] for n in nodes] if nodes is not None else inputs.keys(args)
    counts = simulation.moved(old, new, keys)
    total = sum(counts.values())
    before = dict.fromkeys(sorted({*old.members, *new.members}), 0)
    after = dict(before)
    for owner in old.map_keys(keys):
        before[owner] += 1
    for owner in new.map_keys(keys):
        after[owner] += 1
    rows: list[Sequence[Any]] = [('FROM', 'TO', 'KEYS')]
    rows += [(a, b, n) for (a, b), n in sorted(counts.items())]
    data: dict[str, Any] = {
        'keys': len(keys),
        'moved': total,
        'moves': [
            {'from': a, 'to': b, 'keys': n}
            for (a, b), n in sorted(counts.items())
        ],
        'before': before,
        'after': after,
        'fingerprints': [old.fingerprint, new.fingerprint],
    }
    price = None if nodes is None else movement.cost(old, new, nodes)
    if price is not None:
        data['cost'] = {
            'by_state': price.by_state,
            'takeovers': price.takeovers,
            'handovers': price.handovers,
        }
    too_many = args.max_moves is not None and total > args.max_moves
    if args.max_moves is not None:
        data['max_moves'] = args.max_moves
        data['over_max_moves'] = too_many
    output.emit(args, data, rows)
    if args.format == 'table':
        print()
        output.table(
            [('MEMBER', 'BEFORE', 'AFTER')]
            + [(m, before[m], after[m]) for m in before]
        )
        # No nodes ([] or a CSV header alone) move none.
        share = total / len(keys) if keys else 0.0
        print(f'{total} of {len(keys)} keys move ({share:.2%})')
        if price is not None:
            print(
                'of the nodes that move: '
                + ', '.join(
                    f'{n} {s.replace("_", " ")}'
                    for s, n in price.by_state.items()
                )
            )
            print(
                'takeovers: '
                + (
                    ', '.join(
                        f'{m} {n}' for m, n in sorted(price.takeovers.items())
                    )
                    or 'none'
                )
            )
    if too_many:
        print(
            f'hashring diff: {total} keys move, more than --max-moves '
            f'{args.max_moves}',
            file=sys.stderr,
        )
    return 1 if too_many else 0
