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

"""The ``hashring`` command's parser: options and their types.

The options that several commands share (``--members``, ``--format``...)
are accepted before or after the command's name; each command offers only
those it uses, and one given where it means nothing is refused.
"""

import argparse
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
import copy
import math
import os
from typing import Any

from oslo_config import cfg

from hashring import exception
from hashring import membership
from hashring.membership import base as membership_base
from hashring.membership import static
from hashring import opts
from hashring import ring as ring_mod
from hashring import simulation


class UsageError(Exception):
    """A bad argument, reported on one line with exit status 2."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Say each option's default, where it has one worth saying."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, [], argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault('formatter_class', HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> Any:
        raise UsageError(f'{self.prog}: {message}')


def members_arg(text: str) -> dict[str, int]:
    """An argparse type: members as ``a,b:2,c``."""
    try:
        return static.parse_members(text)
    except exception.HashRingError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def number(
    kind: type, low: float, above: bool = False, high: float | None = None
) -> Callable[[str], Any]:
    """Return an argparse type: a finite number within bounds."""
    what = 'an integer' if kind is int else 'a finite number'

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f'{text!r} is not {what}'
            ) from None
        bad = (
            not math.isfinite(value)
            or value < low
            or (above and value == low)
            or (high is not None and value > high)
        )
        if bad:
            bound = f'above {low:g}' if above else f'at least {low:g}'
            if high is not None:
                # Whole, written out: 'g' would give a million as 1e+06.
                shown = int(high) if float(high).is_integer() else high
                bound += f' and at most {shown}'
            raise argparse.ArgumentTypeError(f'{text!r} is not {what} {bound}')
        return value

    return parse


positive = number(float, 0, above=True)
count = number(int, 1)
exponent = number(int, 0, high=ring_mod.MAX_PARTITION_EXPONENT)


#: The options several commands share: flags and argparse keywords.  The
#: help says the default, because the parsers' own default is SUPPRESS.
COMMON: dict[str, tuple[str, dict[str, Any]]] = {
    'config_file': (
        '--config-file',
        {
            'action': 'append',
            'metavar': 'FILE',
            'help': 'an oslo.config file with a [hashring] section; '
            'repeatable (default: none, so the driver is static)',
        },
    ),
    'members': (
        '--members',
        {
            'type': members_arg,
            'metavar': 'A,B:2,C',
            'help': 'the members directly, as name or name:weight '
            '(default: read the configured membership source)',
        },
    ),
    'group': (
        '--group',
        {'help': 'the membership group (default: [hashring] group)'},
    ),
    'partition_exponent': (
        '--partition-exponent',
        {
            'type': exponent,
            'metavar': 'N',
            'help': 'points per member and unit of weight are 2**N '
            '(default: [hashring] partition_exponent, 5)',
        },
    ),
    'hash_function': (
        '--hash-function',
        {
            'metavar': 'NAME',
            'help': 'a hashlib algorithm (default: [hashring] '
            'hash_function, md5)',
        },
    ),
    'format': (
        '--format',
        {
            'choices': ['table', 'json'],
            'help': 'aligned columns or JSON (default: table)',
        },
    ),
}

#: The values of the shared options that were not given.
DEFAULTS: dict[str, Any] = {
    'config_file': [],
    'members': None,
    'group': None,
    'partition_exponent': None,
    'hash_function': None,
    'format': 'table',
}

#: The shared options of a command that reads a ring.
RING = (
    'config_file',
    'members',
    'group',
    'partition_exponent',
    'hash_function',
    'format',
)


def add_common(parser: argparse.ArgumentParser, names: Iterable[str]) -> None:
    """Offer shared options, keeping any value given before the command.

    The default is SUPPRESS, so that a subcommand's parser does not
    overwrite a value given to its parent with its own default.
    """
    for name in names:
        flag, kwargs = COMMON[name]
        parser.add_argument(flag, default=argparse.SUPPRESS, **kwargs)


def finish(args: argparse.Namespace) -> argparse.Namespace:
    """Refuse shared options the command does not use; fill in defaults.

    :raises UsageError: a shared option was given before a command that
        does not take it.
    """
    uses = args.uses
    for name in COMMON:
        if name in vars(args) and name not in uses:
            raise UsageError(
                f'hashring {args.command}: {COMMON[name][0]} is not an '
                f'option of this command'
            )
        if name in uses and name not in vars(args):
            # A copy: --config-file's list must not be shared between runs.
            setattr(args, name, copy.copy(DEFAULTS[name]))
    return args


# From arguments to objects.


def conf(args: argparse.Namespace) -> cfg.ConfigOpts:
    """Return the configuration that --config-file names."""
    for path in args.config_file:
        if not os.path.isfile(path):
            raise UsageError(
                f'hashring: --config-file {path!r} is not a readable file'
            )
    result = cfg.ConfigOpts()
    opts.register_opts(result)
    result(
        [f'--config-file={f}' for f in args.config_file],
        project='hashring',
        default_config_files=[],
        default_config_dirs=[],
    )
    return result


def source(
    args: argparse.Namespace, config: cfg.ConfigOpts | None = None
) -> membership_base.MembershipSource:
    """Return the membership source: --members, or the configured one."""
    config = conf(args) if config is None else config
    overrides = {'group': args.group} if args.group else {}
    if getattr(args, 'members', None) is not None:
        return membership.load(
            'static',
            config,
            members=[f'{m}:{w}' for m, w in args.members.items()],
            **overrides,
        )
    return membership.load(conf=config, **overrides)


def read_group(
    args: argparse.Namespace, config: cfg.ConfigOpts | None = None
) -> tuple[membership_base.MembershipSource, Any]:
    """Return the membership source and its read of the group."""
    found = source(args, config)
    return found, found.get_members(args.group)


def ring(
    args: argparse.Namespace,
    read: tuple[membership_base.MembershipSource, Any] | None = None,
) -> ring_mod.HashRing:
    """Return the ring of the members up, with the options' exponent.

    :param args: the parsed options.
    :param read: :func:`read_group`'s answer, where the caller has it (it
        shows the members the ring is of): the group is not read again.
    """
    config = conf(args)
    members = args.members
    if members is None:
        found, snapshot = read_group(args, config) if read is None else read
        # Under their registered names: the services' rings are of those.
        members = snapshot.placed()
        if not members and (len(snapshot) or found.name != 'static'):
            # A configured source whose group has no member up: saying
            # how to configure one would send the operator the wrong way.
            where = f'group {snapshot.group} of {found.backend}'
            states = tally(snapshot.states())
            raise UsageError(
                f'hashring: no member of {where} is up ({states}), so there '
                'is no ring'
                if states
                else f'hashring: {where} has no member, so there is no ring'
            )
    if not members:
        raise UsageError(
            'hashring: no members: pass --members a,b:2,c, or configure '
            '[hashring] membership_driver in a --config-file'
        )
    exponent = (
        config.hashring.partition_exponent
        if args.partition_exponent is None
        else args.partition_exponent
    )
    function = args.hash_function or config.hashring.hash_function
    return ring_mod.HashRing(members, exponent, function)


def add_keys(parser: argparse.ArgumentParser, default: int) -> None:
    """Offer --keys FILE, or --count generated keys."""
    src = parser.add_mutually_exclusive_group()
    src.add_argument('--keys', metavar='FILE', help='the keys, one per line')
    src.add_argument(
        '--count',
        type=number(int, 1, high=simulation.MAX_KEYS),
        default=default,
        help='how many reproducible UUID keys to generate, without --keys',
    )


def command(
    sub: Any,
    name: str,
    func: Callable[[argparse.Namespace], int],
    text: str,
    uses: Iterable[str] = (),
    **kwargs: Any,
) -> argparse.ArgumentParser:
    """Add a command to sub, offering the shared options it uses.

    :param sub: the parent's ``add_subparsers()`` action.
    :param name: the command's name, as typed.
    :param func: the command; it takes the parsed arguments and returns the
        exit status.
    :param text: its one-line help.
    :param uses: the names of the shared options (``COMMON``) it takes.
    :param kwargs: more keywords of ``add_parser``, such as ``epilog``.
    :returns: the command's parser, for its own options.
    """
    uses = tuple(uses)
    p: argparse.ArgumentParser = sub.add_parser(
        name, help=text, description=text, **kwargs
    )
    add_common(p, uses)
    prefix = getattr(sub, 'hashring_prefix', '')
    p.set_defaults(func=func, uses=frozenset(uses), command=prefix + name)
    return p


def tally(counts: Mapping[str, int], ordered: bool = True) -> str:
    """Return counts as ``3 up, 1 draining``: by name, unless not ordered."""
    items = sorted(counts.items()) if ordered else counts.items()
    return ', '.join(f'{n} {name}' for name, n in items)
