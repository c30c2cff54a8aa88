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

"""Ring changes, delivered to subscribers once each and in order."""

import collections
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Iterable
import dataclasses
import logging
import threading
from typing import Any

from hashring import _validate
from hashring import exception
from hashring.membership import identity
from hashring import movement
from hashring import ring as ring_mod

LOG = logging.getLogger('hashring.manager')

Keys = Iterable[Any] | Callable[[], Iterable[Any]] | None


@dataclasses.dataclass(frozen=True)
class RingChange:
    """What changed when a group's ring was rebuilt.

    ``gained`` and ``lost`` are about the manager's ``host`` and the keys
    the subscriber registered: the keys it now owns, each with its previous
    owner (None for the first ring), and the keys it no longer owns, each
    with its new owner.
    """

    group: str
    old: ring_mod.HashRing | None
    new: ring_mod.HashRing
    gained: dict[Any, Any]
    lost: dict[Any, Any]


def checked_keys(keys: Keys) -> Keys:
    """Return keys to read at every change: iterators made a list.

    :param keys: None, a callable, or a collection of keys.
    :raises hashring.exception.InvalidArgumentError: ``keys`` is none of
        them (a single ``str`` is no collection).
    """
    if keys is None or callable(keys):
        return keys
    listed = _validate.collection('keys', keys)
    # An iterator would be spent by the first change, and every later one
    # would report no key.  (A collection is read at each change.)
    return keys if isinstance(keys, Collection) else listed


class Notifier:
    """The subscribers of a ring manager, and the changes owed to them.

    :param host: the canonical id whose gains and losses are reported, or
        None to report none.
    """

    def __init__(self, host: str | None) -> None:
        self.host = host
        self._subscribers: list[tuple[Callable[[RingChange], None], Keys]] = []
        # Changes wait here, in generation order, to be delivered one at a
        # time: refreshes on two threads must not deliver 3 before 2.
        self._pending: collections.deque[
            tuple[str, ring_mod.HashRing | None, ring_mod.HashRing]
        ] = collections.deque()
        self._delivery = threading.Lock()

    def subscribe(
        self, callback: Callable[[RingChange], None], keys: Keys
    ) -> None:
        """Add a subscriber (see :meth:`hashring.RingManager.subscribe`).

        :raises hashring.exception.InvalidArgumentError: ``callback`` is
            not callable, or ``keys`` is neither None, a callable nor a
            collection (a single ``str`` is none).
        """
        if not callable(callback):
            raise exception.InvalidArgumentError(
                f'A subscriber is a callable, not {callback!r:.80}'
            )
        self._subscribers.append((callback, checked_keys(keys)))

    def queue(
        self,
        group: str,
        old: ring_mod.HashRing | None,
        new: ring_mod.HashRing,
    ) -> None:
        """Owe every subscriber a change; call it under the manager's lock."""
        self._pending.append((group, old, new))

    def after_fork(self) -> None:
        """Forget what a parent's thread was delivering."""
        self._delivery = threading.Lock()
        self._pending.clear()

    def deliver(self) -> None:
        """Deliver the pending changes, in order, unless a thread already is.

        A thread that finds another delivering leaves its change to it.  A
        callback that refreshes a ring itself queues its change, which the
        loop delivers after the callback returns.
        """
        while self._pending and self._delivery.acquire(blocking=False):
            try:
                while self._pending:
                    group, old, new = self._pending.popleft()
                    self._notify(group, old, new)
            finally:
                self._delivery.release()

    def _notify(
        self,
        group: str,
        old: ring_mod.HashRing | None,
        new: ring_mod.HashRing,
    ) -> None:
        for callback, keys in list(self._subscribers):
            try:
                gained: dict[Any, Any] = {}
                lost: dict[Any, Any] = {}
                if keys is not None and self.host is not None:
                    wanted = _validate.collection(
                        'keys', keys() if callable(keys) else keys
                    )
                    before = old if old is not None else new.with_members([])
                    mine = identity.names_of(
                        {*before.members, *new.members}, self.host
                    )
                    for key, move in movement.changes(
                        before, new, wanted
                    ).items():
                        if move.new in mine:
                            gained[key] = move.old
                        elif move.old in mine:
                            lost[key] = move.new
                callback(RingChange(group, old, new, gained, lost))
            except Exception:
                LOG.exception(
                    'A ring change subscriber failed for group %s', group
                )
