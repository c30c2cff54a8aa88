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

import hashlib
import struct

from hashring import exception
from hashring import hashing
from hashring import ring
from hashring.tests import base


class HashConstructorTestCase(base.TestCase):
    def test_fixed_length_algorithms(self):
        for name in hashing.fixed_length_algorithms():
            with self.subTest(name=name):
                try:
                    ctor = hashing.hash_constructor(name)
                except exception.InvalidArgumentError as exc:
                    # Listed by OpenSSL but disabled by its configuration.
                    self.assertIn('disabled', str(exc))
                    continue
                self.assertEqual(
                    hashlib.new(name, b'abc').digest(),
                    ctor(b'abc', usedforsecurity=False).digest(),
                )

    def test_md5_is_called_not_for_security(self):
        calls = []
        real = hashlib.md5

        def spy(data=b'', **kwargs):
            calls.append(kwargs)
            return real(data, **kwargs)

        # Without CPython's built-in md5, hashlib's is used.
        self.patch(hashing, '_md5', None)
        self.patch(hashing, '_BUILTIN_MD5_AGREES', False)
        self.patch(hashlib, 'md5', spy)
        self.assertIs(spy, hashing.hash_constructor('md5'))
        r = ring.HashRing(['a', 'b'])
        r.get_node('k')
        r.map_keys(['k', b'j'])
        hashing.partition_of('k', 8)
        self.assertGreater(len(calls), 3)
        self.assertTrue(all(c == {'usedforsecurity': False} for c in calls))

    def test_only_the_builtin_md5_is_called_without_its_keyword(self):
        # A FIPS host's OpenSSL md5 refuses a call without
        # usedforsecurity=False; CPython's own ignores the flag.
        for name in ('sha256', 'sha1', 'blake2b'):
            ctor = hashing.hash_constructor(name)
            self.assertIsNone(hashing.plain_constructor(ctor))
        self.assertIsNone(hashing.plain_constructor(hashlib.md5))
        if hashing._md5 is not None:
            builtin = hashing._md5.md5
            self.assertIs(builtin, hashing.plain_constructor(builtin))

    def test_builtin_md5_is_used_only_when_it_agrees(self):
        if hashing._md5 is None:
            self.skipTest('this CPython has no built-in md5')
        self.assertIs(hashing._md5.md5, hashing.hash_constructor('md5'))
        self.patch(hashing, '_BUILTIN_MD5_AGREES', False)
        self.assertIs(hashlib.md5, hashing.hash_constructor('md5'))
        r = ring.HashRing(['foo', 'bar', 'baz'])
        self.assertEqual('foo', r.get_node('fake'))
        self.patch(hashing, '_BUILTIN_MD5_AGREES', True)

        class Refusing:
            @staticmethod
            def md5(data=b'', **kwargs):
                raise ValueError('disabled for FIPS')

        class Wrong:
            @staticmethod
            def md5(data=b'', **kwargs):
                return hashlib.sha256(data)

        self.assertTrue(hashing._builtin_md5_agrees())
        for fake in (Refusing, Wrong, None):
            with self.subTest(fake=fake):
                self.patch(hashing, '_md5', fake)
                self.assertFalse(hashing._builtin_md5_agrees())

    def test_variable_length_refused(self):
        for name in ('shake_128', 'shake_256'):
            err = self.assertRaises(
                exception.InvalidArgumentError, hashing.hash_constructor, name
            )
            self.assertIn('no fixed digest length', str(err))
            self.assertNotIn(name, hashing.fixed_length_algorithms())

    def test_unknown_refused_with_the_choices(self):
        err = self.assertRaises(
            exception.InvalidArgumentError, hashing.hash_constructor, 'md6'
        )
        self.assertIn("'md6' is not supported", str(err))
        self.assertIn('sha256', str(err))


class EncodeTestCase(base.TestCase):
    def test_encode(self):
        self.assertEqual(b'caf\xc3\xa9', hashing.encode('caf\u00e9'))
        self.assertEqual(b'raw', hashing.encode(b'raw'))
        self.assertEqual(b'raw', hashing.encode(bytearray(b'raw')))
        self.assertEqual(b'raw', hashing.encode(memoryview(b'raw')))

    def test_never_str_of_an_object(self):
        for value in (1, None, 2.5, object(), ['a']):
            err = self.assertRaises(
                exception.InvalidKeyError, hashing.encode, value
            )
            self.assertIs(value, err.key)


class DigestsTestCase(base.TestCase):
    def test_digests_are_those_of_the_encoded_keys(self):
        keys = ['caf\u00e9', b'raw', 'plain']
        for name in ('md5', 'sha1'):
            ctor = hashing.hash_constructor(name)
            base_hash = ctor(b'', usedforsecurity=False)
            plain = hashing.plain_constructor(ctor)
            expected = [
                hashlib.new(name, hashing.encode(k)).digest() for k in keys
            ]
            self.assertEqual(
                expected, [hashing.digest(base_hash, k) for k in keys]
            )
            # All str, all bytes, mixed, other buffers, and an iterator:
            # the same digests on every path.
            self.assertEqual(
                expected[::2],
                hashing.digests(base_hash, plain, keys[::2]),
            )
            self.assertEqual(
                [expected[1]] * 2,
                hashing.digests(base_hash, plain, (b'raw', b'raw')),
            )
            self.assertEqual(
                expected, hashing.digests(base_hash, plain, iter(keys))
            )
            self.assertEqual(
                expected[1:2],
                hashing.digests(base_hash, plain, [bytearray(b'raw')]),
            )

    def test_bad_keys_are_refused_by_value(self):
        ctor = hashing.hash_constructor('md5')
        base_hash = ctor(b'', usedforsecurity=False)
        plain = hashing.plain_constructor(ctor)
        for bad in (1, None, ['a']):
            err = self.assertRaises(
                exception.InvalidKeyError,
                hashing.digests,
                base_hash,
                plain,
                ['fine', bad],
            )
            self.assertIs(bad, err.key)
        self.assertRaises(
            exception.InvalidArgumentError,
            hashing.digests,
            base_hash,
            plain,
            'one key',
        )
        self.assertRaises(
            exception.InvalidArgumentError,
            hashing.digest,
            base_hash,
            '\ud800',
        )


class PartitionOfTestCase(base.TestCase):
    def test_swift_formula(self):
        # Swift: unpack('>I', md5(path).digest()[:4])[0] >> (32 - power).
        for key in ('a', 'node-1', '\u0634\u0628\u06a9\u0647', ''):
            digest = hashlib.md5(key.encode()).digest()
            for power in (0, 1, 8, 16, 32):
                expected = struct.unpack('>I', digest[:4])[0] >> (32 - power)
                self.assertEqual(expected, hashing.partition_of(key, power))
                self.assertEqual(
                    expected, hashing.partition_of(key.encode(), power)
                )

    def test_golden(self):
        # md5(b'fake') = 144c9def...: the top 8 bits are 0x14.
        self.assertEqual(0x14, hashing.partition_of(b'fake', 8))
        self.assertEqual(0x144C, hashing.partition_of('fake', 16))

    def test_range(self):
        for i in range(200):
            self.assertLess(hashing.partition_of(f'k{i}', 5), 32)

    def test_bad_power(self):
        for power in (-1, 33, 2.0, None, True):
            err = self.assertRaises(
                exception.InvalidArgumentError,
                hashing.partition_of,
                'k',
                power,
            )
            self.assertIn(repr(power), str(err))

    def test_bad_key(self):
        self.assertRaises(
            exception.InvalidKeyError, hashing.partition_of, 5, 8
        )
