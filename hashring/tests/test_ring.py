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

"""The ring's lookups, copies and changes of members.

Its points and answers against tooz's are in test_ring_tooz, its refusal
of bad input in test_ring_input.
"""

import json
import pickle
import random
import subprocess
import sys
import threading
import uuid

import hypothesis
from hypothesis import strategies as st

from hashring import _walks
from hashring import exception
from hashring import hashing
from hashring import ring
from hashring.tests import base
from hashring.tests import invariants

FOO_BAR_BAZ = ['foo', 'bar', 'baz']


def uuids(count, seed='keys'):
    return [
        str(uuid.uuid5(uuid.NAMESPACE_OID, f'{seed}-{i}'))
        for i in range(count)
    ]


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
