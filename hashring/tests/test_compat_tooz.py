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

"""The rest of tooz.hashring's surface, taken as tooz takes it."""

import copy
import pickle
import subprocess
import sys

import tooz
from tooz import hashring as tooz_hashring

import hashring
from hashring import compat
from hashring import exception
from hashring.tests import base
from hashring.tests import test_compat

keys = test_compat.keys


class ToozSurfaceTestCase(base.TestCase):
    """The rest of what tooz accepts, accepted the same way."""

    def test_any_partition_count_matches_tooz(self):
        # Gnocchi's metricd: join_partitioned_group(..., partitions=200).
        names = ['metricd-1', 'Metricd-2', 'm\u00e9tricd-3:8080']
        for partitions in (3, 100, 200, 1000):
            with self.subTest(partitions=partitions):
                ours = compat.ToozHashRing(names, partitions=partitions)
                theirs = tooz_hashring.HashRing(names, partitions=partitions)
                self.assertEqual(len(theirs), len(ours))
                for key in keys(500):
                    self.assertEqual(
                        theirs.get_nodes(key, replicas=3),
                        ours.get_nodes(key, replicas=3),
                    )
                    self.assertEqual(theirs[key], ours[key])

    def test_replicas_as_tooz_takes_them(self):
        names = [f'n{i}' for i in range(5)]
        ours = compat.ToozHashRing(names)
        theirs = tooz_hashring.HashRing(names)
        for replicas in (
            2.0,
            True,
            False,
            1.5,
            2.01,
            0.2,
            -1.0,
            0,
            10**9,
            float('inf'),
        ):
            with self.subTest(replicas=replicas):
                for key in keys(50):
                    self.assertEqual(
                        theirs.get_nodes(key, replicas=replicas),
                        ours.get_nodes(key, replicas=replicas),
                    )

    def test_ignore_nodes_as_tooz_takes_them(self):
        names = ['a', 'b', 'c', 'ab', 'd']
        ours = compat.ToozHashRing(names)
        theirs = tooz_hashring.HashRing(names)
        # Factories: an iterator is consumed, so each ring gets its own.
        for make in (
            lambda: 'a',
            lambda: 'ab',
            lambda: b'ab',
            lambda: ['ab'],
            lambda: ('a', 'zz'),
            lambda: {'d': 1},
            lambda: iter(['b']),
            lambda: '',
            lambda: None,
            lambda: [1, 2],
        ):
            with self.subTest(ignore=make()):
                for key in keys(50):
                    self.assertEqual(
                        theirs.get_nodes(key, make(), replicas=3),
                        ours.get_nodes(key, make(), replicas=3),
                    )

    def test_strict_ring_refuses_what_compat_takes(self):
        strict = hashring.HashRing(['a', 'b'])
        for kwargs in (
            {'replicas': 2.0},
            {'replicas': True},
            {'ignore_nodes': 'a'},
        ):
            with self.subTest(**kwargs):
                self.assertRaises(
                    exception.InvalidArgumentError,
                    strict.get_nodes,
                    b'k',
                    **kwargs,
                )

    def test_bad_replicas(self):
        ring = compat.ToozHashRing(['a'])
        for replicas in ('2', None, float('nan'), [1]):
            with self.subTest(replicas=replicas):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    ring.get_nodes,
                    b'k',
                    replicas=replicas,
                )
                self.assertIn(repr(replicas), str(err))

    def test_pickle_and_deepcopy(self):
        ring = compat.ToozHashRing(['a', 'b'], partitions=200)
        ring.add_node('c', weight=3)
        for copied in (
            pickle.loads(pickle.dumps(ring)),
            copy.deepcopy(ring),
            copy.copy(ring),
        ):
            with self.subTest(copied=copied):
                self.assertEqual(ring.nodes, copied.nodes)
                self.assertEqual(len(ring), len(copied))
                probe = keys(200)
                self.assertEqual(
                    [ring[k] for k in probe], [copied[k] for k in probe]
                )
                # A copy is a ring of its own, with a lock of its own.
                copied.add_node('d')
                self.assertNotIn('d', ring.nodes)
                self.assertIsNot(ring._lock, copied._lock)
        theirs = copy.deepcopy(tooz_hashring.HashRing(['a']))
        self.assertEqual({'a': 1}, theirs.nodes)

    def test_from_ring(self):
        strict = hashring.HashRing({'Conductor-1': 2, 'c-2:8089': 1}, 4)
        ours = compat.ToozHashRing.from_ring(strict)
        theirs = tooz_hashring.HashRing([], partitions=16)
        theirs.add_node('Conductor-1', weight=2)
        theirs.add_node('c-2:8089')
        self.assertEqual(theirs.nodes, ours.nodes)
        self.assertEqual(len(theirs), len(ours))
        for key in keys(300):
            self.assertEqual(theirs[key], ours[key])
            self.assertEqual(
                theirs.get_nodes(key, replicas=2),
                ours.get_nodes(key, replicas=2),
            )
        ours.add_node('c-3')
        self.assertEqual({'Conductor-1', 'c-2:8089'}, set(strict.members))
        self.assertEqual(16, ours._ring.points)
        err = self.assertRaises(
            exception.InvalidArgumentError,
            compat.ToozHashRing.from_ring,
            theirs,
        )
        self.assertIn('needs a hashring.HashRing', str(err))

    def test_tooz_handlers_still_catch(self):
        ring = compat.ToozHashRing(['a'])
        try:
            ring.remove_node('nope')
        except tooz.ToozError as exc:
            self.assertEqual('nope', exc.node)
        else:
            self.fail('UnknownNode is not a tooz.ToozError')

    def test_unknown_node_without_tooz(self):
        # Where tooz is not installed, UnknownNode has no tooz base.
        code = (
            'import sys; sys.modules["tooz"] = None; '
            'from hashring import compat; '
            'print([c.__name__ for c in compat.UnknownNode.__mro__])'
        )
        out = subprocess.run(
            [sys.executable, '-c', code],
            capture_output=True,
            check=True,
            text=True,
            timeout=60,
        ).stdout
        self.assertIn('UnknownMemberError', out)
        self.assertNotIn('ToozError', out)
