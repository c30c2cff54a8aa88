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

import os
import random

import fixtures
from oslo_config import cfg

from hashring import claims
from hashring import exception
from hashring import manager
from hashring import opts
from hashring import ownership
from hashring.tests import base

KEYS = [f'node-{i}' for i in range(80)]


class Services(base.TestCase):
    """Services sharing a real file membership."""

    def setUp(self):
        super().setUp()
        self.path = os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'members'
        )

    def source(self, name=None):
        return self.file_source(self.path, name)

    def service(self, name, **kw):
        source = self.source(name)
        # Alone, it would take nothing until then (taking.settled).
        self.wait_settled(source)
        return manager.RingManager(source, host=name, reset_interval=0, **kw)


class TenancyTestCase(Services):
    """The host's API of a manager."""

    def test_a_joined_host_runs_the_protocol_by_default(self):
        joined = self.service('a')
        self.assertIsNotNone(joined.handoff)
        self.assertIs(joined.handoff, joined.handoff)
        self.assertIsNone(self.service('b', handoff=False).handoff)
        conf = cfg.ConfigOpts()
        opts.register_opts(conf)
        conf.set_override('handoff', False, opts.GROUP)
        self.assertIsNone(self.service('c', conf=conf).handoff)
        # A manager that only reads (a tool, Nova's driver over a table it
        # does not write) publishes nothing.
        reader = manager.RingManager(self.source(), host='a')
        self.assertIsNone(reader.handoff)
        self.assertIsNone(manager.RingManager(self.source()).handoff)

    def test_a_bad_handoff_setting_is_refused_by_name(self):
        error = self.assertRaises(
            exception.InvalidArgumentError,
            manager.RingManager,
            self.source(),
            handoff='yes',
        )
        self.assertIn('handoff', str(error))
        self.assertIn("'yes'", str(error))

    def test_owns_needs_a_host(self):
        reader = manager.RingManager(self.source())
        for call in (lambda: reader.owns('k'), lambda: reader.owned(['k'])):
            error = self.assertRaises(exception.InvalidArgumentError, call)
            self.assertIn('host', str(error))

    def test_without_the_protocol_owns_is_the_plain_ring(self):
        self.service('b', handoff=False)
        mgr = self.service('a', handoff=False)
        ring = mgr.get_ring()
        mine = [k for k in KEYS if ring.get_node(k) == 'a']
        self.assertTrue(0 < len(mine) < len(KEYS))
        self.assertEqual(mine, mgr.owned(KEYS))
        self.assertEqual(mine, [k for k in KEYS if mgr.owns(k)])
        self.assertIsNone(mgr.token(mine[0]))

    def test_one_key_at_a_time_never_twice_and_converges(self):
        # Ironic asks about one node at a time, in no particular order;
        # at no moment may two services both be told a node is theirs.
        rng = random.Random(5)
        services = {'a': self.service('a')}
        said = {}  # key -> the services last told it is theirs

        def ask(name, key):
            owners = said.setdefault(key, set())
            if services[name].owns(key):
                owners.add(name)
            else:
                owners.discard(name)
            self.assertLessEqual(len(owners), 1, (key, owners))

        for key in KEYS:
            ask('a', key)
        self.assertEqual(set(KEYS), {k for k, o in said.items() if o})
        services['b'] = self.service('b')
        for _ in range(30):
            for key in rng.sample(KEYS, len(KEYS)):
                ask(rng.choice(sorted(services)), key)
            for name in services:
                for key in KEYS:
                    ask(name, key)
        ring = services['a'].get_ring()
        self.assertEqual(2, len(ring))
        self.assertEqual(
            {k: {ring.get_node(k)} for k in KEYS},
            said,
        )
        self.assertIsNotNone(services['b'].convergence().fingerprint)

    def test_asking_about_one_key_keeps_the_others(self):
        a = self.service('a')
        self.assertEqual(KEYS, a.owned(KEYS))
        b = self.service('b')
        ring = b.get_ring()
        theirs = [k for k in KEYS if ring.get_node(k) == 'b']
        # b announces; it waits for a, which still applies its old ring.
        self.assertFalse(b.owns(theirs[0]))
        ours = next(k for k in KEYS if ring.get_node(k) == 'a')
        self.assertTrue(a.owns(ours))
        # b has announced a ring with its keys: a answers "not yours" for
        # each as it is asked about it, and acknowledges the new ring (so
        # b may take them) only once it has said so for all of them.
        a.owns(ours)
        self.assertFalse(a.owns(theirs[1]))
        self.assertFalse(b.owns(theirs[1]))
        for key in theirs[2:]:
            a.owns(key)
        self.assertFalse(b.owns(theirs[1]))  # every one but theirs[0]
        self.assertFalse(a.owns(theirs[0]))
        a.owns(ours)  # acknowledges
        self.assertTrue(b.owns(theirs[1]))
        self.assertTrue(all(b.owns(k) for k in theirs))
        self.assertFalse(any(a.owns(k) for k in theirs))

    def test_tokens_stay_while_held_and_change_on_a_new_tenure(self):
        a = self.service('a')
        a.owned(KEYS)
        token = a.token(KEYS[0])
        self.assertIsInstance(token, claims.Token)
        self.assertEqual(f'a/{a.epoch}/{a.get_ring().generation}', str(token))
        a.owned(KEYS)
        self.assertEqual(token, a.token(KEYS[0]))
        b = self.service('b')
        for _ in range(4):
            b.owned(KEYS)
            a.owned(KEYS)
        moved = [k for k in KEYS if b.token(k) is not None]
        self.assertTrue(moved)
        self.assertIsNone(a.token(moved[0]))
        self.assertEqual('b', b.token(moved[0]).member)
        # b goes: the key comes back to a under a new token.
        b.leave(timeout=0)
        for _ in range(3):
            a.owned(KEYS)
        again = a.token(moved[0])
        self.assertIsNotNone(again)
        self.assertNotEqual(token.generation, again.generation)
        # A restarted service has another epoch.
        self.assertNotEqual(a.epoch, self.service('c').epoch)

    def test_convergence_and_since_when(self):
        a = self.service('a')
        a.owned(KEYS)
        a.owned(KEYS)
        first = a.convergence()
        self.assertEqual(a.get_ring().fingerprint, first.fingerprint)
        self.assertEqual({'a': first.fingerprint}, first.applied)
        self.assertEqual(first.since, a.convergence().since)
        b = self.service('b')
        b.owned(KEYS)  # moving: it announced its first ring
        moving = a.convergence()
        self.assertIsNone(moving.fingerprint)
        self.assertIsNone(moving.applied['b'])
        self.assertGreaterEqual(moving.since, first.since)
        for _ in range(4):
            a.owned(KEYS)
            b.owned(KEYS)
        done = b.convergence()
        self.assertEqual(b.get_ring().fingerprint, done.fingerprint)
        self.assertEqual(['a', 'b'], sorted(done.applied))
        # Since when is what the members published: every reader, even
        # one started later in another process, gives the same answer.
        readers = [manager.RingManager(self.source()) for _ in range(2)]
        self.assertEqual(
            {done.since}, {r.convergence().since for r in readers}
        )
        self.assertGreater(done.since, first.since)

    def test_a_member_that_publishes_nothing_applies_the_current_ring(self):
        self.service('old', handoff=False)  # an older release
        a = self.service('a')
        for _ in range(2):
            a.owned(KEYS)
        state = a.convergence()
        self.assertEqual(a.get_ring().fingerprint, state.fingerprint)
        self.assertEqual(state.fingerprint, state.applied['old'])

    def test_leave_waits_for_acknowledgements_or_leaves_at_once(self):
        a = self.service('a')
        b = self.service('b')
        for _ in range(3):
            a.owned(KEYS)
            b.owned(KEYS)
        # Nobody runs a's protocol meanwhile: b's claim still gives it
        # nodes, so b's leave waits, gives up and says so.
        with self.assertLogs('hashring.handoff', 'WARNING') as logs:
            self.assertFalse(b.leave(timeout=0.3))
        self.assertIn('acknowledgement of a', logs.output[0])
        self.assertIsNone(b.source.member_id)
        plain = self.service('c', handoff=False)
        # A bad timeout is refused with the protocol or without (it was
        # ignored without), and the member stays.
        for service in (plain, self.service('d')):
            err = self.assertRaises(
                exception.InvalidArgumentError, service.leave, timeout='x'
            )
            self.assertIn("timeout must be a finite number", str(err))
            self.assertIsNotNone(service.source.member_id)
        self.assertTrue(plain.leave())
        self.assertIsNone(plain.source.member_id)


class ReadTestCase(Services):
    """Where the host goes on the rings it reads."""

    def test_a_reader_that_registers_nothing_places_its_host_everywhere(self):
        self.source('conductor-1').join('conductor-1', 'other')
        # Nova: this process registers nothing, and its host (named in
        # another case) belongs on every ring it asks for.
        mgr = manager.RingManager(self.source(), host='Compute-1')
        for group in (None, 'other'):
            members, offline, alive = mgr._read(mgr.source.get_members(group))
            self.assertIn('Compute-1', members)
            self.assertNotIn('compute-1', members)
            self.assertIn('compute-1', alive)
            self.assertEqual(0, offline)
        self.assertEqual(['Compute-1', 'conductor-1'], list(members))
        self.assertEqual({'up': 1}, mgr._states['other'])

    def test_a_registered_host_is_placed_only_in_the_groups_it_joined(self):
        self.source().join('conductor-2', 'other')
        mgr = manager.RingManager(
            self.source('conductor-1'), host='conductor-1'
        )
        mine = mgr._read(mgr.source.get_members())
        self.assertEqual({'conductor-1': 1}, mine[0])
        # Another group's ring, which it merely reads: not on it.
        members, _, alive = mgr._read(mgr.source.get_members('other'))
        self.assertEqual({'conductor-2': 1}, members)
        self.assertEqual(frozenset({'conductor-2'}), alive)


class FilterTenancyTestCase(Services):
    """The ownership filter over a manager that runs the protocol."""

    def nodes(self):
        return [
            {'id': k, 'instance_id': 'i-1' if k == KEYS[0] else None}
            for k in KEYS
        ]

    def test_the_filter_runs_the_manager_s_protocol(self):
        a = self.service('a')
        flt = ownership.OwnershipFilter('a', manager=a)
        self.assertIs(a.handoff, flt.handoff)
        self.assertIsNone(
            ownership.OwnershipFilter('a', manager=a, handoff=False).handoff
        )
        flt.filter(self.nodes(), [])
        b = self.service('b')
        fb = ownership.OwnershipFilter('b', manager=b)
        first = fb.filter(self.nodes(), [])
        self.assertEqual([], first.owned)
        self.assertIn(ownership.Reason.HANDOFF, first.counts())
        self.assertGreater(first.counts()[ownership.Reason.HANDOFF], 0)
        # Without the protocol the newcomer takes its nodes at once,
        # while a still holds them.
        plain = ownership.OwnershipFilter('b', manager=b, handoff=False)
        self.assertTrue(plain.filter(self.nodes(), []).owned)

    def test_every_owned_node_carries_a_token(self):
        a = self.service('a')
        flt = ownership.OwnershipFilter('a', manager=a)
        result = flt.filter(self.nodes(), ['i-1'])
        ids = [n['id'] for n in result.owned]
        self.assertEqual(set(ids), set(result.tokens))
        self.assertEqual(
            {claims.Token('a', a.epoch, result.ring_generation)},
            set(result.tokens.values()),
        )
        # One set of tokens: the manager's answer per key is the result's,
        # for a node held through its instance too.
        self.assertIn(KEYS[0], result.tokens)
        for key, token in result.tokens.items():
            self.assertEqual(token, a.token(key))
        again = flt.filter(self.nodes(), ['i-1'])
        self.assertEqual(result.tokens, again.tokens)
        # A node it stops owning loses its token; taking it again gives
        # a new one.
        gone = flt.filter(self.nodes(), [])
        self.assertNotIn(KEYS[0], gone.tokens)
        self.assertIsNone(a.token(KEYS[0]))
