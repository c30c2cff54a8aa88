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

"""The ``hashring`` command: look up, inspect and simulate rings."""

from collections.abc import Sequence
import importlib.metadata
import os
import sys

from oslo_config import cfg

from hashring.cmd import diff
from hashring.cmd import explain
from hashring.cmd import lookup
from hashring.cmd import members
from hashring.cmd import owned
from hashring.cmd import parser
from hashring.cmd import shards
from hashring.cmd import simulate
from hashring.cmd import status
from hashring import exception


def version() -> str:
    """Return the installed version of the distribution."""
    try:
        return importlib.metadata.version(exception.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return 'unknown (not installed)'


def build_parser() -> parser.Parser:
    """Return the parser of the ``hashring`` command and its commands."""
    top = parser.Parser(
        prog='hashring',
        description='Look up, inspect and simulate consistent hash rings. '
        'The options shown here may also follow the command.',
        epilog='"hashring COMMAND --help" describes a command.',
    )
    top.add_argument(
        '--version',
        action='version',
        version=f'%(prog)s {version()}',
        help="show the version of the distribution and exit",
    )
    parser.add_common(top, parser.COMMON)
    top.set_defaults(func=None, uses=frozenset(), command='')
    sub = top.add_subparsers(metavar='COMMAND', title='commands')
    lookup.register(sub)
    explain.register(sub)
    members.register(sub)
    status.register(sub)
    owned.register(sub)
    diff.register(sub)
    simulate.register(sub)
    shards.register(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``hashring`` command; returns its exit status."""
    top = build_parser()
    try:
        args = top.parse_args(argv)
        if args.func is None:
            # Bare "hashring": what it can do, as a usage error.
            sys.stderr.write(top.format_help())
            return 2
        status: int = args.func(parser.finish(args))
        return status
    except parser.UsageError as exc:
        print(exc, file=sys.stderr)
    except (exception.HashRingError, cfg.Error) as exc:
        print(f'hashring: {exc}', file=sys.stderr)
    except BrokenPipeError:
        # The reader went away (| head): say so once, where it can be seen,
        # and keep Python from a second error as it flushes at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        try:
            print('hashring: standard output was closed', file=sys.stderr)
        except OSError:
            pass  # stderr went to the same closed pipe
    return 2


if __name__ == '__main__':
    sys.exit(main())
