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

"""The static driver: a fixed list of members from the configuration."""

from collections.abc import Iterable
from collections.abc import Mapping
import datetime
from typing import Any

from oslo_config import cfg

from hashring import _validate
from hashring import exception
from hashring.membership import base


def parse_members(spec: Iterable[str] | Mapping[str, int]) -> dict[str, int]:
    """Parse ``name`` / ``name:weight`` entries into names and weights.

    The weight follows the last colon, so a name that holds one, such as
    ``host:port``, needs its weight spelled out: ``conductor-1:8089:1``.

    :param spec: a list such as ``['compute-1', 'compute-2:2']``, or a
        mapping of name to weight.
    :returns: each name, exactly as given, to its weight, in the given
        order.
    :raises hashring.exception.InvalidMemberError: a bad name or weight, or
        two names that are one member once canonical.
    """
    if isinstance(spec, str):
        spec = spec.split(',')
    if isinstance(spec, Mapping):
        pairs = list(spec.items())
    else:
        pairs = []
        for entry in spec:
            if not isinstance(entry, str):
                # Not str(entry): b'x' would become the member "b'x'".
                raise exception.InvalidMemberError(
                    entry, 'member ids must be str'
                )
            name, sep, weight = entry.rpartition(':')
            if not sep:
                pairs.append((weight, 1))
                continue
            try:
                pairs.append((name, int(weight)))
            except ValueError:
                raise exception.InvalidMemberError(
                    entry, f'weight {weight!r} is not an integer'
                ) from None
    members: dict[str, int] = {}
    seen: dict[str, str] = {}
    for name, weight in pairs:
        member_id = base.canonical_id(name)
        if member_id in seen:
            _validate.repeated(name, seen[member_id])
        seen[member_id] = name
        members[name] = base.check_weight(name, weight)
    return members


class StaticSource(base.MembershipSource):
    """Members and weights from ``[hashring] members``, always up.

    For operators who want a fixed peer list, and for tests.  Every group
    has the same members, and registering is not supported.

    :param conf: as for :class:`~hashring.membership.MembershipSource`.
    :param overrides: option values, for example
        ``members=['compute-1', 'compute-2:2']``.
    """

    name = 'static'

    def __init__(
        self, conf: cfg.ConfigOpts | None = None, **overrides: Any
    ) -> None:
        super().__init__(conf, **overrides)
        self._members = parse_members(self.option('members'))

    def _read(self, group: str) -> tuple[list[base.Record], datetime.datetime]:
        return [
            base.Record(name, base.State.UP, weight, {}, None)
            for name, weight in self._members.items()
        ], base.utcnow()

    def _read_groups(
        self, groups: list[str] | None
    ) -> tuple[dict[str, list[base.Record]], datetime.datetime]:
        # Every group has the same members; "every group" is the default.
        records, now = self._read(self.default_group)
        return {
            group: records
            for group in ([self.default_group] if groups is None else groups)
        }, now
