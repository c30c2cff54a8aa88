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

"""The ring refuses bad members, parameters and keys, naming them."""

import array

from hashring import exception
from hashring import ring
from hashring.tests import base
from hashring.tests import test_ring

FOO_BAR_BAZ = test_ring.FOO_BAR_BAZ


class _Name(str):
    """A member name of a str subclass: equal to its str, not the same."""


class BadInputTestCase(base.TestCase):
    def test_bad_members(self):
        cases = [
            (['a', None], None, 'must be str or bytes'),
            (['a', 1], 1, 'must be str or bytes'),
            ([['a']], ['a'], 'must be str or bytes'),
            (['a', ''], '', 'a name is required'),
            ([b''], b'', 'a name is required'),
            (['a', 'a'], 'a', 'it is listed twice'),
            (['a', _Name('a')], 'a', "same member as 'a'"),
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
