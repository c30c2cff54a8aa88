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

"""The ``hashring`` command's inputs: keys and nodes read from files.

A file that cannot be read, or does not hold what the option asks for, is
a :class:`hashring.cmd.parser.UsageError` naming it: never read as none.
"""

import argparse
import csv
import io
import json
from typing import Any

from hashring.cmd import parser
from hashring import simulation

UsageError = parser.UsageError


def read_text(path: str) -> str:
    """Return a file's text, or raise a UsageError naming the file."""
    try:
        with open(path, 'rb') as f:
            # An editor's or a spreadsheet's byte order mark is not text.
            return f.read().decode('utf-8-sig')
    except OSError as exc:
        raise UsageError(
            f'hashring: cannot read {path}: {exc.strerror or exc}'
        ) from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f'hashring: {path} is not UTF-8: {exc}') from exc


def read_records(path: str) -> list[dict[str, Any]]:
    """Return the records of a JSON list or a CSV file with a header.

    :raises UsageError: the file cannot be read, is neither, or holds
        something other than records.
    """
    text = read_text(path)
    if not text.strip():
        # An export that failed, not "no nodes" ([] or a header says so).
        raise UsageError(
            f'hashring: {path} is empty: give [] or a CSV header for no '
            'records'
        )
    try:
        try:
            found = json.loads(text)
        except (ValueError, RecursionError):
            # Parsed once: anything but a JSON list or object is CSV.
            if text.lstrip()[0] in '[{':
                raise
            found = list(csv.DictReader(io.StringIO(text, newline='')))
    except (ValueError, RecursionError, csv.Error) as exc:
        raise UsageError(
            f'hashring: {path} is not JSON or CSV: {exc}'
        ) from exc
    if not isinstance(found, list) or not all(
        isinstance(r, dict) for r in found
    ):
        raise UsageError(
            f'hashring: {path} is not a list of records but '
            f'{type(found).__name__} {str(found)[:80]}'
        )
    return found


def keys(args: argparse.Namespace) -> list[str]:
    """Return the keys of --keys FILE, or --count generated ones."""
    if args.keys:
        found = [
            line.strip()
            for line in read_text(args.keys).splitlines()
            if line.strip()
        ]
        if not found:
            raise UsageError(f'hashring: {args.keys} holds no keys')
        return found
    return simulation.keys(args.count)
