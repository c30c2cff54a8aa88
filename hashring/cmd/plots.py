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

"""The charts of ``hashring simulate``, drawn with matplotlib to files.

:func:`hashring.cmd.output.pyplot` says what to install where matplotlib
is missing, and :func:`hashring.cmd.output.save` names a file it cannot
write.
"""

from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any

from hashring.cmd import output
from hashring import convergence


def loads(
    path: str,
    by_exponent: Iterable[tuple[int, Mapping[Any, int]]],
    members: int,
    keys: int,
) -> None:
    """Draw the keys of each member, least loaded first, per exponent.

    :param path: the picture file to write.
    :param by_exponent: per partition exponent simulated, in order, the
        keys of each member.
    :param members: how many members the simulation placed.
    :param keys: how many keys it placed.
    :raises hashring.cmd.parser.UsageError: matplotlib is missing, or the
        file cannot be written.
    """
    plt = output.pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    for exponent, load in by_exponent:
        ax.plot(sorted(load.values()), label=f'exponent {exponent}')
    ax.set_xlabel('members, by load')
    ax.set_ylabel('keys')
    ax.set_title(f'Load per member, {members} members, {keys} keys')
    ax.legend()
    output.save(fig, path)


def timelines(
    path: str, by_handoff: Mapping[bool, convergence.Timeline], title: str
) -> None:
    """Draw the nodes managed twice and by none over a simulation's time.

    :param path: the picture file to write.
    :param by_handoff: a :class:`hashring.convergence.Timeline` without the
        handoff protocol (False) and with it (True), or either alone, of
        the same event; a line marks its time.
    :param title: the chart's title.
    :raises hashring.cmd.parser.UsageError: matplotlib is missing, or the
        file cannot be written.
    """
    plt = output.pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    for handoff, timeline in by_handoff.items():
        t = [p[0] for p in timeline.points]
        suffix = ', handoff' if handoff else ''
        for column, label in ((1, 'managed twice'), (2, 'managed by none')):
            ax.step(
                t,
                [p[column] for p in timeline.points],
                where='post',
                label=label + suffix,
                linestyle='--' if handoff else '-',
            )
    event = next(iter(by_handoff.values()))
    ax.axvline(event.event_at, color='grey', linestyle=':', label=event.event)
    ax.set_xlabel('seconds')
    ax.set_ylabel('nodes')
    ax.set_title(title)
    ax.legend()
    output.save(fig, path)
