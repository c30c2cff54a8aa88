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

"""``hashring explain``: who owns a key, and why."""

import argparse
from collections.abc import Sequence
from typing import Any

from hashring.cmd import output
from hashring.cmd import owned
from hashring.cmd import parser
from hashring import explain as explain_mod


def register(sub: Any) -> None:
    """Add the explain command to the parent's subparsers."""
    p = parser.command(
        sub,
        'explain',
        run,
        'Explain who owns each KEY: the ring, its members, the owner and '
        'its successors, and with --nodes the rule that decides.',
        parser.RING,
    )
    p.add_argument('key', nargs='+', metavar='KEY', help='a key (node id)')
    p.add_argument(
        '--nodes',
        metavar='FILE',
        help='the nodes, as "hashring owned" reads them, to say which '
        'ownership rule decides who manages each key',
    )


def run(args: argparse.Namespace) -> int:
    """Print an explanation per key."""
    read = None if args.members is not None else parser.read_group(args)
    # One read of the group: the ring and the members shown are of it.
    ring = parser.ring(args, read)
    snapshot = None if read is None else read[1]
    nodes = None
    if args.nodes:
        nodes = {n['id']: n for n in owned.read_nodes(args.nodes)}
    found = explain_mod.explain(ring, args.key, snapshot, nodes)
    data = {'explanations': [e.to_dict() for e in found]}
    rows: list[Sequence[Any]] = [
        ('KEY', 'OWNER', 'THEN', 'PARTITION', 'MANAGED BY', 'RULE')
    ]
    for e in found:
        rows.append(
            (
                e.key,
                e.owners[0],
                ', '.join(map(str, e.owners[1:3]))
                + (', ...' if len(e.owners) > 3 else ''),
                '-' if e.partition is None else e.partition,
                e.managed_by or ('-' if e.reason is None else 'nobody'),
                _rule(e),
            )
        )
    output.emit(args, data, rows)
    if args.format == 'table' and found:
        first = found[0]
        # The command builds the ring afresh: it has no generation of a
        # manager's to show (the JSON keeps the field).
        of = 'the members given' if first.group is None else first.group
        bits = ring.partition_exponent
        print(
            f'ring {first.fingerprint} of {of}'
            + ('' if bits is None else f', partitions of {bits} bits')
            + ': '
            + ', '.join(f'{m.name} {m.state}' for m in first.members)
        )
        for e in found:
            if e.acknowledged is False:
                print(
                    f'{e.key}: its owner {e.owners[0]} has not yet '
                    f'acknowledged ring {e.fingerprint} (handoff)'
                )
    return 0


def _rule(e: explain_mod.Explanation) -> str:
    if e.reason is None:
        return '-'
    if e.instance_id is None:
        return e.reason
    return f'{e.reason} ({e.instance_id} on {e.instance_host or "nobody"})'
