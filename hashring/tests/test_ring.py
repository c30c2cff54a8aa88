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

import array
import json
import pickle
import random
import subprocess
import sys
import threading
import uuid

import hypothesis
from hypothesis import strategies as st
from tooz import hashring as tooz_hashring

from hashring import _table
from hashring import _walks
from hashring import exception
from hashring import hashing
from hashring import ring
from hashring.tests import base
from hashring.tests import invariants

FOO_BAR_BAZ = ['foo', 'bar', 'baz']
CONDUCTORS = ['conductor-1', 'conductor-2', 'conductor-3']

# Computed by running tooz (see shared/reference/peers.md, 2.7): members,
# parameters, key, walk order.  Deliberately fragile: if the mapping of
# any of these changes, every mixed-version cluster would disagree.
GOLDEN = [
    (FOO_BAR_BAZ, {}, b'fake', ['foo', 'bar', 'baz']),
    (FOO_BAR_BAZ, {}, b'fake-again', ['bar', 'baz', 'foo']),
    (FOO_BAR_BAZ, {}, b'', ['bar', 'foo', 'baz']),
    (FOO_BAR_BAZ, {}, b'abc', ['baz', 'foo', 'bar']),
    (['foo', 'bar'], {}, b'fake', ['foo', 'bar']),
    (['node1', 'node2', 'node3'], {}, b'foo', ['node2', 'node3', 'node1']),
    (
        CONDUCTORS,
        {},
        b'1be26c0b-03f2-4d2e-ae87-c02d7f33c123',
        ['conductor-1', 'conductor-2', 'conductor-3'],
    ),
    (
        CONDUCTORS,
        {},
        b'00000000-0000-0000-0000-000000000000',
        ['conductor-3', 'conductor-2', 'conductor-1'],
    ),
    (FOO_BAR_BAZ, {'hash_function': 'sha256'}, b'fake', ['bar', 'foo', 'baz']),
    (
        FOO_BAR_BAZ,
        {'hash_function': 'sha256'},
        b'fake-again',
        ['baz', 'bar', 'foo'],
    ),
    (FOO_BAR_BAZ, {'partition_exponent': 0}, b'fake', ['bar', 'baz', 'foo']),
    (
        FOO_BAR_BAZ,
        {'partition_exponent': 0},
        b'fake-again',
        ['bar', 'baz', 'foo'],
    ),
    ({'foo': 1, 'bar': 1, 'baz': 2}, {}, b'fake', ['foo', 'bar', 'baz']),
    (
        {'foo': 1, 'bar': 1, 'baz': 2},
        {},
        b'fake-again',
        ['baz', 'bar', 'foo'],
    ),
    ({'foo': 1, 'bar': 1, 'baz': 2}, {}, b'abc', ['baz', 'foo', 'bar']),
    (
        ['\u0634\u0628\u06a9\u0647', 'foo'],
        {},
        b'fake',
        ['\u0634\u0628\u06a9\u0647', 'foo'],
    ),
    (
        ['\u0634\u0628\u06a9\u0647', 'foo'],
        {},
        b'x',
        ['foo', '\u0634\u0628\u06a9\u0647'],
    ),
]


def uuids(count, seed='keys'):
    return [
        str(uuid.uuid5(uuid.NAMESPACE_OID, f'{seed}-{i}'))
        for i in range(count)
    ]


class GoldenVectorTestCase(base.TestCase):
    def test_golden_walk_order(self):
        for members, params, key, walk in GOLDEN:
            with self.subTest(members=members, params=params, key=key):
                r = ring.HashRing(members, **params)
                self.assertEqual(walk[0], r.get_node(key))
                self.assertEqual(walk, r.get_nodes(key, replicas=len(walk)))
                self.assertEqual(walk[0], r.get_node(key.decode('utf-8')))

    def test_golden_ignore(self):
        r = ring.HashRing(['node1', 'node2', 'node3'])
        self.assertEqual(
            ['node3', 'node1'],
            r.get_nodes(b'foo', ignore_nodes=['node2'], replicas=2),
        )
        # From Ironic's legacy tests: fake with foo ignored.
        r = ring.HashRing(FOO_BAR_BAZ)
        self.assertEqual(
            ['bar', 'baz'], r.get_nodes(b'fake', ['foo'], replicas=2)
        )

    def test_first_points_are_toozs(self):
        # The first two points of 'foo' are md5('foofoo') and
        # md5('foofoofoo') (peers.md, 2.3).
        r = ring.HashRing(['foo'], partition_exponent=1)
        self.assertEqual(
            sorted(
                [
                    bytes.fromhex('fdba98970961edb29f88241b9d99d890'),
                    bytes.fromhex('216d7c020d0732def6775af81f6dc44f'),
                ]
            ),
            [p[: -_table.TAG] for p in r._points[: r._count]],
        )


def member_names():
    text = st.text(min_size=1, max_size=12)
    raw = st.binary(min_size=1, max_size=12)
    return st.lists(st.one_of(text, raw), min_size=1, max_size=12).filter(
        _distinct
    )


def _distinct(names):
    encoded = [
        n.encode('utf-8', 'surrogatepass') if isinstance(n, str) else n
        for n in names
    ]
    return len(set(encoded)) == len(encoded) and all(
        not isinstance(n, str) or _utf8(n) for n in names
    )


def _utf8(name):
    try:
        name.encode('utf-8')
    except UnicodeEncodeError:
        return False
    return True


def tooz_ring_of(weights, exponent, hash_function):
    t = tooz_hashring.HashRing(
        [], partitions=2**exponent, hash_function=hash_function
    )
    for member, weight in weights.items():
        t.add_node(member, weight=weight)
    return t


class ToozEquivalenceTestCase(base.TestCase):
    """HashRing maps every key as tooz.hashring does, in tooz's order."""

    def _assert_same(self, ours, theirs, keys, ignore, replicas):
        for key in keys:
            walk = base.tooz_walk(theirs, key, ignore, replicas)
            self.assertEqual(
                theirs.get_nodes(key, ignore_nodes=ignore, replicas=replicas),
                set(walk),
            )
            self.assertEqual(walk, ours.get_nodes(key, ignore, replicas))
        if not ignore and replicas == 1:
            self.assertEqual(
                [base.tooz_walk(theirs, k)[0] for k in keys],
                ours.map_keys(keys),
            )

    @hypothesis.given(
        names=member_names(),
        weights=st.lists(st.integers(1, 4), min_size=12, max_size=12),
        exponent=st.integers(0, 6),
        hash_function=st.sampled_from(
            ['md5', 'sha1', 'sha256', 'sha512', 'blake2b', 'sha3_256']
        ),
        keys=st.lists(st.binary(max_size=40), min_size=1, max_size=30),
        replicas=st.integers(1, 14),
        ignore_mask=st.lists(st.booleans(), min_size=12, max_size=12),
    )
    def test_random_rings_match_tooz(
        self,
        names,
        weights,
        exponent,
        hash_function,
        keys,
        replicas,
        ignore_mask,
    ):
        members = dict(zip(names, weights))
        ours = ring.HashRing(members, exponent, hash_function)
        total = sum(members.values()) * 2**exponent
        # Names that repeat one another ('a', 'aa') collide, and then
        # tooz's answer depends on set order; that case has its own test.
        hypothesis.assume(ours._count == total)
        theirs = tooz_ring_of(members, exponent, hash_function)
        ignore = [n for n, skip in zip(names, ignore_mask) if skip]
        ignore.append('not-a-member')
        self._assert_same(ours, theirs, keys, None, 1)
        self._assert_same(ours, theirs, keys, ignore, replicas)
        invariants.check(ours)

    def test_many_keys_many_members(self):
        keys = [k.encode() for k in uuids(20000)]
        for count in (1, 2, 7, 100, 1000):
            members = [f'compute-{i}.example.org' for i in range(count)]
            with self.subTest(members=count):
                ours = ring.HashRing(members)
                theirs = tooz_hashring.HashRing(members)
                self.assertEqual(
                    [base.tooz_walk(theirs, k)[0] for k in keys],
                    ours.map_keys(keys),
                )
                self.assertEqual(len(theirs), ours._count)

    def test_replica_walks_of_str_keys_wrap_round_as_toozs(self):
        # Three points: many keys fall past the last one and wrap, and
        # runs of points often repeat an owner.
        for members in (['foo', 'bar', 'baz'], {'a': 1, 'b': 3, 'c': 2}):
            theirs = tooz_ring_of(
                dict(ring.HashRing(members).members), 0, 'md5'
            )
            ours = ring.HashRing(members, 0)
            for n in range(300):
                key = f'node-{n}'
                for replicas in (2, 3, 5):
                    self.assertEqual(
                        base.tooz_walk(
                            theirs, key.encode(), replicas=replicas
                        ),
                        ours.get_nodes(key, replicas=replicas),
                    )

    def test_key_equal_to_a_point_goes_to_the_next_point(self):
        # md5(b'foofoo') is foo's first point exactly: tooz bisects right,
        # so the key belongs to the point after it.
        members = ['foo', 'bar', 'baz']
        theirs = tooz_hashring.HashRing(members)
        ours = ring.HashRing(members)
        for key in (b'foofoo', b'barbar', b'bazbazbaz'):
            self.assertEqual(
                base.tooz_walk(theirs, key, replicas=3),
                ours.get_nodes(key, replicas=3),
            )
            self.assertEqual(
                base.tooz_walk(theirs, key)[0], ours.get_node(key)
            )

    def test_rings_that_keep_words_match_tooz(self):
        # Table.words, which rings of many points keep, on small rings.
        # A key equal to a point shares its word (other keys of a point's
        # word are in test_walks).
        self.patch(_table, 'WORDS_MIN_POINTS', 0)
        names = [f'compute-{i}' for i in range(40)]
        on_points = [f'compute-{i}'.encode() * 2 for i in range(40)]
        keys = [k.encode() for k in uuids(3000)] + on_points
        built = ring.HashRing(names, 4)
        for ours in (
            built,
            built.with_members(names[1:] + ['new-1']),
            built.with_members(names[3:]),
        ):
            self.assertIsNotNone(ours._words)
            theirs = tooz_ring_of(dict(ours.members), 4, 'md5')
            self._assert_same(ours, theirs, keys, None, 1)
            self._assert_same(ours, theirs, keys[:300] + on_points, None, 3)
            for key in keys:
                self.assertEqual(
                    base.tooz_walk(theirs, key)[0], ours.get_node(key)
                )


class PointsTestCase(base.TestCase):
    """Any number of points per member, as tooz's ``partitions``."""

    def test_any_count_matches_tooz(self):
        keys = [k.encode() for k in uuids(2000)] + [b"", b"fake"]
        weights = {'Conductor-1': 1, 'c\u00e9-2:8089': 2, b'raw': 3}
        for count in (1, 3, 7, 200, 1000):
            with self.subTest(points=count):
                theirs = tooz_hashring.HashRing([], partitions=count)
                for member, weight in weights.items():
                    theirs.add_node(member, weight=weight)
                ours = ring.HashRing(weights, points=count)
                invariants.check(ours)
                self.assertEqual(len(theirs), ours._count)
                self.assertEqual(
                    [base.tooz_walk(theirs, k)[0] for k in keys],
                    ours.map_keys(keys),
                )
                for key in keys[:50]:
                    self.assertEqual(
                        base.tooz_walk(theirs, key, replicas=3),
                        ours.get_nodes(key, replicas=3),
                    )

    def test_exponent_of_a_count(self):
        self.assertEqual(
            None, ring.HashRing(['a'], points=200).partition_exponent
        )
        self.assertEqual(200, ring.HashRing(['a'], points=200).points)
        self.assertEqual(3, ring.HashRing(['a'], points=8).partition_exponent)
        self.assertEqual(32, ring.HashRing(['a']).points)
        self.assertEqual(8, ring.HashRing(['a'], 3, points=8).points)

    def test_same_points_same_fingerprint(self):
        self.assertEqual(
            ring.HashRing(FOO_BAR_BAZ, 6).fingerprint,
            ring.HashRing(FOO_BAR_BAZ, points=64).fingerprint,
        )

    def test_with_members_keeps_the_count(self):
        r = ring.HashRing(FOO_BAR_BAZ, points=200, hash_function='sha1')
        other = r.with_members(['x', 'y'])
        self.assertEqual(200, other.points)
        self.assertEqual('sha1', other.hash_function)
        self.assertEqual(400, other._count)

    def test_with_the_same_members_shares_the_table(self):
        r = ring.HashRing({'a': 1, 'b': 2, 'c': 1}, 4)
        same = r.with_members({'c': 1, 'b': 2, 'a': 1})
        self.assertIsNot(r, same)
        self.assertIs(r._table, same._table)
        self.assertEqual(r.members, same.members)
        # A weight changed is a change.
        self.assertIsNot(
            r._table, r.with_members({'a': 1, 'b': 3, 'c': 1})._table
        )

    def test_bad_counts(self):
        for count in (0, -1, 2**16 + 1, 2.0, '8', True):
            with self.subTest(points=count):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    ring.HashRing,
                    FOO_BAR_BAZ,
                    points=count,
                )
                self.assertIn(repr(count), str(err))
                self.assertIn('points', str(err))

    def test_count_and_exponent_must_agree(self):
        err = self.assertRaises(
            exception.InvalidArgumentError,
            ring.HashRing,
            FOO_BAR_BAZ,
            5,
            points=200,
        )
        self.assertIn('points=200 and partition_exponent=5 disagree', str(err))


class CopyTestCase(base.TestCase):
    """Rings pickle and copy, as tooz's do."""

    def test_pickle_round_trip(self):
        for r in (
            ring.HashRing({'a': 2, b'b': 1, 'C:1': 3}, 4, 'sha256'),
            ring.HashRing(FOO_BAR_BAZ, points=200),
            ring.HashRing([]),
        ):
            r._generation = 7
            with self.subTest(ring=r):
                back = pickle.loads(pickle.dumps(r))
                self.assertIsNot(r, back)
                self.assertEqual(r.fingerprint, back.fingerprint)
                self.assertEqual(dict(r.members), dict(back.members))
                self.assertEqual(r.points, back.points)
                self.assertEqual(r.hash_function, back.hash_function)
                self.assertEqual(7, back.generation)
                keys = uuids(300)
                if len(r):
                    self.assertEqual(r.map_keys(keys), back.map_keys(keys))

    def test_pickle_in_another_process(self):
        r = ring.HashRing(['Conductor-1', 'conductor-2'], 5)
        code = (
            'import pickle, sys; '
            'r = pickle.loads(sys.stdin.buffer.read()); '
            'print(r.get_node("fake"), r.fingerprint)'
        )
        out = subprocess.run(
            [sys.executable, '-c', code],
            input=pickle.dumps(r),
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout.decode()
        self.assertEqual(f'{r.get_node("fake")} {r.fingerprint}\n', out)


class LookupTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.ring = ring.HashRing(FOO_BAR_BAZ)

    def test_str_and_bytes_keys_agree(self):
        for key in ['fake', '\u0634\u0628\u06a9\u0647', 'caf\u00e9', '']:
            encoded = key.encode('utf-8')
            self.assertEqual(
                self.ring.get_node(encoded), self.ring.get_node(key)
            )
            self.assertEqual(
                self.ring.get_node(bytearray(encoded)), self.ring.get_node(key)
            )
            self.assertEqual(
                self.ring.get_node(memoryview(encoded)),
                self.ring.get_node(key),
            )
            self.assertEqual(
                self.ring.get_nodes(encoded, replicas=3),
                self.ring.get_nodes(key, replicas=3),
            )

    def test_str_subclass_key(self):
        class Name(str):
            pass

        self.assertEqual(
            self.ring.get_node('fake'), self.ring.get_node(Name('fake'))
        )
        self.assertEqual(['foo'], self.ring.map_keys([Name('fake')]))

    def test_str_subclass_cannot_change_its_encoding(self):
        class Odd(str):
            def encode(self, *args, **kwargs):
                return b'something else'

        keys = uuids(50)
        odd = [Odd(k) for k in keys]
        expected = [self.ring.get_node(k) for k in keys]
        self.assertEqual(expected, [self.ring.get_node(k) for k in odd])
        self.assertEqual(expected, self.ring.map_keys(odd))
        # A mixture takes the key-by-key path.
        self.assertEqual(expected, self.ring.map_keys([*odd, b'x'])[:-1])
        self.assertEqual(
            [self.ring.get_nodes(k, replicas=2) for k in keys],
            [self.ring.get_nodes(k, replicas=2) for k in odd],
        )

    def test_members_are_returned_as_given(self):
        r = ring.HashRing([b'foo', 'bar', b'baz'])
        self.assertEqual(
            [b'foo', 'bar', b'baz'], r.get_nodes('fake', replicas=3)
        )

    def test_walks_in_c_are_the_walk_in_python(self):
        # get_nodes takes a slice of the owners, or a kept short walk,
        # from the point the walk tables give; _walk bisects the whole
        # ring and walks point by point.  Rings updated in place keep dead
        # points and stale index entries: they must agree too.
        keys = uuids(600)
        rng = random.Random(7)
        with_dead = 0
        for size in (1, 2, 3, 5, 10, 60):
            names = [f'svc-{i}' for i in range(size)]
            weights = {n: rng.randint(1, 3) for n in names}
            fresh = ring.HashRing(weights, 4)
            rings = [fresh]
            if size > 1:
                rings.append(
                    fresh.with_members(
                        {**weights, 'joiner': 2, names[0]: weights[names[0]]}
                    ).with_members({n: weights[n] for n in names[1:]})
                )
            for r in rings:
                with_dead += bool(r._table.dead)
                for key in keys:
                    digest = hashing.digest(r._base, key)
                    for replicas in (1, 2, 3, 4, 5, 7):
                        wanted = min(replicas, len(r))
                        self.assertEqual(
                            _walks.walk(r._table, digest, wanted, set()),
                            r.get_nodes(key, replicas=replicas),
                            (size, key, replicas),
                        )
        self.assertGreaterEqual(with_dead, 2)

    def test_replicas_are_clamped_to_the_members(self):
        self.assertEqual(
            ['foo', 'bar', 'baz'], self.ring.get_nodes('fake', replicas=10)
        )

    def test_ignore_everything(self):
        self.assertEqual(
            [], self.ring.get_nodes('fake', ignore_nodes=FOO_BAR_BAZ)
        )

    def test_ignore_does_not_move_other_keys(self):
        keys = uuids(2000)
        before = self.ring.map_keys(keys)
        for key, owner in zip(keys, before):
            got = self.ring.get_nodes(key, ignore_nodes=['baz'])
            if owner != 'baz':
                self.assertEqual([owner], got)
            else:
                self.assertNotEqual(['baz'], got)

    def test_ignore_accepts_bytes_for_str_members(self):
        self.assertEqual(
            ['bar', 'baz'],
            self.ring.get_nodes('fake', ignore_nodes=[b'foo'], replicas=2),
        )

    def test_map_keys_matches_get_node(self):
        strs = uuids(5000)
        for members in (['solo'], FOO_BAR_BAZ, [f'm{i}' for i in range(300)]):
            r = ring.HashRing(members, partition_exponent=3)
            # All str and all bytes are hashed in one pass each; a mixture
            # key by key.
            for keys in (
                strs,
                [k.encode() for k in strs],
                [*strs, b'raw', bytearray(b'ba'), memoryview(b'mv'), ''],
            ):
                self.assertEqual(
                    [r.get_node(k) for k in keys], r.map_keys(keys)
                )
                self.assertEqual(r.map_keys(keys), r.map_keys(iter(keys)))
            # One key takes another path than many (itemgetter of one
            # index gives an item, not a tuple).
            for key in strs[:50]:
                self.assertEqual([r.get_node(key)], r.map_keys([key]))
        self.assertEqual([], r.map_keys([]))

    def test_map_keys_with_hashlibs_md5(self):
        # Without CPython's built-in md5, keys are hashed key by key with
        # hashlib's, to the same owners.
        keys = uuids(2000)
        expected = ring.HashRing(FOO_BAR_BAZ).map_keys(keys)
        self.patch(hashing, '_BUILTIN_MD5_AGREES', False)
        r = ring.HashRing(FOO_BAR_BAZ)
        self.assertIsNone(r._plain)
        self.assertEqual(expected, r.map_keys(keys))
        self.assertEqual(expected, r.map_keys([k.encode() for k in keys]))

    def test_single_member_owns_everything(self):
        r = ring.HashRing(['only'], partition_exponent=0)
        self.assertEqual({'only'}, set(r.map_keys(uuids(1000))))
        self.assertEqual(['only'], r.get_nodes('x', replicas=3))
        invariants.check(r)

    def test_weights_spread_keys_proportionally(self):
        r = ring.HashRing({'small': 1, 'big': 3}, partition_exponent=8)
        owners = r.map_keys(uuids(20000))
        share = owners.count('big') / len(owners)
        self.assertGreater(share, 0.65)
        self.assertLess(share, 0.85)

    def test_empty_ring(self):
        r = ring.HashRing([])
        self.assertEqual(0, len(r))
        self.assertEqual({}, dict(r.members))
        for call in (
            lambda: r.get_node('k'),
            lambda: r.get_nodes('k', replicas=2),
            lambda: r.get_nodes('k', ignore_nodes=['x']),
            lambda: r.map_keys(['k']),
        ):
            err = self.assertRaises(exception.EmptyRingError, call)
            self.assertIsInstance(err, LookupError)
            self.assertIn('no members', str(err))
        self.assertEqual([], r.map_keys([]))
        invariants.check(r)


class WithOtherMembersTestCase(base.TestCase):
    def test_with_members(self):
        r = ring.HashRing(FOO_BAR_BAZ, 4, 'sha1')
        bigger = r.with_members({'foo': 1, 'bar': 1, 'baz': 1, 'qux': 2})
        self.assertEqual({'foo', 'bar', 'baz'}, set(r.members))
        self.assertEqual(4, bigger.partition_exponent)
        self.assertEqual('sha1', bigger.hash_function)
        self.assertEqual(2, bigger.members['qux'])
        self.assertEqual(
            ring.HashRing(bigger.members, 4, 'sha1').fingerprint,
            bigger.fingerprint,
        )

    def test_order_of_members_does_not_matter(self):
        names = [f'n{i}' for i in range(50)]
        a = ring.HashRing(names)
        b = ring.HashRing(list(reversed(names)))
        self.assertEqual(a.fingerprint, b.fingerprint)
        self.assertEqual(list(a.members), list(b.members))
        keys = uuids(3000)
        self.assertEqual(a.map_keys(keys), b.map_keys(keys))


class DeterminismTestCase(base.TestCase):
    def test_same_ring_in_processes_with_other_hash_seeds(self):
        script = (
            'import json, uuid, hashring\n'
            "members = {f'compute-{i}': 1 + i % 3 for i in range(40)}\n"
            'r = hashring.HashRing(members, 6)\n'
            'keys = [str(uuid.uuid5(uuid.NAMESPACE_OID, str(i)))\n'
            '        for i in range(2000)]\n'
            'print(json.dumps([r.fingerprint, r.map_keys(keys),'
            ' r.get_nodes(keys[0], replicas=5)]))\n'
        )
        results = base.under_hash_seeds(script, ('0', '7', '4242', 'random'))
        self.assertEqual(1, len(set(results)))
        fingerprint, owners, walk = json.loads(results[0])
        here = ring.HashRing({f'compute-{i}': 1 + i % 3 for i in range(40)}, 6)
        self.assertEqual(here.fingerprint, fingerprint)
        self.assertEqual(
            here.map_keys(
                [
                    str(uuid.uuid5(uuid.NAMESPACE_OID, str(i)))
                    for i in range(2000)
                ]
            ),
            owners,
        )


class ThreadTestCase(base.TestCase):
    def test_threads_share_one_ring(self):
        r = ring.HashRing([f'c{i}' for i in range(20)])
        keys = uuids(3000)
        expected = r.map_keys(keys)
        errors = []

        def work():
            try:
                for _ in range(3):
                    if [r.get_node(k) for k in keys] != expected:
                        errors.append('get_node differs')
                    if r.map_keys(keys) != expected:
                        errors.append('map_keys differs')
                    if r.get_nodes(keys[0], replicas=3)[0] != expected[0]:
                        errors.append('get_nodes differs')
            except Exception as exc:
                errors.append(repr(exc))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([], errors)


class PropertyTestCase(base.TestCase):
    names = st.lists(
        st.text(
            alphabet='abcdefghijklmnopqrstuvwxyz0123456789-',
            min_size=3,
            max_size=10,
        ),
        min_size=1,
        max_size=15,
        unique=True,
    )

    @hypothesis.given(names=names, newcomer=st.text(min_size=1, max_size=8))
    def test_join_moves_keys_only_to_the_newcomer(self, names, newcomer):
        hypothesis.assume(newcomer not in names)
        old = ring.HashRing(names, 3)
        new = old.with_members([*names, newcomer])
        hypothesis.assume(new._count == 8 * (len(names) + 1))
        keys = uuids(400)
        for key, before, after in zip(
            keys, old.map_keys(keys), new.map_keys(keys)
        ):
            if before != after:
                self.assertEqual(newcomer, after, key)

    @hypothesis.given(names=names, data=st.data())
    def test_leave_moves_only_the_leavers_keys(self, names, data):
        hypothesis.assume(len(names) > 1)
        leaver = data.draw(st.sampled_from(names))
        old = ring.HashRing(names, 3)
        new = old.with_members([n for n in names if n != leaver])
        keys = uuids(400)
        for key, before, after in zip(
            keys, old.map_keys(keys), new.map_keys(keys)
        ):
            if before != after:
                self.assertEqual(leaver, before, key)
            # The replica walk after a leave is the old walk minus the leaver.
        for key in keys[:50]:
            walk = old.get_nodes(key, replicas=len(names))
            self.assertEqual(
                [n for n in walk if n != leaver],
                new.get_nodes(key, replicas=len(names)),
            )

    @hypothesis.given(
        names=names,
        replicas=st.integers(1, 20),
        data=st.data(),
        key=st.binary(max_size=20),
    )
    def test_replicas_distinct_bounded_and_never_ignored(
        self, names, replicas, data, key
    ):
        ignored = data.draw(st.lists(st.sampled_from(names), unique=True))
        r = ring.HashRing(names, 2)
        got = r.get_nodes(key, ignore_nodes=ignored, replicas=replicas)
        self.assertEqual(len(set(got)), len(got))
        self.assertEqual(min(replicas, len(names) - len(ignored)), len(got))
        self.assertFalse(set(got) & set(ignored))
        if not ignored:
            self.assertEqual(r.get_node(key), got[0])


class BadInputTestCase(base.TestCase):
    def test_bad_members(self):
        cases = [
            (['a', None], None, 'must be str or bytes'),
            (['a', 1], 1, 'must be str or bytes'),
            ([['a']], ['a'], 'must be str or bytes'),
            (['a', ''], '', 'a name is required'),
            ([b''], b'', 'a name is required'),
            (['a', 'a'], 'a', "same member as 'a'"),
            (['x', b'x'], b'x', "same member as 'x'"),
            ({'a': 0}, 'a', 'weight 0 is below 1'),
            ({'a': -2}, 'a', 'weight -2 is below 1'),
            ({'a': 1.5}, 'a', 'weight 1.5 is not an integer'),
            ({'a': '2'}, 'a', "weight '2' is not an integer"),
            ({'a': True}, 'a', 'weight True is not an integer'),
            (['\ud800'], '\ud800', 'cannot be encoded as UTF-8'),
        ]
        for members, bad, message in cases:
            with self.subTest(members=members):
                err = self.assertRaises(
                    exception.InvalidMemberError, ring.HashRing, members
                )
                self.assertIsInstance(err, ValueError)
                self.assertIsInstance(err, exception.HashRingError)
                self.assertIn(message, str(err))
                self.assertIn(repr(bad), str(err))
                self.assertEqual(bad, err.member)

    def test_bad_members_argument(self):
        for members in (None, 5, 'abc', b'abc'):
            with self.subTest(members=members):
                err = self.assertRaises(
                    exception.InvalidArgumentError, ring.HashRing, members
                )
                self.assertIn(repr(members), str(err))

    def test_bad_exponent(self):
        for exponent in (-1, 17, 2.0, '5', True):
            with self.subTest(exponent=exponent):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    ring.HashRing,
                    FOO_BAR_BAZ,
                    exponent,
                )
                self.assertIn(repr(exponent), str(err))
                self.assertIsInstance(err, ValueError)

    def test_too_many_points(self):
        err = self.assertRaises(
            exception.InvalidArgumentError,
            ring.HashRing,
            {'a': 2**9, 'b': 1},
            15,
        )
        self.assertIn('16809984 points is too large', str(err))

    def test_bad_hash_function(self):
        for name in ('nope', 'shake_128', 'shake_256', 'MD5x', None, 5):
            with self.subTest(name=name):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    ring.HashRing,
                    FOO_BAR_BAZ,
                    5,
                    name,
                )
                self.assertIn(repr(name), str(err))
                self.assertIsInstance(err, ValueError)

    def test_bad_keys(self):
        r = ring.HashRing(FOO_BAR_BAZ)
        for key in (None, 1, 1.5, object(), ['a'], ('a',)):
            with self.subTest(key=key):
                for call in (
                    r.get_node,
                    lambda k: r.get_nodes(k, replicas=2),
                    lambda k: r.map_keys(['ok', k]),
                    lambda k: r.map_keys([b'ok', k]),
                ):
                    err = self.assertRaises(
                        exception.InvalidKeyError, call, key
                    )
                    self.assertIsInstance(err, TypeError)
                    self.assertIs(key, err.key)
                    self.assertIn(type(key).__name__, str(err))

    def test_unencodable_str_key(self):
        # The built-in md5's path (md5) and the hash objects' (sha256).
        for hash_function in ('md5', 'sha256'):
            r = ring.HashRing(FOO_BAR_BAZ, hash_function=hash_function)
            for call in (
                r.get_node,
                lambda k: r.get_nodes(k, replicas=2),
                lambda k: r.map_keys(['ok', k]),
            ):
                err = self.assertRaises(
                    exception.InvalidArgumentError, call, 'bad\ud800'
                )
                self.assertIn("'bad\\ud800'", str(err))

    def test_bad_replicas(self):
        r = ring.HashRing(FOO_BAR_BAZ)
        for replicas in (0, -1, 1.0, '2', None, True):
            with self.subTest(replicas=replicas):
                err = self.assertRaises(
                    exception.InvalidArgumentError,
                    r.get_nodes,
                    'k',
                    replicas=replicas,
                )
                self.assertIn(repr(replicas), str(err))

    def test_bad_ignore_nodes(self):
        r = ring.HashRing(FOO_BAR_BAZ)
        err = self.assertRaises(
            exception.InvalidArgumentError, r.get_nodes, 'k', 'foo'
        )
        self.assertIn("'foo'", str(err))
        err = self.assertRaises(
            exception.InvalidMemberError, r.get_nodes, 'k', [1]
        )
        self.assertEqual(1, err.member)
        err = self.assertRaises(
            exception.InvalidArgumentError, r.get_nodes, 'k', 7
        )
        self.assertIn('not 7', str(err))


class StrictKeysTestCase(base.TestCase):
    def test_keys_are_str_bytes_or_contiguous_byte_buffers(self):
        r = ring.HashRing(['a', 'b', 'c'])
        same = r.get_node(b'xyz')
        for key in (bytearray(b'xyz'), memoryview(b'xyz')):
            self.assertEqual(same, r.get_node(key))
            self.assertEqual([same], r.map_keys([key]))
        for key in (array.array('i', [1, 2]), memoryview(b'xyzw')[::2]):
            self.assertRaises(exception.InvalidKeyError, r.get_node, key)
            self.assertRaises(exception.InvalidKeyError, r.map_keys, [key])
            self.assertRaises(
                exception.InvalidKeyError, r.get_nodes, key, replicas=2
            )

    def test_a_str_is_not_a_batch_of_keys(self):
        r = ring.HashRing(['a', 'b'])
        for keys in ('abc', b'abc', None, 5):
            err = self.assertRaises(
                exception.InvalidArgumentError, r.map_keys, keys
            )
            self.assertIn('keys must be a collection', str(err))
