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

"""``hashring lookup``: the owner and replicas of keys."""

import argparse
from collections.abc import Sequence
from typing import Any

from hashring.cmd import output
from hashring.cmd import parser
from hashring import hashing


def register(sub: Any) -> None:
    """Add the lookup command to the parent's subparsers."""
    p = parser.command(
        sub, 'lookup', run, 'Show the owner and replicas of keys.', parser.RING
    )
    p.add_argument('keys', nargs='+', metavar='KEY')
    p.add_argument(
        '--replicas',
        type=parser.count,
        default=1,
        help='how many members to list per key, the owner first',
    )
    p.add_argument(
        '--partition-power',
        type=parser.number(int, 0, high=hashing.MAX_PARTITION_POWER),
        help='bits of the membership-independent partition shown '
        "(default: the ring's partition exponent, as explain shows it)",
    )


def run(args: argparse.Namespace) -> int:
    """Print each key's owner, replicas and partition."""
    ring = parser.ring(args)
    power = args.partition_power
    if power is None:
        # The power explain shows, so that both give a key one partition.
        power = ring.partition_exponent
    data: dict[str, Any] = {
        'fingerprint': ring.fingerprint,
        'partition_power': power,
        'keys': [],
    }
    rows: list[Sequence[Any]] = [('KEY', 'PRIMARY', 'REPLICAS', 'PARTITION')]
    for key in args.keys:
        nodes = ring.get_nodes(key, replicas=args.replicas)
        partition = hashing.partition_of(key, power)
        data['keys'].append(
            {
                'key': key,
                'primary': nodes[0],
                'replicas': nodes,
                'partition': partition,
            }
        )
        rows.append((key, nodes[0], ','.join(map(str, nodes)), partition))
    output.emit(args, data, rows)
    if args.format == 'table':
        print(f'fingerprint {ring.fingerprint}, partitions of {power} bits')
    return 0
