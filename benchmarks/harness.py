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

"""How the benchmarks time and weigh things, so that verdicts are stable.

On a shared two-core machine, wall-clock minima still flip verdicts
between runs: another process takes the core for a round, or the CPU
clocks down for a while.  So every comparison here runs its contenders
in the same rounds, in a shuffled order each round, times each in the
CPU time of this thread, and reports the median and the range of the
per-round ratios: a slow stretch of the machine slows both sides of a
round alike.  Within a round, each case's calls run in blocks, and the
blocks of every case in one shuffled order, so that the two sides of a
ratio are timed over the whole round rather than a slice of it each.
"""

import dataclasses
import datetime
import gc
import importlib.metadata
import os
import platform
import random
import statistics
import subprocess
import time
import tracemalloc

import hashring

#: Each case runs, per round, as many calls as take about this long.
ROUND_SECONDS = 0.05

#: A case's calls in a round run in at most this many blocks.  One block
#: per case let a ratio turn on the tenth of a second each side ran in:
#: its per-round ratios spread over 0.30 to 0.46 of their median (the
#: median over benchmarks.run's timing verdicts, in four runs), against
#: 0.17 and 0.25 in two runs with blocks.
BLOCKS = 8


@dataclasses.dataclass(frozen=True)
class Ratio:
    """The per-round ratios of one case's time to another's."""

    median: float
    low: float
    high: float
    #: every round's ratio, in the order of the rounds
    rounds: tuple = ()

    @classmethod
    def of(cls, per_round):
        """Return the Ratio of some per-round ratios (one, for memory)."""
        per_round = tuple(per_round)
        return cls(
            statistics.median(per_round),
            min(per_round),
            max(per_round),
            per_round,
        )

    def rounds_within(self, most):
        """Return in how many rounds the ratio was at most ``most``."""
        return sum(r <= most for r in self.rounds)

    def __format__(self, spec):
        return (
            f'{self.median:{spec or ".2f"}}x '
            f'({self.low:{spec or ".2f"}}-{self.high:{spec or ".2f"}})'
        )


@dataclasses.dataclass(frozen=True)
class Timings:
    """Seconds per call of each case, round by round."""

    seconds: dict

    def median(self, name):
        """Return the median seconds per call of a case."""
        return statistics.median(self.seconds[name])

    def ratio(self, name, other):
        """Return the per-round ratios of one case to another."""
        return Ratio.of(
            a / b for a, b in zip(self.seconds[name], self.seconds[other])
        )


def calls_per_round(func, seconds=ROUND_SECONDS):
    """Return how many calls of func take at least ``seconds``.

    A small ring builds in a fraction of a millisecond: too short to time
    one call at a time without the clock's own grain.
    """
    number = 1
    while True:
        start = time.thread_time()
        for _ in range(number):
            func()
        if time.thread_time() - start >= seconds or number >= 1 << 20:
            return number
        number *= 2


def interleaved(cases, rounds, seed=3, per=None):
    """Time cases in interleaved rounds, shuffled, in thread CPU time.

    Each round runs every case's calls (:func:`calls_per_round`) in up
    to :data:`BLOCKS` blocks, the blocks of all cases in a shuffled order.

    :param cases: ``{name: callable}``.
    :param rounds: how many rounds; each runs every case's calls once.
    :param seed: the shuffle's seed, so that two runs take one order.
    :param per: ``{name: n}``: divide those cases' times by ``n`` (a
        case that loops over ``n`` keys, timed per key).
    :returns: :class:`Timings`, seconds per call (or per ``n``).
    """
    per = per or {}
    numbers = {name: calls_per_round(func) for name, func in cases.items()}
    seconds = {name: [] for name in cases}
    # (case, calls): each case's calls split as evenly as they go.
    blocks = [
        (name, number * (i + 1) // parts - number * i // parts)
        for name, number in numbers.items()
        for parts in [min(BLOCKS, number)]
        for i in range(parts)
    ]
    rng = random.Random(seed)
    for _ in range(rounds):
        rng.shuffle(blocks)
        spent = dict.fromkeys(cases, 0.0)
        for name, calls in blocks:
            func = cases[name]
            # Each block from a clean slate, as when one case ran at a
            # time: else a full collection that one block's garbage is
            # due falls on whichever block comes next.
            gc.collect()
            start = time.thread_time()
            for _ in range(calls):
                func()
            spent[name] += time.thread_time() - start
        for name, number in numbers.items():
            seconds[name].append(spent[name] / number / per.get(name, 1))
    return Timings(seconds)


def memory(build):
    """Return the bytes a built object keeps alive, and the build's peak.

    :param build: a callable that returns the object.
    :returns: ``(retained, peak)`` in bytes, as tracemalloc counts them.
    """
    gc.collect()
    tracemalloc.start()
    obj = build()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del obj
    return retained, peak


def machine():
    """Return the date, the processor and the versions measured."""
    model = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        'date': datetime.date.today().isoformat(),
        'cpu': model,
        'python': platform.python_version(),
        'hashring': _hashring_version(),
        'tooz': importlib.metadata.version('tooz'),
        'uhashring': importlib.metadata.version('uhashring'),
        'numpy': _version('numpy'),
    }


def _hashring_version():
    """Return hashring's installed version, and the commit that ran.

    An editable install keeps the version pbr gave it when it was
    installed, however many commits later it runs: the commit of the
    checkout (``-dirty`` with changes not committed) says which code was
    measured.
    """
    version = importlib.metadata.version('oslo.hashring')
    root = os.path.dirname(os.path.dirname(os.path.abspath(hashring.__file__)))
    try:
        found = subprocess.run(
            ['git', '-C', root, 'describe', '--always', '--dirty'],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return version  # not a checkout, or no git
    return f'{version} at {found.stdout.strip()}'


def _version(distribution):
    """Return a distribution's version, or 'none' where it is missing."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return 'none'


def rst(rows):
    """Format rows of strings as a reStructuredText simple table."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    rule = '  '.join('=' * w for w in widths)
    lines = [rule]
    for n, r in enumerate(rows):
        lines.append('  '.join(c.rjust(w) for c, w in zip(r, widths)))
        if n == 0:
            lines.append(rule)
    lines.append(rule)
    return lines
