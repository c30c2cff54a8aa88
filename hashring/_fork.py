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

"""Fork safety: what a child process must not share with its parent.

Services fork workers (oslo.service's ProcessLauncher, Neutron's API
workers).  A child inherits its parent's memory but none of its threads,
so a lock held by a parent's thread stays held for ever in the child, a
heartbeat or worker thread is gone, and a database or coordination
connection is shared by two processes that interleave their bytes on it.
Sources, managers and their workers register here and reset those in the
child, right after the fork.
"""

import logging
import os
from typing import Protocol
import weakref

LOG = logging.getLogger(__name__)


class Forkable(Protocol):
    def _after_fork(self) -> None: ...


# Process-wide by necessity: os.register_at_fork cannot be undone, so one
# hook serves every object, and a weak set lets them be collected.
_objects: 'weakref.WeakSet[Forkable]' = weakref.WeakSet()


def register(obj: Forkable) -> None:
    """Have ``obj._after_fork()`` called in every child forked from now."""
    _objects.add(obj)


def _after_in_child() -> None:
    for obj in list(_objects):
        try:
            obj._after_fork()
        except Exception:
            # The child must start; it logs what it could not reset.
            LOG.exception('Could not reset %r after a fork', obj)


os.register_at_fork(after_in_child=_after_in_child)
