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

import hashring
from hashring import convergence
from hashring import exception
from hashring import simulation
from hashring.tests import base


class ConvergeTestCase(base.TestCase):
    def lost(self, nodes=4):
        ring = hashring.HashRing(['svc-1', 'svc-2'])
        return ring.map_keys(simulation.keys(nodes)).count('svc-2')

    def test_crash_hand_worked(self):
        # svc-2 heartbeats last at 4s, is down once 30s older (35s), and
        # svc-1 refreshes at 10, 20, 30, 40: its nodes wait until 40s.
        timeline = convergence.converge(
            services=2,
            nodes=4,
            instances=0,
            event='crash',
            event_at=5,
            duration=60,
            interval=10,
            dead_after=30,
        )
        lost = self.lost()
        self.assertTrue(lost)
        expected = [
            (float(t), 0, lost if 5 <= t < 40 else 0) for t in range(61)
        ]
        self.assertEqual(expected, timeline.points)
        self.assertEqual(40, timeline.clean_at)
        self.assertEqual(35, timeline.time_to_clean)
        self.assertEqual(35 * lost, timeline.orphan_node_seconds)
        self.assertEqual(0, timeline.double_node_seconds)

    def test_instances_stay_with_a_live_service(self):
        # Half the nodes have instances; a join moves none of them.
        timeline = convergence.converge(
            services=3,
            nodes=200,
            instances=1.0,
            event='join',
            event_at=5,
            duration=40,
            interval=10,
        )
        self.assertEqual(0, timeline.double_node_seconds)
        self.assertEqual(0, timeline.orphan_node_seconds)

    def test_crash_with_instances_adopts_the_orphans(self):
        timeline = convergence.converge(
            services=3,
            nodes=300,
            instances=0.5,
            event='crash',
            event_at=5,
            duration=120,
            interval=10,
            dead_after=30,
        )
        self.assertIsNotNone(timeline.clean_at)
        self.assertEqual(0, timeline.points[-1][2])

    def test_progress(self):
        seen = []
        convergence.converge(
            services=1,
            nodes=5,
            event='join',
            duration=10,
            progress=seen.append,
        )
        self.assertEqual(1.0, seen[-1])
        self.assertEqual(sorted(seen), seen)

    def test_bad_arguments(self):
        for kwargs, message in (
            ({'event': 'explode'}, "'explode'"),
            ({'services': 0}, 'services=0'),
            ({'instances': 2}, 'instances=2'),
            ({'step': 0}, 'step=0'),
            # Each ran for days, or overflowed the simulated clock.
            ({'duration': 1e11}, 'duration must be from 0 to 1e+06 seconds'),
            ({'interval': 1e11}, 'interval must be from 0 to 1e+06'),
            ({'event_at': float('nan')}, 'event_at must be from 0'),
            ({'flap_for': -1}, 'flap_for must be from 0'),
            (
                {'duration': 200, 'step': 0.001},
                'duration=200 at step=0.001 makes 200000 steps, above 100000',
            ),
            ({'services': 1001}, 'services=1001 is above 1000'),
            ({'nodes': 10**6 + 1}, 'nodes=1000001 is above 1000000'),
        ):
            err = self.assertRaises(
                exception.InvalidArgumentError, convergence.converge, **kwargs
            )
            self.assertIn(message, str(err))


class HandoffConvergeTestCase(base.TestCase):
    """The simulation runs the real protocol: what it promises, measured."""

    def run_both(self, **kwargs):
        kwargs = {'services': 3, 'nodes': 400, 'duration': 100, **kwargs}
        return (
            convergence.converge(**kwargs),
            convergence.converge(**kwargs, handoff=True),
        )

    def test_join_is_never_managed_twice(self):
        plain, safe = self.run_both(event='join', instances=0)
        self.assertGreater(plain.double_node_seconds, 0)
        self.assertEqual(0, safe.double_node_seconds)
        self.assertLessEqual(safe.time_to_clean, 2 * 15)

    def test_graceful_leave_is_never_twice_and_shorter_unmanaged(self):
        plain, safe = self.run_both(event='leave', instances=0)
        self.assertEqual(0, safe.double_node_seconds)
        self.assertLess(
            safe.orphan_node_seconds, plain.orphan_node_seconds / 2
        )
        self.assertLessEqual(safe.time_to_clean, 2 * 15)

    def test_a_crash_is_no_worse(self):
        plain, safe = self.run_both(event='crash', instances=0.3)
        self.assertEqual(0, safe.double_node_seconds)
        self.assertEqual(plain.orphan_node_seconds, safe.orphan_node_seconds)
        self.assertEqual(plain.time_to_clean, safe.time_to_clean)

    def test_a_pause_past_dead_after_is_never_managed_twice(self):
        # Stopped for 90 s: its peers take its nodes, and adopt its
        # instances' nodes, after dead_after (60 s); when it goes on, it
        # lets go of them, and leaves the instances' nodes be, until its
        # peers see it alive.
        plain, safe = self.run_both(event='pause', flap_for=90, duration=180)
        self.assertGreater(plain.double_node_seconds, 0)
        self.assertEqual(0, safe.double_node_seconds)
        self.assertLessEqual(safe.time_to_clean, 90 + 2 * 15)

    def test_a_restart_past_dead_after_is_never_managed_twice(self):
        # Its peers adopted its instances' nodes meanwhile: restarted, it
        # leaves them be until they see it alive.
        plain, safe = self.run_both(event='flap', flap_for=90, duration=180)
        self.assertGreater(plain.double_node_seconds, 0)
        self.assertEqual(0, safe.double_node_seconds)
        self.assertLessEqual(safe.time_to_clean, 90 + 2 * 15)
