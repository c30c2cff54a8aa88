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

import threading

from hashring import exception
from hashring import notify
from hashring import ring
from hashring.tests import base


class NotifierTestCase(base.TestCase):
    def test_gains_and_losses_of_the_host_under_its_name(self):
        changes = []
        notifier = notify.Notifier('host-1')
        keys = [f'k{i}' for i in range(500)]
        notifier.subscribe(changes.append, keys)
        notifier.subscribe(lambda change: changes.append('plain'), None)
        first = ring.HashRing(['Host-1', 'host-2'])
        second = first.with_members(['Host-1', 'host-2', 'host-3'])
        notifier.queue('g', None, first)
        notifier.queue('g', first, second)
        notifier.deliver()
        self.assertEqual(4, len(changes))
        initial, plain, moved, _ = changes
        self.assertEqual('plain', plain)
        self.assertEqual(
            {k for k, o in zip(keys, first.map_keys(keys)) if o == 'Host-1'},
            set(initial.gained),
        )
        self.assertTrue(moved.lost)
        self.assertEqual({'host-3'}, set(moved.lost.values()))
        self.assertEqual({}, moved.gained)

    def test_keys_from_an_iterator_serve_every_change(self):
        # An iterator was spent by the first change: every later one
        # reported no key.
        changes = []
        notifier = notify.Notifier('a')
        keys = [f'k{i}' for i in range(300)]
        notifier.subscribe(changes.append, iter(keys))
        first = ring.HashRing(['a', 'b'])
        second = first.with_members(['a', 'b', 'c'])
        notifier.queue('g', None, first)
        notifier.queue('g', first, second)
        notifier.deliver()
        lost = {
            k
            for k, was, now in zip(
                keys, first.map_keys(keys), second.map_keys(keys)
            )
            if was == 'a' and now != 'a'
        }
        self.assertTrue(lost)
        self.assertEqual(lost, set(changes[1].lost))

    def test_bad_subscriptions_are_refused_by_name(self):
        notifier = notify.Notifier('a')
        # A str was read as its letters; a number failed at every change.
        for keys in ('node-1', b'node-1', 5):
            err = self.assertRaises(
                exception.InvalidArgumentError,
                notifier.subscribe,
                print,
                keys,
            )
            self.assertIn('keys must be a collection', str(err))
        err = self.assertRaises(
            exception.InvalidArgumentError, notifier.subscribe, 5, None
        )
        self.assertIn('A subscriber is a callable, not 5', str(err))
        # A callable returning a str is refused when it is read, logged.
        seen = []
        notifier.subscribe(seen.append, lambda: 'node-1')
        notifier.queue('g', None, ring.HashRing(['a']))
        with self.assertLogs('hashring.manager', 'ERROR') as logs:
            notifier.deliver()
        self.assertEqual([], seen)
        self.assertIn('keys must be a collection', '\n'.join(logs.output))

    def test_a_failing_subscriber_is_logged_and_others_still_run(self):
        seen = []
        notifier = notify.Notifier(None)

        def broken(change):
            raise RuntimeError('boom')

        notifier.subscribe(broken, None)
        notifier.subscribe(seen.append, None)
        notifier.queue('g', None, ring.HashRing(['a']))
        with self.assertLogs('hashring.manager', 'ERROR') as logs:
            notifier.deliver()
        self.assertEqual(1, len(seen))
        self.assertIn('subscriber failed for group g', logs.output[0])

    def test_one_thread_delivers_at_a_time_in_order(self):
        seen = []
        notifier = notify.Notifier(None)
        rings = [ring.HashRing([f'm{i}']) for i in range(20)]
        inside = threading.Event()
        release = threading.Event()

        def slow(change):
            seen.append(change.new)
            if len(seen) == 1:
                inside.set()
                release.wait(10)

        notifier.subscribe(slow, None)
        notifier.queue('g', None, rings[0])
        worker = threading.Thread(target=notifier.deliver)
        worker.start()
        self.assertTrue(inside.wait(10))
        for r in rings[1:]:
            notifier.queue('g', None, r)
        # Another thread finds delivery under way and leaves it to it.
        notifier.deliver()
        self.assertEqual(1, len(seen))
        release.set()
        worker.join(10)
        self.assertEqual(rings, seen)

    def test_after_fork_forgets_the_pending(self):
        seen = []
        notifier = notify.Notifier(None)
        notifier.subscribe(seen.append, None)
        notifier._delivery.acquire()
        notifier.queue('g', None, ring.HashRing(['a']))
        notifier.after_fork()
        notifier.deliver()
        self.assertEqual([], seen)
        notifier.queue('g', None, ring.HashRing(['b']))
        notifier.deliver()
        self.assertEqual(1, len(seen))
