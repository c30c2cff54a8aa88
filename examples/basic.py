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

"""Spread baremetal nodes over conductors, then add a conductor.

Run it with ``python examples/basic.py``; it needs no server.
"""

import uuid

import hashring

# Nodes are named by UUID; make a reproducible set of them.
nodes = [str(uuid.uuid5(uuid.NAMESPACE_OID, f'node-{i}')) for i in range(1000)]

ring = hashring.HashRing(['conductor-1', 'conductor-2', 'conductor-3'])
print(f'ring {ring.fingerprint}: {ring!r}')

node = nodes[0]
print(f'{node} -> {ring.get_node(node)}')
print(f'with two replicas: {ring.get_nodes(node, replicas=2)}')

owners = ring.map_keys(nodes)
for member in ring.members:
    print(f'{member}: {owners.count(member)} nodes')

# A fourth conductor joins: only the nodes it takes over move.
bigger = ring.with_members([*ring.members, 'conductor-4'])
moved = hashring.changes(ring, bigger, nodes)
print(f'conductor-4 joins: {len(moved)} of {len(nodes)} nodes move')
assert all(move.new == 'conductor-4' for move in moved.values())
