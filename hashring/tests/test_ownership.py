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

import itertools
import types
from unittest import mock
import uuid

from tooz import hashring as tooz_hashring

from hashring import exception
from hashring import manager
from hashring import ownership
from hashring import ring
from hashring.tests import base
from hashring.tests import test_manager

Reason = ownership.Reason
HOSTS = ['compute-1', 'compute-2', 'compute-3']


def node_ids(count):
    return [str(uuid.uuid5(uuid.NAMESPACE_OID, f'n{i}')) for i in range(count)]


class RulesTestCase(base.TestCase):
    def setUp(self):
        super().setUp()
        self.ring = ring.HashRing(HOSTS)
        ids = node_ids(200)
        owners = self.ring.map_keys(ids)
        # A node mapped here, one mapped elsewhere, by the ring.
        self.here = next(i for i, o in zip(ids, owners) if o == 'compute-1')
        self.there = next(i for i, o in zip(ids, owners) if o == 'compute-2')
        self.instances = {
            'inst-mine': 'compute-1',
            'inst-peer': 'compute-2',
            'inst-down-host': 'compute-9',
        }

    def decide(self, nodes, mine=(), **kwargs):
        kwargs.setdefault('instance_host', self.instances.get)
        flt = ownership.OwnershipFilter('compute-1', ring=self.ring, **kwargs)
        return flt.filter(nodes, mine)

    def test_the_rules(self):
        nodes = [
            {'id': self.here, 'instance_id': None},
            {'id': self.there, 'instance_id': None},
            {'id': 'a', 'instance_id': 'inst-mine'},
            {'id': 'b', 'instance_id': 'inst-peer'},
            {'id': self.here + '-x', 'instance_id': 'inst-down-host'},
            {'id': 'c', 'instance_id': 'inst-deleted'},
        ]
        result = self.decide(nodes, ['inst-mine'])
        reasons = {d.node_id: d.reason for d in result.decisions.values()}
        self.assertEqual(
            {
                self.here: Reason.RING,
                self.there: Reason.RING_ELSEWHERE,
                'a': Reason.OWN_INSTANCE,
                'b': Reason.INSTANCE_ELSEWHERE,
                self.here + '-x': Reason.ORPHAN,
                'c': Reason.ORPHAN,
            },
            reasons,
        )
        self.assertEqual(
            sorted([self.here + '-x', 'c']), sorted(result.orphans)
        )
        self.assertEqual('compute-2', result.decisions['b'].instance_host)
        self.assertIsNone(result.decisions['c'].instance_host)
        self.assertEqual(
            'compute-9', result.decisions[self.here + '-x'].instance_host
        )

    def test_orphans_are_adopted_by_the_ring_owner_or_reported(self):
        ids = node_ids(300)
        nodes = [{'id': i, 'instance_id': 'inst-deleted'} for i in ids]
        adopted = self.decide(nodes, orphan_policy='adopt')
        reported = self.decide(nodes, orphan_policy='report')
        mapped = {
            i for i, o in zip(ids, self.ring.map_keys(ids)) if o == 'compute-1'
        }
        self.assertEqual(mapped, {n['id'] for n in adopted.owned})
        self.assertEqual([], reported.owned)
        self.assertEqual(ids, adopted.orphans)
        self.assertEqual(ids, reported.orphans)
        # Across all hosts, every orphan is adopted exactly once.
        owners = []
        for host in HOSTS:
            flt = ownership.OwnershipFilter(
                host, ring=self.ring, instance_host=self.instances.get
            )
            owners += [n['id'] for n in flt.filter(nodes, []).owned]
        self.assertEqual(sorted(ids), sorted(owners))

    def test_instance_host_says_this_host(self):
        nodes = [{'id': 'a', 'instance_id': 'inst-mine'}]
        result = self.decide(nodes, [])
        self.assertEqual(Reason.OWN_INSTANCE, result.decisions['a'].reason)
        self.assertTrue(result.decisions['a'].owned)

    def test_hosts_compare_canonically(self):
        nodes = [{'id': 'b', 'instance_id': 'inst-peer'}]
        flt = ownership.OwnershipFilter(
            'COMPUTE-1 ',
            ring=self.ring,
            instance_host={'inst-peer': 'Compute-2'}.get,
        )
        result = flt.filter(
            nodes + [{'id': self.here, 'instance_id': None}], []
        )
        self.assertEqual(
            Reason.INSTANCE_ELSEWHERE, result.decisions['b'].reason
        )
        self.assertEqual([self.here], [n['id'] for n in result.owned])

    def test_owners_from_a_stand_in_for_the_ring_count(self):
        # Consumers' tests stand in for the ring's answers (Nova's mock
        # tooz's get_nodes): an owner the ring does not hold is compared
        # canonically all the same.
        nodes = [
            {'id': 'a', 'instance_id': None},
            {'id': 'b', 'instance_id': None},
            {'id': 'c', 'instance_id': 'inst-mine'},
        ]
        flt = ownership.OwnershipFilter('host-1', ring=self.ring)
        with mock.patch.object(
            ring.HashRing, 'map_keys', return_value=['HOST-1 ', 'host-2']
        ) as stand_in:
            result = flt.filter(nodes, ['inst-mine'])
        stand_in.assert_called_once_with(['a', 'b'])
        self.assertEqual(['a', 'c'], [n['id'] for n in result.owned])

    def test_alive_members_off_the_ring_keep_their_instances(self):
        nodes = [{'id': 'a', 'instance_id': 'inst-down-host'}]
        result = self.decide(nodes, alive=['Compute-9'])
        self.assertEqual(
            Reason.INSTANCE_ELSEWHERE, result.decisions['a'].reason
        )

    def test_without_instance_host_foreign_instances_stay_foreign(self):
        nodes = [{'id': 'c', 'instance_id': 'inst-deleted'}]
        result = self.decide(nodes, instance_host=None)
        self.assertEqual(
            Reason.INSTANCE_ELSEWHERE, result.decisions['c'].reason
        )
        self.assertEqual([], result.orphans)

    def test_objects_and_key_functions(self):
        nodes = [
            types.SimpleNamespace(uuid=self.here, instance_uuid=None),
            types.SimpleNamespace(name=self.there, server='inst-mine'),
        ]
        result = self.decide(nodes[:1], [])
        self.assertEqual([nodes[0]], result.owned)
        result = self.decide(
            nodes[1:],
            ['inst-mine'],
            node_id=lambda n: n.name,
            instance_id=lambda n: n.server,
        )
        self.assertEqual([nodes[1]], result.owned)

    def test_result_records_the_ring(self):
        result = self.decide([{'id': self.here, 'instance_id': None}])
        self.assertIsNone(result.ring_generation)
        self.assertEqual(self.ring.fingerprint, result.fingerprint)
        self.assertEqual('compute-1', result.host)
        self.assertEqual(1, result.counts()[Reason.RING])

    def test_bad_input(self):
        err = self.assertRaises(
            exception.InvalidArgumentError, self.decide, [{'name': 'x'}]
        )
        self.assertIn("{'name': 'x'}", str(err))
        self.assertIn('id, uuid', str(err))
        for instance, lookup in itertools.product(
            (None, 'i-1'), (self.instances.get, None)
        ):
            # With an instance and no instance_host too: its node is
            # decided without a lookup, and its id refused all the same.
            # (The call returns nothing: a Result's repr, made for the
            # failure message, would look the id up and raise itself.)
            nodes = [
                {'id': 'n-1', 'instance_id': None},
                {'id': 7, 'instance_id': instance},
            ]
            err = self.assertRaises(
                exception.InvalidKeyError,
                lambda: self.decide(nodes, instance_host=lookup) and None,
            )
            self.assertIn('7', str(err))
        for kwargs in ({}, {'ring': self.ring, 'manager': object()}):
            self.assertRaises(
                exception.InvalidArgumentError,
                ownership.OwnershipFilter,
                'h',
                **kwargs,
            )
        err = self.assertRaises(
            exception.InvalidArgumentError,
            ownership.OwnershipFilter,
            'h',
            ring=self.ring,
            orphan_policy='keep',
        )
        self.assertIn("'keep'", str(err))
        # A field's name for a key function failed at the first filter().
        for kwargs, text in (
            ({'node_id': 'uuid'}, "node_id must be a callable, not 'uuid'"),
            ({'instance_id': 5}, 'instance_id must be a callable, not 5'),
            ({'instance_host': {}}, 'instance_host must be a callable'),
        ):
            err = self.assertRaises(
                exception.InvalidArgumentError,
                ownership.OwnershipFilter,
                'h',
                ring=self.ring,
                **kwargs,
            )
            self.assertIn(text, str(err))


class NovaEquivalenceTestCase(base.TestCase):
    def test_same_as_novas_loop_over_tooz_when_nothing_is_orphaned(self):
        # Nova's get_available_nodes: own instances, else unoccupied nodes
        # the ring maps here, else nothing.
        ids = node_ids(3000)
        nodes = [
            {'uuid': i, 'instance_uuid': f'inst-{n}' if n % 4 == 0 else None}
            for n, i in enumerate(ids)
        ]
        mine = {f'inst-{n}' for n in range(0, 3000, 8)}
        tooz_ring = tooz_hashring.HashRing(HOSTS, partitions=32)
        expected = [
            n['uuid']
            for n in nodes
            if n['instance_uuid'] in mine
            or (
                n['instance_uuid'] is None
                and 'compute-1' in tooz_ring.get_nodes(n['uuid'].encode())
            )
        ]
        flt = ownership.OwnershipFilter('compute-1', ring=ring.HashRing(HOSTS))
        got = [n['uuid'] for n in flt.filter(nodes, mine).owned]
        self.assertEqual(expected, got)


class ManagerFilterTestCase(base.TestCase):
    def test_with_a_manager(self):
        source = test_manager.FakeSource()
        source.set(
            **{'compute-1': 'up', 'compute-2': 'draining', 'compute-3': 'down'}
        )
        mgr = manager.RingManager(source, host='compute-1')
        flt = ownership.OwnershipFilter(
            'compute-1',
            manager=mgr,
            instance_host={'i2': 'compute-2', 'i3': 'compute-3'}.get,
        )
        nodes = [
            {'id': 'a', 'instance_id': 'i2'},
            {'id': 'b', 'instance_id': 'i3'},
            {'id': 'c', 'instance_id': None},
        ]
        result = flt.filter(nodes, [])
        # compute-2 drains but runs: its instance stays with it.
        self.assertEqual(
            Reason.INSTANCE_ELSEWHERE, result.decisions['a'].reason
        )
        # compute-3 is down: its node is an orphan, adopted by the only
        # member up.
        self.assertEqual(Reason.ORPHAN, result.decisions['b'].reason)
        self.assertEqual(['b', 'c'], [n['id'] for n in result.owned])
        self.assertEqual(1, result.ring_generation)

    def test_a_new_ring_gives_its_own_names(self):
        # The filter keeps the last ring's names: a refresh's new ring
        # must bring its own.
        source = test_manager.FakeSource()
        source.set(**{'compute-1': 'down', 'compute-2': 'up'})
        mgr = manager.RingManager(source, host='compute-1')
        flt = ownership.OwnershipFilter('compute-1', manager=mgr)
        nodes = [{'id': f'n{i}', 'instance_id': None} for i in range(60)]
        self.assertEqual([], flt.filter(nodes, []).owned)
        source.set(**{'compute-1': 'up', 'compute-2': 'up'})
        mgr.refresh()
        ring_ = mgr.get_ring()
        mapped = [n for n in nodes if ring_.get_node(n['id']) == 'compute-1']
        self.assertTrue(mapped)
        result = flt.filter(nodes, [])
        self.assertEqual(mapped, result.owned)
        self.assertEqual(Reason.RING, result.decisions[mapped[0]['id']].reason)

    def test_a_member_gone_from_the_new_ring_leaves_orphans(self):
        # The ring's members count as alive: those of the ring now, not
        # of the last ring the filter saw.
        source = test_manager.FakeSource()
        source.set(**{'compute-1': 'up', 'compute-2': 'up'})
        mgr = manager.RingManager(source, host='compute-1')
        flt = ownership.OwnershipFilter(
            'compute-1', manager=mgr, instance_host={'i2': 'compute-2'}.get
        )
        nodes = [{'id': 'a', 'instance_id': 'i2'}]
        self.assertEqual(
            Reason.INSTANCE_ELSEWHERE,
            flt.filter(nodes, []).decisions['a'].reason,
        )
        source.set(**{'compute-1': 'up', 'compute-2': 'down'})
        mgr.refresh()
        self.assertEqual(['compute-1'], list(mgr.get_ring().members))
        result = flt.filter(nodes, [])
        self.assertEqual(Reason.ORPHAN, result.decisions['a'].reason)
        self.assertEqual(['a'], result.orphans)


class BadCollectionsTestCase(base.TestCase):
    def test_a_str_is_not_a_collection_of_ids(self):
        two = ring.HashRing(['a', 'b'])
        err = self.assertRaises(
            exception.InvalidArgumentError,
            ownership.OwnershipFilter,
            'a',
            ring=two,
            alive='abc',
        )
        self.assertIn('alive must be a collection', str(err))
        flt = ownership.OwnershipFilter('a', ring=two)
        nodes = [{'id': 'n1', 'instance_id': 'i1'}]
        for kwargs, name in (
            ({'nodes': nodes, 'instances': 'i1'}, 'instances'),
            ({'nodes': 'n1', 'instances': []}, 'nodes'),
            ({'nodes': None, 'instances': []}, 'nodes'),
        ):
            err = self.assertRaises(
                exception.InvalidArgumentError, flt.filter, **kwargs
            )
            self.assertIn(f'{name} must be a collection', str(err))

    def test_what_cannot_be_hashed_is_refused_by_name(self):
        # A bytes-like id the ring takes (a bytearray) cannot be a
        # decision's key; nor can a list be an instance.
        two = ring.HashRing(['a', 'b'])
        cases = (
            (
                (bytearray(b'n1'), None),
                ['i1'],
                exception.InvalidKeyError,
                "bytearray(b'n1')",
            ),
            (
                ('n1', ['i1']),
                ['i1'],
                exception.InvalidArgumentError,
                "Node 'n1' has the instance ['i1'] of type list",
            ),
            (
                ('n1', bytearray(b'i1')),
                [],
                exception.InvalidArgumentError,
                "instance bytearray(b'i1') of type bytearray",
            ),
            (
                ('n1', 'i1'),
                [['i1']],
                exception.InvalidArgumentError,
                "instances holds ['i1'] of type list",
            ),
        )
        for (nid, instance), mine, error, text in cases:
            for lookup in (None, {'i1': 'b'}.get):
                flt = ownership.OwnershipFilter(
                    'a', ring=two, instance_host=lookup
                )
                nodes = [
                    {'id': 'n0', 'instance_id': None},
                    {'id': nid, 'instance_id': instance},
                ]
                with self.subTest(nid=nid, instance=instance, lookup=lookup):
                    err = self.assertRaises(
                        error, lambda: flt.filter(nodes, mine) and None
                    )
                    self.assertIn(text, str(err))
