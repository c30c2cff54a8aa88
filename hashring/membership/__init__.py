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

"""Membership sources: where the live members of a ring come from.

:func:`load` loads a driver by name from the ``hashring.membership``
entry-point namespace; every driver is a :class:`MembershipSource`.
"""

import importlib.metadata
from typing import Any

from oslo_config import cfg
import stevedore

from hashring import exception
from hashring.membership import base
from hashring import opts

NAMESPACE = 'hashring.membership'

MembershipSource = base.MembershipSource
Member = base.Member
Snapshot = base.Snapshot
State = base.State
canonical_id = base.canonical_id

__all__ = [
    'NAMESPACE',
    'Member',
    'MembershipSource',
    'Snapshot',
    'State',
    'canonical_id',
    'load',
]


def load(
    name: str | None = None, conf: cfg.ConfigOpts | None = None, **kwargs: Any
) -> base.MembershipSource:
    """Load a membership driver by name.

    :param name: the entry-point name (``static``, ``file``, ``sql``,
        ``tooz`` or a third party's); ``[hashring] membership_driver``
        when None.
    :param conf: the configuration holding the ``[hashring]`` options.
    :param kwargs: option values that override ``conf``.
    :returns: the driver, ready to use.
    :raises hashring.exception.DriverNotFound: no driver has that name; the
        error lists those that are installed.
    :raises hashring.exception.MissingDependency: the driver, or the
        backend its options name, needs a module that is not installed; the
        error names the extra that installs it.
    :raises hashring.exception.InvalidArgumentError: the driver refused its
        options.
    """
    if name is None:
        name = opts.ensure(conf).hashring.membership_driver

    def reraise(manager: Any, entrypoint: Any, exc: BaseException) -> None:
        # stevedore would log a driver's own error and then report that no
        # driver was found; the caller needs the real reason.
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            raise exception.MissingDependency(
                f'The {name!r} membership driver', exc.name
            ) from None
        raise exc

    try:
        manager = stevedore.DriverManager(
            NAMESPACE,
            name,
            invoke_on_load=True,
            invoke_kwds={'conf': conf, **kwargs},
            on_load_failure_callback=reraise,
        )
    except stevedore.exception.NoMatches:
        raise exception.DriverNotFound(name, *_installed()) from None
    driver = manager.driver
    if not isinstance(driver, base.MembershipSource):
        raise exception.InvalidArgumentError(
            f'The {name!r} entry point in {NAMESPACE} is not a '
            f'MembershipSource'
        )
    return driver


def _installed() -> tuple[list[str], dict[str, str]]:
    """Return the drivers that load, and those missing a module's hint."""
    available, unusable = [], {}
    for ep in importlib.metadata.entry_points(group=NAMESPACE):
        try:
            ep.load()
        except ModuleNotFoundError as exc:
            unusable[ep.name] = exception.install_hint(exc.name or '?')
        else:
            available.append(ep.name)
    return sorted(set(available)), unusable
