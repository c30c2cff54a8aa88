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

"""Smoke runs of the benchmarks: each runs, small, and reports as it says.

The benchmarks are not part of the package; they run here from the
project's root, where ``benchmarks`` is, in a subprocess each.
"""

import re
import subprocess
import sys

from hashring.tests import base


class BenchmarksTestCase(base.TestCase):
    def test_faults_benchmark_smoke(self):
        # --help answers at once, rather than starting a run.
        helped = _benchmark('faults', '--help', timeout=60)
        self.assertIn('--backends', helped.stdout)
        refused = _benchmark('faults', '--backends', 'db2', check=False)
        self.assertEqual(2, refused.returncode)
        self.assertIn("'db2'", refused.stderr)
        # The file backend needs no server: a freeze of 9 s loses no live
        # member, and the crashed one leaves.
        result = _benchmark('faults', '--backends', 'file', timeout=120)
        rows = re.findall(r'^\| (\w+) \|.*$', result.stdout, re.M)
        self.assertEqual(['backend', 'file'], rows)
        cells = result.stdout.strip().splitlines()[-1].split(' | ')
        self.assertEqual('no', cells[4])
        self.assertNotEqual('never', cells[5])

    def test_shards_benchmark_smoke(self):
        result = _benchmark(
            'shards', '--nodes', '2000', '--shards', '20', '--repeat', '1'
        )
        plans = re.findall(
            r'^(first|grow|shrink) .* (yes|NO)$', result.stdout, re.M
        )
        self.assertEqual(['first', 'grow', 'shrink'], [p for p, _ in plans])
        refused = _benchmark('shards', '--shards', '10', check=False)
        self.assertEqual(2, refused.returncode)
        self.assertIn('--shards must be more than 10, not 10', refused.stderr)

    def test_handoff_benchmark_smoke(self):
        # The benchmark checks that the protocol owns what the plain ring
        # gives (it failed so for a day that nothing ran it).
        result = _benchmark(
            *('handoff', '--nodes', '2000', '--services', '3'),
            *('--repeat', '1'),
            timeout=120,
        )
        self.assertIn('3 services, 2,000 nodes', result.stdout)
        for call in ('steady: ring applied', 'first call after a ring'):
            self.assertRegex(result.stdout, rf'{call}.* \d+ms +\d+ms +[+-]')

    def test_converge_benchmark_smoke(self):
        result = _benchmark(
            'converge', '--services', '3', '--nodes', '300', timeout=120
        )
        events = re.findall(r'^(\w+) +[\d.]+ +\d+ +\d+s$', result.stdout, re.M)
        self.assertEqual(['join', 'leave', 'crash', 'flap', 'pause'], events)

    def test_huge_benchmark_smoke(self):
        # A small ring, with the huge run's reports: the walk tables' size
        # and making time, and the lookups' ratios.
        result = _benchmark(
            'huge',
            *('--members', '20', '--exponent', '5'),
            *('--keys', '2000', '--rounds', '1'),
            timeout=120,
        )
        self.assertIn('20 members at exponent 5: 640 points', result.stdout)
        self.assertRegex(
            result.stdout,
            r'walk tables: \d+\.\d MiB, made on the first walk of three '
            r'replicas in \d+\.\ds',
        )
        for ratio in (
            'get_node/md5',
            'replicas/get_node',
            'map_keys/get_node',
        ):
            self.assertRegex(result.stdout, rf'{ratio}: \d+\.\d\d \(')
        self.assertIn('built without NumPy in', result.stdout)

    def test_benchmark_smoke(self):
        result = _benchmark('run', '--quick')
        for heading in (
            'tooz us',
            'hashring/tooz',
            'pure/tooz',
            'pure peak/tooz',
            'exponent 10',
            'join moved',
        ):
            self.assertIn(heading, result.stdout)
        # Every target, at each of the two sizes of a quick run, and the
        # pure path's build, map_keys and peak besides.
        verdicts = re.findall(
            r'^ +\d+ members, exponent +5: (.*) \S+x \(.*: (?:met|MISSED)$',
            result.stdout,
            re.M,
        )
        self.assertEqual(28, len(verdicts))
        self.assertEqual(14, len(set(verdicts)))
        self.assertEqual(3, len({v for v in verdicts if 'without NumPy' in v}))
        # One round: every verdict is that of every round, and the sum
        # says so.
        met = len(re.findall(r': met$', result.stdout, re.M))
        self.assertRegex(
            result.stdout,
            rf'\n{met} of 28 targets met, {met} of them in every round; '
            rf'{28 - met} missed, {28 - met} of them in every round\.\n',
        )
        # The header names the commit measured, which an editable
        # install's version does not.
        described = subprocess.run(
            ['git', '-C', base.ROOT, 'describe', '--always', '--dirty'],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.assertRegex(
            result.stdout, rf'hashring \S+ at {re.escape(described)},'
        )

    def test_a_verdict_says_when_its_rounds_disagree(self):
        script = (
            'from benchmarks import harness, report\n'
            'ratio = harness.Ratio.of([0.7, 0.9, 0.75, 0.85, 0.78])\n'
            'for most in (0.95, 0.8, 0.76, 0.6):\n'
            '    print(report.verdict(ratio, most))\n'
            'print(report.verdict(harness.Ratio.of([1.1]), 1.0))\n'
        )
        result = _python('-c', script, timeout=60)
        self.assertEqual(
            [
                'met',
                'met, though missed in 2 of 5 rounds',
                'MISSED, though met in 2 of 5 rounds',
                'MISSED',
                'MISSED',
            ],
            result.stdout.splitlines(),
        )


def _benchmark(
    name: str, *args: str, check: bool = True, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m benchmarks.<name> args`` from the project's root."""
    return _python(
        '-m', f'benchmarks.{name}', *args, check=check, timeout=timeout
    )


def _python(
    *args: str, check: bool = True, timeout: float | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python args`` from the project's root, where benchmarks is."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=check,
        cwd=base.ROOT,
        timeout=timeout,
    )
