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

"""The benchmarks run: each one's smoke run, in seconds.

Their figures are not checked here (tests assert behaviour, never
timings), but each benchmark checks its contenders' answers against each
other as it runs, and a benchmark that no longer runs is found here
rather than on the day its figures are needed.
"""

import pathlib
import subprocess
import sys

from hashring.tests import base

ROOT = pathlib.Path(__file__).resolve().parents[2]


class BenchmarksTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        if not (ROOT / 'benchmarks' / 'run.py').exists():
            self.skipTest('the benchmarks are not in this tree')

    def run_benchmark(self, name, *argv):
        result = subprocess.run(
            [sys.executable, '-m', f'benchmarks.{name}', *argv],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        self.assertEqual(0, result.returncode, result.stderr[-3000:])
        return result.stdout

    def test_run(self):
        out = self.run_benchmark('run', '--quick')
        self.assertRegex(out, r'\d+ of \d+ targets met')

    def test_handoff(self):
        # A service that took nothing would fail the benchmark's check
        # that the protocol owns what the plain ring gives.
        out = self.run_benchmark(
            'handoff', '--nodes', '2000', '--services', '3', '--repeat', '1'
        )
        self.assertIn('3 services, 2,000 nodes', out)
        self.assertIn('first call after a ring change', out)

    def test_huge(self):
        out = self.run_benchmark(
            'huge',
            '--members',
            '10',
            '--exponent',
            '5',
            '--keys',
            '2000',
            '--rounds',
            '1',
        )
        self.assertIn('10 members at exponent 5: 320 points', out)
        self.assertIn('map_keys/get_node', out)

    def test_shards(self):
        out = self.run_benchmark(
            'shards', '--nodes', '2000', '--shards', '20', '--repeat', '1'
        )
        self.assertRegex(out, r'first .* yes')

    def test_converge(self):
        out = self.run_benchmark(
            'converge', '--services', '3', '--nodes', '300'
        )
        self.assertIn('crash', out)
