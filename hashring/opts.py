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

from oslo_config import cfg

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


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the ``[hashring]`` options on a configuration object.

    :param conf: the application's :class:`oslo_config.cfg.ConfigOpts`.
    """
    conf.register_opts(_ring_opts, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """Return the options of hashring, for oslo.config's tools.

    The sample-config generator and the Sphinx extension call this through
    the ``oslo.config.opts`` entry point named ``hashring``.  It returns the
    option objects themselves, not copies, so that ``set_defaults`` hooks
    take effect.

    :returns: a list of ``(group name, [options])`` pairs.
    """
    return [(GROUP, _ring_opts)]
