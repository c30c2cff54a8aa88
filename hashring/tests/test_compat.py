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

"""compat.ToozHashRing as a drop-in: what consumers rely on, what it mends."""

import random
import uuid

import tooz
from tooz import hashring as tooz_hashring

from hashring import compat
from hashring import exception
from hashring.tests import base
from hashring.tests import invariants


def keys(count):
    return [
        str(uuid.uuid5(uuid.NAMESPACE_OID, f'compat-{i}')).encode()
        for i in range(count)
    ]


class DropInTestCase(base.TestCase):
    """The behaviours of tooz.hashring.HashRing that consumers rely on."""

    def test_constructor_and_lookups_match_tooz(self):
        for args in (
            (['foo', 'bar', 'baz'],),
            (['foo', 'bar', 'baz'], 2**8),
            (['foo', 'bar', 'baz'], 1, 'sha256'),
            ({'node1', 'node2', 'node3'},),
            ([b'raw', 'text'], 16),
        ):
            with self.subTest(args=args):
                ours = compat.ToozHashRing(*args)
                theirs = tooz_hashring.HashRing(*args)
                self.assertEqual(len(theirs), len(ours))
                self.assertEqual(theirs.nodes, ours.nodes)
                for key in keys(500):
                    self.assertEqual(theirs[key], ours[key])
                    self.assertEqual(
                        theirs.get_nodes(key, replicas=2),
                        ours.get_nodes(key, replicas=2),
                    )

    def test_class_constants(self):
        self.assertEqual(
            tooz_hashring.HashRing.DEFAULT_PARTITION_NUMBER,
            compat.ToozHashRing.DEFAULT_PARTITION_NUMBER,
        )
        self.assertEqual(
            tooz_hashring.HashRing.DEFAULT_HASH_FUNCTION,
            compat.ToozHashRing.DEFAULT_HASH_FUNCTION,
        )

    def test_tutorial_outputs(self):
        # tooz's documented example.
        ring = compat.ToozHashRing({'node1', 'node2', 'node3'})
        self.assertEqual({'node2'}, ring[b'foo'])
        self.assertEqual(
            {'node2', 'node3'}, ring.get_nodes(b'foo', replicas=2)
        )
        self.assertEqual(
            {'node1', 'node3'},
            ring.get_nodes(b'foo', ignore_nodes=['node2'], replicas=2),
        )

    def test_add_remove_sequence_matches_tooz(self):
        ours = compat.ToozHashRing(['a', 'b'])
        theirs = tooz_hashring.HashRing(['a', 'b'])
        steps = [
            ('add_node', ('c',), {}),
            ('add_nodes', (['d', 'e'],), {'weight': 2}),
            ('remove_node', ('a',), {}),
            ('add_node', ('f',), {'weight': 3}),
            ('remove_node', ('d',), {}),
        ]
        for name, args, kwargs in steps:
            getattr(ours, name)(*args, **kwargs)
            getattr(theirs, name)(*args, **kwargs)
            self.assertEqual(theirs.nodes, ours.nodes)
            self.assertEqual(len(theirs), len(ours))
            for key in keys(300):
                self.assertEqual(
                    base.tooz_walk(theirs, key, replicas=3),
                    ours._ring.get_nodes(key, replicas=3),
                )

    def test_changes_one_by_one_are_updates_that_match_tooz(self):
        # add_node and remove_node hash only the node changed; the ring
        # they leave maps as tooz's, and len() counts only live points.
        rng = random.Random(3)
        ours = compat.ToozHashRing([])
        theirs = tooz_hashring.HashRing([])
        updated = 0
        for step in range(120):
            node = f'node-{rng.randrange(40)}'
            if node in theirs.nodes and rng.random() < 0.4:
                ours.remove_node(node)
                theirs.remove_node(node)
            else:
                ours.add_node(node)
                theirs.add_node(node)
            updated += bool(ours._ring._table.dead)
            self.assertEqual(len(theirs), len(ours))
            if step % 10 == 9:
                invariants.check(ours._ring)
                for key in keys(200):
                    self.assertEqual(
                        base.tooz_walk(theirs, key, replicas=2),
                        ours._ring.get_nodes(key, replicas=2),
                    )
        self.assertGreater(updated, 20)

    def test_ironic_style_exponent_zero(self):
        # Ironic's tests build rings with hash_partition_exponent = 0 so that
        # len(ring) is the number of conductors.
        ring = compat.ToozHashRing(['c1', 'c2', 'c3'], partitions=2**0)
        self.assertEqual(3, len(ring))
        self.assertEqual(['c1', 'c2', 'c3'], sorted(ring.nodes))

    def test_empty_ring_and_degenerate_requests_give_empty_sets(self):
        ring = compat.ToozHashRing([])
        self.assertEqual(set(), ring.get_nodes(b'x'))
        self.assertEqual(set(), ring[b'x'])
        self.assertEqual(0, len(ring))
        ring.add_node('a')
        self.assertEqual(set(), ring.get_nodes(b'x', replicas=0))
        self.assertEqual(set(), ring.get_nodes(b'x', replicas=-1))
        self.assertEqual(set(), ring.get_nodes(b'x', ignore_nodes=['a']))
        self.assertEqual({'a'}, ring.get_nodes(b'x', replicas=5))

    def test_str_keys_are_accepted(self):
        ring = compat.ToozHashRing(['foo', 'bar', 'baz'])
        self.assertEqual(ring[b'fake'], ring['fake'])

    def test_nodes_is_a_read_only_view_without_a_copy(self):
        ring = compat.ToozHashRing(['a'])
        with self.assertRaises(TypeError):
            ring.nodes['b'] = 1
        self.assertEqual({'a': 1}, ring.nodes)
        self.assertEqual({'a'}, ring[b'k'])
        # No copy per access: the same view until the ring changes.
        self.assertIs(ring.nodes, ring.nodes)
        before = ring.nodes
        ring.add_node('b', 2)
        self.assertEqual({'a': 1, 'b': 2}, ring.nodes)
        self.assertEqual({'a': 1}, before)


class DefectsFixedTestCase(base.TestCase):
    def test_lower_weight_leaves_no_ghost_points(self):
        ring = compat.ToozHashRing(['b'])
        ring.add_node('a', weight=3)
        ring.add_node('a', weight=1)
        self.assertEqual(64, len(ring))
        ring.remove_node('a')
        self.assertEqual(32, len(ring))
        self.assertEqual({'b'}, set().union(*(ring[k] for k in keys(1000))))
        # tooz kept 96 points for 'a' and 32 of them after removing it.
        theirs = tooz_hashring.HashRing(['b'])
        theirs.add_node('a', weight=3)
        theirs.add_node('a', weight=1)
        theirs.remove_node('a')
        self.assertEqual(96, len(theirs))

    def test_weight_below_one_is_refused_and_changes_nothing(self):
        ring = compat.ToozHashRing(['b'])
        for weight in (0, -1):
            err = self.assertRaises(
                exception.InvalidMemberError, ring.add_node, 'a', weight
            )
            self.assertIsInstance(err, ValueError)
            self.assertIn(f'weight {weight} is below 1', str(err))
        self.assertEqual({'b': 1}, ring.nodes)
        self.assertEqual(32, len(ring))

    def test_str_and_bytes_of_one_name_are_refused(self):
        err = self.assertRaises(
            exception.InvalidMemberError, compat.ToozHashRing, ['x', b'x']
        )
        self.assertIn("same member as", str(err))
        ring = compat.ToozHashRing(['x'])
        self.assertRaises(exception.InvalidMemberError, ring.add_node, b'x')
        self.assertEqual({'x': 1}, ring.nodes)

    def test_unknown_node(self):
        ring = compat.ToozHashRing(['a'])
        err = self.assertRaises(compat.UnknownNode, ring.remove_node, 'b')
        self.assertEqual('b', err.node)
        self.assertEqual("Unknown node `b'", str(err))
        self.assertIsInstance(err, KeyError)
        self.assertIsInstance(err, exception.UnknownMemberError)
        self.assertIsInstance(err, tooz.ToozError)
        # Removal is by the name as added.
        self.assertRaises(compat.UnknownNode, ring.remove_node, b'a')

    def test_shake_and_unknown_algorithms_refused_at_construction(self):
        for name in ('shake_128', 'shake_256', 'nope'):
            err = self.assertRaises(
                ValueError, compat.ToozHashRing, ['a'], hash_function=name
            )
            self.assertIn(repr(name), str(err))
        err = self.assertRaises(
            ValueError, compat.ToozHashRing, ['a'], hash_function='nope'
        )
        self.assertIn('is not supported', str(err))

    def test_bad_partitions(self):
        for partitions in (0, -4, 2**16 + 1, 32.0, None, True):
            with self.subTest(partitions=partitions):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    compat.ToozHashRing,
                    ['a'],
                    partitions,
                )
                self.assertIn(repr(partitions), str(err))
                self.assertIn('partitions must be', str(err))


class ThreadSafetyTestCase(base.TestCase):
    def test_lookups_during_changes_see_a_whole_ring(self):
        ring = compat.ToozHashRing([f'n{i}' for i in range(10)])
        probe = keys(200)
        with_extra = compat.ToozHashRing([f'n{i}' for i in range(11)])
        allowed = [
            {next(iter(ring[k])), next(iter(with_extra[k]))} for k in probe
        ]

        def change():
            ring.add_node('n10')
            ring.remove_node('n10')

        def look():
            for _ in range(30):
                for key, owners in zip(probe, allowed):
                    got = ring.get_nodes(key)
                    if len(got) != 1 or not got <= owners:
                        raise AssertionError(f'{key!r}: {got}')

        self.assertEqual([], base.race(change, look, readers=4))
