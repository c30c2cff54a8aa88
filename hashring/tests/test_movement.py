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

import uuid

import hashring
from hashring import exception
from hashring import movement
from hashring import ring
from hashring import simulation
from hashring.tests import base

KEYS = [str(uuid.uuid5(uuid.NAMESPACE_OID, f'move-{i}')) for i in range(5000)]


class ChangesTestCase(base.TestCase):
    def test_join(self):
        old = ring.HashRing(['a', 'b', 'c'])
        new = old.with_members(['a', 'b', 'c', 'd'])
        moved = movement.changes(old, new, KEYS)
        before, after = old.map_keys(KEYS), new.map_keys(KEYS)
        expected = {
            k: (o, n) for k, o, n in zip(KEYS, before, after) if o != n
        }
        self.assertEqual(expected, {k: tuple(m) for k, m in moved.items()})
        self.assertTrue(moved)
        self.assertTrue(all(m.new == 'd' for m in moved.values()))
        self.assertEqual(list(moved), [k for k in KEYS if k in moved])

    def test_leave(self):
        old = ring.HashRing(['a', 'b', 'c'])
        new = old.with_members(['a', 'c'])
        moved = movement.changes(old, new, KEYS)
        self.assertEqual(old.map_keys(KEYS).count('b'), len(moved))
        self.assertTrue(all(m.old == 'b' for m in moved.values()))

    def test_exponent_and_hash_changes(self):
        old = ring.HashRing(['a', 'b', 'c'])
        for new in (
            ring.HashRing(['a', 'b', 'c'], 8),
            ring.HashRing(['a', 'b', 'c'], 5, 'sha256'),
        ):
            moved = movement.changes(old, new, KEYS)
            for key, move in moved.items():
                self.assertEqual(old.get_node(key), move.old)
                self.assertEqual(new.get_node(key), move.new)
            unmoved = [k for k in KEYS if k not in moved]
            self.assertEqual(old.map_keys(unmoved), new.map_keys(unmoved))

    def test_empty_rings(self):
        empty = ring.HashRing([])
        full = ring.HashRing(['a', 'b'])
        gained = movement.changes(empty, full, KEYS[:10])
        self.assertEqual(10, len(gained))
        self.assertTrue(all(m.old is None for m in gained.values()))
        lost = movement.changes(full, empty, KEYS[:10])
        self.assertTrue(all(m.new is None for m in lost.values()))
        self.assertEqual({}, movement.changes(empty, empty, KEYS[:10]))

    def test_no_change_and_iterators(self):
        r = ring.HashRing(['a', 'b'])
        self.assertEqual({}, hashring.changes(r, r, iter(KEYS)))
        self.assertEqual({}, hashring.changes(r, r, []))

    def test_str_and_bytes_members_are_the_same(self):
        old = ring.HashRing(['a', 'b'])
        new = ring.HashRing([b'a', b'b'])
        self.assertEqual({}, movement.changes(old, new, KEYS[:500]))

    def test_bad_keys(self):
        r = ring.HashRing(['a'])
        self.assertRaises(
            exception.InvalidArgumentError, movement.changes, r, r, 'abc'
        )
        self.assertRaises(
            exception.InvalidKeyError, movement.changes, r, r, ['ok', 3]
        )


class BadKeysTestCase(base.TestCase):
    def test_keys_must_be_a_collection(self):
        old = hashring.HashRing(['a'])
        for keys in (None, 'abc', 3):
            err = self.assertRaises(
                exception.InvalidArgumentError,
                hashring.changes,
                old,
                old.with_members(['a', 'b']),
                keys,
            )
            self.assertIn('keys must be a collection', str(err))

    def test_rings_must_be_rings(self):
        r = hashring.HashRing(['a'])
        for old, new in ((r, ['a', 'b']), ('a', r), (r, None)):
            bad, name = (new, 'new_ring') if old is r else (old, 'old_ring')
            with self.subTest(bad=bad):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    hashring.changes,
                    old,
                    new,
                    ['k'],
                )
                self.assertIn(
                    f'{name} must be a hashring.HashRing, not '
                    f'{type(bad).__name__} {bad!r}',
                    str(err),
                )


class CostTestCase(base.TestCase):
    def test_a_node_without_an_id_is_refused_by_name(self):
        old = ring.HashRing(['a', 'b'])
        new = old.with_members(['a'])
        # Each raised KeyError or TypeError from inside.
        for node in ({'uuid': 'n1'}, None, 'n1'):
            err = self.assertRaises(
                exception.InvalidArgumentError,
                movement.cost,
                old,
                new,
                [{'id': 'n0'}, node],
            )
            self.assertIn(
                f'Node {node!r} is not a mapping with an id', str(err)
            )

    def test_moves_are_split_by_what_makes_them_expensive(self):
        old = ring.HashRing(['a', 'b'])
        new = ring.HashRing(['a', 'b', 'c'])
        keys = simulation.keys(400)
        nodes = [
            {
                'id': k,
                'instance_id': 'i' if n % 2 else None,
                'provision_state': 'active' if n % 3 == 0 else 'available',
                'maintenance': 'true' if n % 4 == 0 else 'false',
            }
            for n, k in enumerate(keys)
        ]
        found = movement.cost(old, new, nodes)
        moves = movement.changes(old, new, keys)
        self.assertEqual(len(moves), found.moved)
        moved = [n for n in nodes if n['id'] in moves]
        self.assertEqual(
            {
                'with_instance': sum(1 for n in moved if n['instance_id']),
                'active': sum(
                    1 for n in moved if n['provision_state'] == 'active'
                ),
                'maintenance': sum(
                    1 for n in moved if n['maintenance'] == 'true'
                ),
            },
            found.by_state,
        )
        self.assertEqual({'c': len(moves)}, found.takeovers)
        self.assertEqual(len(moves), sum(found.handovers.values()))
        self.assertEqual({'a', 'b'}, set(found.handovers))
        nothing = movement.cost(old, old, nodes)
        self.assertEqual(0, nothing.moved)
        self.assertEqual({}, nothing.takeovers)
