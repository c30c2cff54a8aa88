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

"""When the handoff protocol calls its backend again after a failure."""

from collections.abc import Callable
from collections.abc import Iterator
import contextlib

from hashring import exception

#: The least time, in seconds, before a backend call that failed is tried
#: again (see :class:`Backoff`).
RETRY_AFTER = 1.0


class Backoff:
    """When the protocol's backend calls, failing, are tried again.

    A caller asking one key at a time would otherwise wait for the
    backend's timeout at every key in an outage, and a service of many
    groups at every group: their backend is one.  After a failed call
    the backend is tried again after as long as that call took (at least
    :data:`RETRY_AFTER`, at most ``most``): a frozen backend holds such
    a caller for half its time at most, and one that refused the call is
    tried again soon.

    :param clock: the protocol's monotonic clock.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        # Until when the backend is not tried again, and why; or None.
        self.failed: tuple[float, exception.MembershipUnavailable] | None = (
            None
        )

    def check(self, backend: str) -> None:
        """Raise at once while a failed call is not to be tried again.

        :raises hashring.exception.MembershipUnavailable: it is not yet
            time to try the backend again.
        """
        failed = self.failed
        if failed is not None:
            left = failed[0] - self.clock()
            if left > 0:
                raise exception.MembershipUnavailable(
                    backend,
                    f'tried again in {left:.1f}s, after a call that '
                    f'failed: {failed[1]}',
                    failed[1],
                )

    def failure(
        self,
        error: exception.MembershipUnavailable,
        started: float,
        most: float,
    ) -> None:
        """Note a call begun at ``started`` that failed with ``error``."""
        now = self.clock()
        wait = min(max(RETRY_AFTER, now - started), most)
        self.failed = (now + wait, error)

    def success(self) -> None:
        """Note a call that worked: the next one tries the backend."""
        self.failed = None

    @contextlib.contextmanager
    def calling(self, backend: str, most: float) -> Iterator[None]:
        """Make backend calls in a block, noting whether they worked.

        :param backend: the backend, for the error raised at once.
        :param most: the most time before a failed call is tried again.
        :raises hashring.exception.MembershipUnavailable: at once, while
            a failed call is not to be tried again (:meth:`check`).
        """
        self.check(backend)
        started = self.clock()
        try:
            yield
        except exception.MembershipUnavailable as exc:
            self.failure(exc, started, most)
            raise
        self.success()
