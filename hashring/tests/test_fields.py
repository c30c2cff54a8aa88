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

import types

from hashring import exception
from hashring import fields
from hashring.tests import base


class FieldTestCase(base.TestCase):
    def test_a_batch_reads_what_one_by_one_reads(self):
        class Sub(dict):
            pass

        get = fields.field('id', 'uuid')
        ns = types.SimpleNamespace
        for nodes in (
            [{'id': 1}, {'id': 2, 'uuid': 'u'}],
            [{'uuid': 'a'}, {'uuid': 'b'}],
            [{'id': 1}, {'uuid': 'b'}],
            [ns(id=1), ns(uuid='b', id=None)],
            [ns(uuid='a'), ns(uuid='b')],
            [ns(id=1), {'uuid': 'b'}],
            [Sub(id=1), Sub(uuid='b')],
            [],
        ):
            with self.subTest(nodes=nodes):
                one_by_one = [get(n) for n in nodes]
                self.assertEqual(one_by_one, get.of_all(nodes))
                # A filter finds the nodes' types once for both fields.
                kinds = fields.kinds_of(nodes)
                self.assertEqual({type(n) for n in nodes}, set(kinds))
                self.assertEqual(one_by_one, get.of_all(nodes, kinds))
        for nodes in ([{'id': 1}, {'name': 'x'}], [ns(id=1), ns(name='x')]):
            err = self.assertRaises(
                exception.InvalidArgumentError, get.of_all, nodes
            )
            self.assertIn('none of the fields id, uuid', str(err))

    def test_of_all_takes_any_key_function(self):
        nodes = [{'id': 'a', 'name': 'x'}, {'id': 'b', 'name': 'y'}]
        kinds = fields.kinds_of(nodes)
        self.assertEqual(
            ['a', 'b'], fields.of_all(fields.field('id'), nodes, kinds)
        )
        self.assertEqual(
            ['X', 'Y'],
            fields.of_all(lambda n: n['name'].upper(), nodes, kinds),
        )


class RefuseUnhashableTestCase(base.TestCase):
    def test_names_the_first_node_that_cannot_be_hashed(self):
        ids = ['n1', 'n2', 'n3']
        fields.refuse_unhashable(ids, [None, 'i', ('t', 1)])
        err = self.assertRaises(
            exception.InvalidArgumentError,
            fields.refuse_unhashable,
            ids,
            [None, ['i'], {'i': 1}],
        )
        self.assertIn(
            "Node 'n2' has the instance ['i'] of type list", str(err)
        )
        err = self.assertRaises(
            exception.InvalidKeyError,
            fields.refuse_unhashable,
            ['n1', bytearray(b'n2')],
            [None, []],
        )
        self.assertEqual(bytearray(b'n2'), err.key)
