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

"""hashring: consistent hash rings for services that share work.

A tooz-compatible partitioned md5 ring (:class:`HashRing`), with a drop-in
for ``tooz.hashring`` in :mod:`hashring.compat`.
"""

import logging

from hashring import compat  # noqa: F401  (hashring.compat.ToozHashRing)
from hashring import exception  # noqa: F401  (hashring.exception.*)
from hashring import hashing
from hashring import manager
from hashring import movement
from hashring import ownership
from hashring import ring

HashRing = ring.HashRing
OwnershipFilter = ownership.OwnershipFilter
RingManager = manager.RingManager
Move = movement.Move
changes = movement.changes
partition_of = hashing.partition_of

__all__ = [
    'HashRing',
    'Move',
    'OwnershipFilter',
    'RingManager',
    'changes',
    'compat',
    'exception',
    'partition_of',
]

# A library never configures logging for its host application.
logging.getLogger(__name__).addHandler(logging.NullHandler())
