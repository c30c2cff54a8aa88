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

"""Configuration options of hashring, in the ``[hashring]`` group.

Applications register them on their own ``ConfigOpts`` with
:func:`register_opts`; ``oslo-config-generator --namespace hashring`` and
``.. show-options:: hashring`` find them through :func:`list_opts`.
"""

import hashlib
import math
from typing import Any

from oslo_config import cfg

from hashring import exception
from hashring import hashing
from hashring import ring

GROUP = 'hashring'

_ring_opts = [
    cfg.IntOpt(
        'partition_exponent',
        default=ring.DEFAULT_PARTITION_EXPONENT,
        min=0,
        max=ring.MAX_PARTITION_EXPONENT,
        help='Each member gets 2 ** partition_exponent points on the ring '
        'per unit of weight. More points spread keys more evenly (see the '
        'balance table in the user guide) at the cost of memory and build '
        'time. Every service that shares a ring must use the same value, '
        'and changing it remaps keys, so change it on all services at once. '
        'The default matches tooz, Ironic and Nova.',
    ),
    cfg.StrOpt(
        'hash_function',
        default=hashing.DEFAULT_HASH_FUNCTION,
        choices=sorted(
            name
            for name in hashlib.algorithms_guaranteed
            if not name.startswith('shake_')
        ),
        help='The hashlib algorithm that places members and keys on the '
        'ring. Every service that shares a ring must use the same one, and '
        'changing it remaps nearly every key: stop all services, change it '
        'everywhere, then start them. md5 is used only for placement, '
        'never for security, and works on FIPS hosts.',
    ),
]


_membership_opts = [
    cfg.StrOpt(
        'membership_driver',
        default='static',
        help='The membership source that lists the live members: static '
        '(the members option), file (a JSON file shared by the services of '
        'one host), sql (a database table), tooz (a tooz coordination '
        'backend such as etcd, Redis or ZooKeeper) or callable (a function '
        'of the service, such as one over its own services table).',
    ),
    cfg.StrOpt(
        'group',
        default='default',
        regex=r'^[A-Za-z0-9_.:@-]{1,255}\Z',
        help='The group this service joins and reads when none is named, '
        'such as a conductor group or a shard.',
    ),
    cfg.ListOpt(
        'members',
        default=[],
        help='For the static driver: the members, each "name" or '
        '"name:weight", for example "compute-1,compute-2:2". They are '
        'always up.',
    ),
    cfg.StrOpt(
        'membership_file',
        help='For the file driver: the path of the JSON membership file. '
        'Every service on the host must name the same file, on a local '
        'file system that supports locks.',
    ),
    cfg.StrOpt(
        'membership_file_mode',
        default='0600',
        regex=r'^0?[0-7][0-7][0-7]\Z',
        help='For the file driver: the permission bits, in octal, of the '
        'membership file and its lock file, less the umask. The default '
        'lets only the owner read and write them; 0660 lets the services '
        'of one group share them. Other users must not be able to write '
        'the lock (they could take it and freeze every member), so '
        'world-writable modes are refused.',
    ),
    cfg.StrOpt(
        'connection',
        secret=True,
        help='For the sql driver: an SQLAlchemy database URL, such as '
        'sqlite:////var/lib/hashring/members.sqlite or '
        'postgresql+psycopg2://user:password@host/dbname. The table is '
        'created on first use.',
    ),
    cfg.StrOpt(
        'backend_url',
        secret=True,
        help='For the tooz driver: a tooz backend URL, such as '
        'etcd3+http://127.0.0.1:2379, redis://127.0.0.1:6379 or '
        'zookeeper://127.0.0.1:2181.',
    ),
    cfg.StrOpt(
        'membership_function',
        help='For the callable driver: the import path of the function that '
        'lists the members, "package.module:function". Code that builds '
        'its source passes the function itself instead.',
    ),
    cfg.FloatOpt(
        'heartbeat_interval',
        default=10.0,
        min=0.01,
        max=86400.0,
        help='Seconds between the heartbeats of a registered member.',
    ),
    cfg.FloatOpt(
        'dead_after',
        default=60.0,
        min=0.02,
        max=7 * 86400.0,
        help='Seconds without a heartbeat after which a member is down and '
        'leaves the ring. It must be at least twice heartbeat_interval; '
        'lower it to move the work of a crashed service sooner, raise it '
        'to ride out slow heartbeats.',
    ),
    cfg.IntOpt(
        'retention',
        default=7 * 24 * 3600,
        min=60,
        max=365 * 24 * 3600,
        help='Seconds after which the records of members that stopped '
        'heartbeating are deleted (sql and file drivers), by every member '
        'at its first heartbeat and about ten times per period after.',
    ),
    cfg.FloatOpt(
        'read_timeout',
        default=10.0,
        min=0.1,
        max=3600.0,
        help='Seconds a membership backend may take to answer before it is '
        'reported unavailable.',
    ),
    cfg.FloatOpt(
        'settle_after',
        min=0.02,
        max=7 * 86400.0,
        help='Seconds a member\'s record must have stood, unbroken, before '
        'it takes nodes that no live peer hands it (the first members of '
        'a group, or nodes free after the backend lost its records). It '
        'must be long enough for every live peer to write its record '
        'again after such a loss, and at least twice heartbeat_interval. '
        'Unset, it is read_timeout plus two heartbeat intervals: a peer\'s '
        'call may hang that long on a connection to the old server.',
    ),
]


_manager_opts = [
    cfg.FloatOpt(
        'reset_interval',
        default=15.0,
        min=0.0,
        help='Seconds a ring manager serves a cached ring before it reads '
        'the membership again. Lower values notice joins and leaves '
        'sooner at the cost of more reads; the default matches Ironic.',
    ),
    cfg.FloatOpt(
        'max_stale',
        default=300.0,
        min=0.0,
        help='Seconds a ring manager keeps serving its last good ring while '
        'the membership backend is unavailable, with a warning. After that '
        'it raises RingUnavailable rather than act on a ring that may be '
        'wrong.',
    ),
    cfg.StrOpt(
        'orphan_policy',
        default='adopt',
        choices=[
            ('adopt', 'the ring owner manages an orphaned node'),
            ('report', 'an orphaned node is reported and managed by nobody'),
        ],
        help='What the ownership filter does with a node whose instance '
        'belongs to no live member (its host is down or gone, or the '
        'instance no longer exists). Orphans are reported either way.',
    ),
    cfg.FloatOpt(
        'max_peak_to_mean',
        default=1.5,
        min=0.0,
        help='The ring manager logs a warning, once per change of a '
        "group's members, when the busiest member carries more than this "
        'many times its share of the hash space, with the '
        'partition_exponent that would meet the bound and the share of '
        'keys changing to it would move. At exponent 5 the load is about '
        '1.28 at 10 members and 1.5 to 1.7 at 100 to 1,000. 0 turns the '
        'check off.',
    ),
    cfg.BoolOpt(
        'handoff',
        default=True,
        help='Run the handoff protocol: a service whose ring manager has '
        'joined the membership as its host publishes the ring it applies, '
        'and takes a node the ring gives it only once no live peer\'s '
        'published ring still gives it to that peer, so that no node is '
        'managed twice while rings converge. Services that publish nothing '
        '(older releases) are taken to apply the current ring. Turn it off '
        'only to get the plain ring\'s behaviour back.',
    ),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the ``[hashring]`` options on a configuration object.

    Registering twice is harmless.

    :param conf: the application's :class:`oslo_config.cfg.ConfigOpts`.
    """
    conf.register_opts(_all_opts(), group=GROUP)


def ensure(conf: cfg.ConfigOpts | None) -> cfg.ConfigOpts:
    """Return a configuration with the options registered.

    :param conf: an application's configuration, or None for one that holds
        only the defaults (no configuration file is read).
    :returns: ``conf``, or a new :class:`oslo_config.cfg.ConfigOpts`.
    """
    if conf is None:
        conf = cfg.ConfigOpts()
        conf(
            [],
            project='hashring',
            default_config_files=[],
            default_config_dirs=[],
        )
    register_opts(conf)
    return conf


def option_names() -> set[str]:
    """Return the names of the ``[hashring]`` options."""
    return {opt.dest for opt in _all_opts()}


def check(name: str, value: Any) -> Any:
    """Return an option's value if the option accepts it, else raise.

    The one check for values from a configuration file and for keyword
    arguments that override them, so that neither can pass ``nan``, a
    negative interval or a string where a number belongs.

    :param name: the option's name.
    :param value: its value; None for an option that has no default.
    :returns: the value, converted as oslo.config converts it.
    :raises hashring.exception.InvalidArgumentError: the value is not of
        the option's type, is out of its bounds, or is not finite.
    """
    opt = {o.dest: o for o in _all_opts()}[name]
    if value is None:
        return None
    if isinstance(opt, (cfg.IntOpt, cfg.FloatOpt)):
        kinds = (int,) if isinstance(opt, cfg.IntOpt) else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise exception.InvalidArgumentError(
                f'[{GROUP}] {name} must be a number, not {value!r}'
            )
        if not math.isfinite(value):
            raise exception.InvalidArgumentError(
                f'[{GROUP}] {name} must be finite, not {value!r}'
            )
    elif isinstance(opt, cfg.ListOpt):
        if isinstance(value, (list, tuple)):
            # As given: oslo.config's List would str() every entry, and
            # make b'x' the member "b'x'".  Its user checks the entries.
            return list(value)
        if not isinstance(value, str):
            raise exception.InvalidArgumentError(
                f'[{GROUP}] {name} must be a list or a string, not {value!r}'
            )
    elif isinstance(opt, cfg.BoolOpt) and not isinstance(value, bool):
        raise exception.InvalidArgumentError(
            f'[{GROUP}] {name} must be True or False, not {value!r}'
        )
    elif isinstance(opt, cfg.StrOpt) and not isinstance(value, str):
        raise exception.InvalidArgumentError(
            f'[{GROUP}] {name} must be a string, not {value!r}'
        )
    try:
        return opt.type(value)
    except (TypeError, ValueError) as exc:
        raise exception.InvalidArgumentError(
            f'Invalid [{GROUP}] {name} {value!r}: {exc}'
        ) from exc


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """Return the options of hashring, for oslo.config's tools.

    The sample-config generator and the Sphinx extension call this through
    the ``oslo.config.opts`` entry point named ``hashring``.  It returns the
    option objects themselves, not copies, so that ``set_defaults`` hooks
    take effect.

    :returns: a list of ``(group name, [options])`` pairs.
    """
    return [(GROUP, _all_opts())]


def _all_opts() -> list[cfg.Opt]:
    return _ring_opts + _membership_opts + _manager_opts
