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

"""The contract every registering membership driver keeps.

A test module mixes :class:`Contract` into a test case and says how to
reach its backend; the same tests then run against every driver and
backend.
"""

import json
import os
import subprocess
import sys
import threading
import time
import uuid


from hashring import exception
from hashring import manager
from hashring import membership
from hashring.tests import base
from hashring.tests.membership import contract_claims
from hashring.tests.membership import contract_duplicates
from hashring.tests.membership import contract_names

#: Timings short enough for tests, with dead_after the minimum tooz's
#: backends accept (whole seconds).
FAST = {'heartbeat_interval': 0.2, 'dead_after': 1.0, 'read_timeout': 5.0}

JOIN_SCRIPT = """
from hashring import membership
import json, sys
options = json.loads(sys.argv[1])
source = membership.load(options.pop('driver'), **options)
source.join(sys.argv[2], sys.argv[3])
print('joined', flush=True)
sys.stdin.read()
source.leave()
"""


def eventually(predicate, timeout=10.0, step=0.1):
    """Wait until predicate() is true; return its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


def refused(call):
    """Tell whether a call is refused with an InvalidArgumentError."""
    try:
        call()
    except exception.InvalidArgumentError:
        return True
    return False


class Contract(
    contract_claims.Claims,
    contract_duplicates.Duplicates,
    contract_names.Names,
):
    """Tests mixed into a TestCase that defines driver and options()."""

    #: whether a member that stopped heartbeating disappears (tooz) rather
    #: than being listed as down (file, sql)
    expires_by_absence = False

    #: whether the backend stores only ASCII member ids (tooz's ZooKeeper)
    ascii_ids = False

    def options(self):
        raise NotImplementedError

    def forget(self, group, member_id):
        """Delete a member's record behind its back."""
        raise NotImplementedError

    def lapse(self, node, member_id):
        """Stop a member's heartbeats until its peers read it dead."""
        node._stop_heartbeat()  # as a paused process
        self.assertTrue(
            eventually(lambda: member_id not in self.read().up()),
            f'{member_id} never expired',
        )

    def source(self, **overrides):
        source = membership.load(
            self.driver, **{**FAST, **self.options(), **overrides}
        )
        self.addCleanup(source.close)
        return source

    def setUp(self):
        super().setUp()
        self.group = f'g-{uuid.uuid4().hex[:12]}'
        self.reader = self.source()

    def read(self, group=None):
        return self.reader.get_members(group or self.group)

    def test_join_and_read(self):
        node = self.source()
        node.join('Node-A', self.group, weight=2, attributes={'hw': 'ipmi'})
        snapshot = self.read()
        self.assertEqual(['node-a'], list(snapshot.members))
        member = snapshot.members['node-a']
        self.assertEqual(membership.State.UP, member.state)
        self.assertEqual(2, member.weight)
        self.assertEqual({'hw': 'ipmi'}, dict(member.attributes))
        self.assertEqual({'node-a': 2}, snapshot.up())
        self.assertEqual(self.group, snapshot.group)
        self.assertEqual('node-a', node.member_id)

    def test_heartbeats_keep_fractions_of_a_second(self):
        # Stored to the second (MySQL's plain DATETIME), a heartbeat looks
        # up to a second older than it is: a member with a sub-second
        # dead_after would flap.
        node = self.source()
        node.join('a', self.group)
        stamps = []
        for _ in range(3):
            node.heartbeat()
            stamps.append(self.read().members['a'].last_heartbeat)
            time.sleep(0.05)
        if self.expires_by_absence:
            # The backend's session says who is alive, not a time.
            self.assertEqual([None] * 3, stamps)
        else:
            self.assertTrue(any(s.microsecond for s in stamps), stamps)

    def test_empty_group_is_an_empty_snapshot(self):
        snapshot = self.read(f'empty-{uuid.uuid4().hex[:8]}')
        self.assertEqual(0, len(snapshot))
        self.assertEqual({}, snapshot.up())

    def test_heartbeat_keeps_a_member_alive(self):
        node = self.source()
        node.join('node-a', self.group)
        time.sleep(FAST['dead_after'] * 2.5)
        self.assertEqual({'node-a': 1}, self.read().up())
        self.assertEqual(0, node.beat_failures)

    def test_expiry_after_dead_after(self):
        node = self.source()
        node.join('node-a', self.group)
        self.assertEqual({'node-a': 1}, self.read().up())
        node.stop()  # as a crash would: the record stays behind
        gone = eventually(lambda: 'node-a' not in self.read().up())
        self.assertTrue(gone)
        snapshot = self.read()
        if self.expires_by_absence:
            self.assertNotIn('node-a', snapshot)
        else:
            self.assertEqual(
                membership.State.DOWN, snapshot.members['node-a'].state
            )
            self.assertEqual(1, snapshot.offline())

    def test_drain_and_undrain(self):
        node = self.source()
        node.join('node-a', self.group)
        node.drain()
        snapshot = self.read()
        self.assertEqual(
            membership.State.DRAINING, snapshot.members['node-a'].state
        )
        self.assertEqual({}, snapshot.up())
        time.sleep(FAST['heartbeat_interval'] * 3)
        # Heartbeats keep the state.
        self.assertEqual({}, self.read().up())
        node.undrain()
        self.assertEqual({'node-a': 1}, self.read().up())

    def test_leave_removes_only_its_own_record(self):
        a, b = self.source(), self.source()
        a.join('node-a', self.group)
        b.join('node-b', self.group)
        self.assertEqual({'node-a': 1, 'node-b': 1}, self.read().up())
        a.leave()
        snapshot = self.read()
        self.assertEqual(['node-b'], list(snapshot.members))
        self.assertIsNone(a.member_id)

    def test_generation(self):
        a, b = self.source(), self.source()
        a.join('node-a', self.group)
        first = self.read().generation
        time.sleep(FAST['heartbeat_interval'] * 3)
        self.assertEqual(first, self.read().generation)
        b.join('node-b', self.group)
        second = self.read().generation
        self.assertNotEqual(first, second)
        b.drain()
        self.assertNotEqual(second, self.read().generation)
        b.leave()
        self.assertEqual(first, self.read().generation)

    def test_get_groups(self):
        groups = [f'{self.group}-{i}' for i in range(3)]
        a, b = self.source(), self.source()
        for group in groups:
            a.join('Node-A', group)
        b.join('node-b', groups[1])
        snapshots = self.reader.get_groups(groups + [f'{self.group}-none'])
        self.assertEqual(
            sorted(groups + [f'{self.group}-none']), list(snapshots)
        )
        self.assertEqual({'Node-A': 1}, snapshots[groups[0]].placed())
        self.assertEqual(
            {'Node-A': 1, 'node-b': 1}, snapshots[groups[1]].placed()
        )
        self.assertEqual(0, len(snapshots[f'{self.group}-none']))
        for group in groups:
            self.assertEqual(
                self.read(group).generation, snapshots[group].generation
            )
        every = self.reader.get_groups()
        self.assertTrue(set(groups) <= set(every))
        self.assertEqual(snapshots[groups[1]].up(), every[groups[1]].up())
        self.assertRaises(
            exception.InvalidArgumentError, self.reader.get_groups, ['no way']
        )
        self.assertRaises(
            exception.InvalidArgumentError, self.reader.get_groups, 'g'
        )

    def test_groups(self):
        other = f'{self.group}-conductor:ipmi'
        a, b = self.source(), self.source()
        a.join('node-a', self.group)
        a.join('node-a', other)
        b.join('node-b', other)
        self.assertEqual({'node-a': 1}, self.read().up())
        self.assertEqual({'node-a': 1, 'node-b': 1}, self.read(other).up())
        a.leave()
        self.assertEqual({}, self.read().up())
        self.assertEqual({'node-b': 1}, self.read(other).up())

    def test_one_id_per_source(self):
        node = self.source()
        node.join('node-a', self.group)
        err = self.assertRaises(
            exception.InvalidArgumentError, node.join, 'node-b', self.group
        )
        self.assertIn("'node-a'", str(err))

    def test_rejoins_when_forgotten(self):
        # A slow heartbeat, driven by hand: the thread would re-join before
        # the test could see the record gone.
        node = self.source(heartbeat_interval=30, dead_after=60)
        node.join('node-a', self.group, weight=3)
        self.forget(self.group, 'node-a')
        self.assertEqual({}, self.read().up())
        node.heartbeat()
        self.assertEqual({'node-a': 3}, self.read().up())

    def test_bad_join_arguments(self):
        node = self.source()
        for kwargs, message in (
            ({'weight': 0}, 'weight 0 is below 1'),
            ({'weight': 1.5}, 'weight 1.5 is not an integer'),
            ({'attributes': {'x': object()}}, 'are not JSON'),
            ({'attributes': ['x']}, 'are not a mapping'),
        ):
            with self.subTest(kwargs=kwargs):
                err = self.assertRaises(
                    exception.InvalidMemberError,
                    node.join,
                    'node-a',
                    self.group,
                    **kwargs,
                )
                self.assertIn(message, str(err))
        for group in ('a b', '', 'x/y', 'ü', 7, 'g' * 256):
            with self.subTest(group=group):
                err = self.assertRaises(
                    exception.InvalidArgumentError, node.join, 'n', group
                )
                self.assertIn(repr(group)[:30], str(err))
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    self.reader.get_members,
                    group,
                )
        self.assertIsNone(node.member_id)

    def test_a_forked_child_shares_nothing(self):
        node = self.source()
        node.join('Node-A', self.group)
        mgr = manager.RingManager(node, host='Node-A', reset_interval=0)
        self.assertEqual(['Node-A'], list(mgr.get_ring(self.group).members))
        # Locks held by a parent's thread at the fork stay held for ever
        # in the child, unless the child replaces them.
        held = threading.Event()
        done = threading.Event()
        self.addCleanup(done.set)

        def hold():
            with mgr._lock, node._judge._lock:
                held.set()
                done.wait(30)

        threading.Thread(target=hold, daemon=True).start()
        self.assertTrue(held.wait(10))
        result = base.fork_and_run(
            lambda: {
                'thread': node._thread is None,
                'member': node.member_id,
                'read': sorted(node.get_members(self.group).placed()),
                'ring': sorted(mgr.refresh(self.group).members),
                'drain': refused(node.drain),
                'heartbeat': refused(node.heartbeat),
                'leave': node.leave() or node.member_id,
            }
        )
        done.set()
        self.assertEqual(
            {
                'thread': True,
                'member': 'node-a',
                'read': ['Node-A'],
                'ring': ['Node-A'],
                'drain': True,
                'heartbeat': True,
                'leave': None,
            },
            result,
        )
        # The child's leave removed nothing; the parent heartbeats on, for
        # longer than dead_after.
        time.sleep(FAST['dead_after'] * 1.5)
        self.assertEqual({'Node-A': 1}, self.read().placed())
        self.assertEqual('node-a', node.member_id)
        node.leave()
        self.assertTrue(eventually(lambda: not self.read().placed()))

    def test_processes_register_concurrently(self):
        options = {'driver': self.driver, **FAST, **self.options()}
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    '-c',
                    JOIN_SCRIPT,
                    json.dumps(options),
                    f'proc-{i}',
                    self.group,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=dict(os.environ),
            )
            for i in range(4)
        ]
        try:
            for proc in procs:
                self.assertEqual('joined\n', proc.stdout.readline())
            self.assertEqual(
                {f'proc-{i}': 1 for i in range(4)}, self.read().up()
            )
        finally:
            for proc in procs:
                proc.stdin.close()
            for proc in procs:
                self.assertEqual(0, proc.wait(30))
        # All of them at once, without draining: presumed an outage for up
        # to read_timeout and two intervals, more than dead_after here
        # (hashring.membership.liveness), then gone.
        recovery = FAST['read_timeout'] + 2 * FAST['heartbeat_interval']
        self.assertTrue(
            eventually(lambda: self.read().up() == {}, recovery * 2)
        )
