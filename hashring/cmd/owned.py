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

"""``hashring owned``: which nodes a host manages, and why."""

import argparse
from collections.abc import Sequence
from typing import Any

from hashring.cmd import inputs
from hashring.cmd import output
from hashring.cmd import parser
from hashring import membership
from hashring.membership import identity
from hashring import ownership

#: The ring's members named when --host is not among them: a mistyped
#: host is told apart from a few names.
_LISTED = 8


def register(sub: Any) -> None:
    """Add the owned command to the parent's subparsers."""
    p = parser.command(
        sub,
        'owned',
        run,
        'Show which nodes HOST manages, with the reason for each.',
        parser.RING,
    )
    p.add_argument('--host', required=True, help='the service to ask for')
    p.add_argument(
        '--nodes',
        required=True,
        metavar='FILE',
        help='a JSON list or a CSV file of nodes, with the columns id, '
        'instance_id and instance_host',
    )
    p.add_argument(
        '--orphan-policy',
        choices=['adopt', 'report'],
        default='adopt',
        help='whether the ring owner manages a node whose instance names a '
        'host that is not a member',
    )


def read_nodes(path: str) -> list[dict[str, Any]]:
    """Return the nodes of a JSON or CSV file, each with its three fields.

    :raises UsageError: the file cannot be read, or a node has no id or a
        field that is not a string.
    """
    nodes = inputs.read_records(path)
    if not all(n.get('id') for n in nodes):
        raise parser.UsageError(
            f'hashring: every node in {path} needs an "id"'
        )
    for node in nodes:
        for field in ('instance_id', 'instance_host'):
            node[field] = node.get(field) or None
        for field in ('id', 'instance_id', 'instance_host'):
            value = node[field]
            if value is not None and not isinstance(value, str):
                raise parser.UsageError(
                    f'hashring: node {node["id"]!r:.60} in {path}: '
                    f'{field} must be a string, not {value!r:.60}'
                )
    return nodes


def run(args: argparse.Namespace) -> int:
    """Print each node's decision for --host, and a summary."""
    nodes = read_nodes(args.nodes)
    ring = parser.ring(args)
    host = membership.canonical_id(args.host)
    hosts = {
        n['instance_id']: n['instance_host']
        for n in nodes
        if n['instance_id'] and n['instance_host']
    }
    mine = [i for i, h in hosts.items() if membership.canonical_id(h) == host]
    flt = ownership.OwnershipFilter(
        host,
        ring=ring,
        instance_host=hosts.get,
        orphan_policy=args.orphan_policy,
    )
    result = flt.filter(nodes, mine)
    on_ring = bool(identity.names_of(ring.members, host))
    rows: list[Sequence[Any]] = [('NODE', 'OWNED', 'REASON', 'RING OWNER')]
    decisions = []
    for node in nodes:
        d = result.decisions[node['id']]
        decisions.append(
            {
                'id': d.node_id,
                'owned': d.owned,
                'reason': d.reason.value,
                'ring_owner': d.ring_owner,
                'instance_id': d.instance_id,
                'instance_host': d.instance_host,
            }
        )
        rows.append(
            (
                d.node_id,
                'yes' if d.owned else 'no',
                d.reason.value,
                d.ring_owner,
            )
        )
    counts = {
        r.value: n
        for r, n in result.counts().items()
        # The handoff protocol's reasons, only where it runs.
        if n
        or r not in (ownership.Reason.HANDOFF, ownership.Reason.HANDING_OVER)
    }
    output.emit(
        args,
        {
            'host': host,
            'owned': [n['id'] for n in result.owned],
            'decisions': decisions,
            'orphans': result.orphans,
            'counts': counts,
            'fingerprint': result.fingerprint,
            'on_ring': on_ring,
        },
        rows,
    )
    if args.format == 'table':
        print(
            f'{host} manages {len(result.owned)} of {len(nodes)} nodes; '
            + parser.tally(counts, ordered=False)
            + f'; ring {result.fingerprint}'
        )
        if not on_ring:
            # A draining service, or a --host mistyped.
            names = sorted(map(str, ring.members))
            listed = ', '.join(names[:_LISTED]) + (
                f', ... ({len(names)} in all)' if len(names) > _LISTED else ''
            )
            print(
                f'{host} is not on the ring ({listed}): it manages only the '
                'nodes of its own instances'
            )
    return 0
