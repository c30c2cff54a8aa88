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

"""The chaos tool (tools/chaos/run.py): its checker, and a short run.

The campaigns run for an hour and more against every server; here one
short run on the file driver (no server) keeps the tool working, and the
checker's rule for double care while a service is stopped is tested on
made-up calls.
"""

import contextlib
import io

import fixtures

from hashring.tests import base
from hashring.tests.functional import fleet

CHAOS = base.ROOT / 'tools' / 'chaos' / 'run.py'


chaos = base.load_script(CHAOS, 'chaos_run')


class CheckerTestCase(base.TestCase):
    """When the checker lets double care go: a stop of one of the two."""

    def setUp(self):
        super().setUp()
        self.case = chaos.Chaos('test_chaos')
        # b took node n at 5 (its call began at 4.5) while a, which has
        # held it since 0, kept it until 10.
        self.spans = {'a#1': {'n': [(0.0, 10.0)]}, 'b#1': {'n': [(5.0, 12)]}}
        self.case.paused = {}
        self.case.call_log = {
            'a#1': ([-0.5, 9.5], [0.0, 10.0]),
            'b#1': ([4.5], [5.0]),
        }
        self.overlap = ('n', 'a#1', 'b#1', 5.0, 10.0)
        self.assertEqual([self.overlap], fleet.overlaps(self.spans))

    def stopped_then(self):
        return self.case.stopped_then(*self.overlap, spans=self.spans)

    def test_double_care_without_a_stop_is_an_overlap(self):
        self.assertFalse(self.stopped_then())

    def test_a_stop_covers_it_until_the_first_call_after(self):
        # a was stopped from 4 to 6; its first call begun after it went on
        # (at 9.5) let go (at 10): a acted on its last answer until then.
        self.case.paused = {'a#1': [(4.0, 6.0)]}
        self.assertTrue(self.stopped_then())
        # Had that call answered before it let go, a kept the node by a
        # call of its own after the stop: double care.
        self.case.call_log['a#1'] = ([-0.5, 7.0, 9.5], [0.0, 8.0, 10.0])
        self.assertFalse(self.stopped_then())

    def test_a_stop_after_the_taking_call_covers_nothing(self):
        # a stopped only after b's call had begun (4.5) and taken it.
        self.case.paused = {'a#1': [(4.8, 6.0)]}
        self.assertFalse(self.stopped_then())


class RunTestCase(base.TestCase):
    """A short run of the tool, on the file driver."""

    def test_a_short_run_finds_no_double_care(self):
        # main() sets the fleet's node count: put it back after.
        self.useFixture(fixtures.MockPatchObject(fleet, 'NODES', fleet.NODES))
        keep = self.useFixture(fixtures.TempDir()).path
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            status = chaos.main(
                [
                    '--backend=file',
                    '--seeds=1',
                    '--events=6',
                    '--nodes=500',
                    f'--keep={keep}',
                ]
            )
        self.assertEqual('file seed 1: ok', out.getvalue().split(' (')[0])
        self.assertEqual(0, status)
