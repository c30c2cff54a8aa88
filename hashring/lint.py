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

"""Identity lints: member names that are probably a mistake.

A ring places members under the names they registered with, so two
spellings of one host, or a host registered with and without its port, are
two members that each take a share of the keys, and one of them may be
no service at all.  The ring manager runs these checks each time a
group's members change and logs what they find, once per change.
"""

from collections.abc import Iterable
from collections.abc import MutableMapping
import logging

from hashring.membership import base as membership_base

LOG = logging.getLogger(__name__)


def findings(names: Iterable[str], expected: int | None = None) -> list[str]:
    """Return what looks wrong about a group's member names.

    Runtime complexity: ``O(m)`` for ``m`` names.

    :param names: the names a ring places, as registered.
    :param expected: the most members the group should have, or None.
    :returns: one sentence per finding, in a stable order; empty when all
        is well.
    """
    names = sorted(names)
    found = []
    spellings: dict[str | None, list[str]] = {}
    for name in names:
        spellings.setdefault(membership_base.canonical_of(name), []).append(
            name
        )
    for same in spellings.values():
        if len(same) > 1:
            found.append(
                f'members {", ".join(map(repr, same))} differ only by case '
                f'or white space: one host under several names?'
            )
    for name in names:
        host, sep, port = name.rpartition(':')
        if (
            sep
            and port.isdigit()
            and membership_base.canonical_of(host) in spellings
        ):
            found.append(
                f'members {host!r} and {name!r} are one host with and '
                f'without a port: is one of them stale?'
            )
    if expected is not None and len(names) > expected:
        found.append(
            f'{len(names)} members, more than the {expected} expected'
        )
    return found


def check(
    group: str,
    names: Iterable[str],
    expected: int | None,
    seen: MutableMapping[str, frozenset[str]],
) -> list[str]:
    """Log the findings about a group's names, once per set of names.

    :param group: the group, for the message.
    :param names: the names its ring places.
    :param expected: as for :func:`findings`.
    :param seen: the last names checked per group, updated here.
    :returns: the findings, or an empty list when these names were
        checked last time.
    """
    names = frozenset(names)
    if seen.get(group) == names:
        return []
    seen[group] = names
    found = findings(names, expected)
    for finding in found:
        LOG.warning('Group %s: %s', group, finding)
    return found
