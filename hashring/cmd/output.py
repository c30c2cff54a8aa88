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

"""The ``hashring`` command's output: tables, JSON, progress and plots."""

import argparse
from collections.abc import Sequence
import json
import os
import sys
import time
from typing import Any

from hashring.cmd import parser
from hashring import exception

PLOT_HINT = (
    f'install matplotlib ({exception.install_hint("matplotlib")}) to use '
    f'--plot'
)

#: The file types matplotlib's Agg back end writes, by extension.
PLOT_FORMATS = (
    'eps jpeg jpg pdf pgf png ps raw rgba svg svgz tif tiff webp'.split()
)


def emit(
    args: argparse.Namespace, data: Any, rows: list[Sequence[Any]]
) -> None:
    """Print data as JSON, or rows (the first a heading) as a table."""
    if args.format == 'json':
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
        return
    table(rows)


def table(rows: list[Sequence[Any]]) -> None:
    """Print rows as aligned columns, control characters escaped."""
    text = [[printable(str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in text) for i in range(len(text[0]))]
    for row in text:
        print('  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def counted(count: int, noun: str) -> str:
    """Return ``count`` and ``noun``, plural unless the count is one."""
    return f'{count} {noun}' if count == 1 else f'{count} {noun}s'


def printable(text: str) -> str:
    """Return text with control characters escaped, for a terminal.

    A node id can hold anything; printed raw, an escape sequence in it
    would drive the operator's terminal.
    """
    if text.isprintable():
        return text
    return ''.join(
        c if c.isprintable() else c.encode('unicode_escape').decode('ascii')
        for c in text
    )


class Progress:
    """A progress bar on stderr, for runs longer than two seconds."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.shown = False
        self.enabled = sys.stderr.isatty()

    def __call__(self, fraction: float) -> None:
        if not self.enabled or time.monotonic() - self.started < 2:
            return
        bar = '#' * int(fraction * 30)
        sys.stderr.write(f'\r[{bar:<30}] {fraction:4.0%}')
        sys.stderr.flush()
        self.shown = True

    def done(self) -> None:
        if self.shown:
            sys.stderr.write('\r' + ' ' * 40 + '\r')


def plot_arg(text: str) -> str:
    """An argparse type: a file name ending in a picture type."""
    kind = os.path.splitext(text)[1].lstrip('.').lower()
    if kind not in PLOT_FORMATS:
        raise argparse.ArgumentTypeError(
            f'{text!r} does not end in a picture type: '
            f'{", ".join(PLOT_FORMATS)}'
        )
    return text


def pyplot() -> Any:
    """Return matplotlib's pyplot, drawing to files, or say what to install.

    :raises UsageError: matplotlib is not installed.
    """
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use('Agg')
        from matplotlib import pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise parser.UsageError(f'hashring: {PLOT_HINT}') from None
    return plt


def save(fig: Any, path: str) -> None:
    """Write a figure to path, or raise a UsageError naming it."""
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise parser.UsageError(
            f'hashring: cannot write {path}: {exc.strerror or exc}'
        ) from exc
