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

"""The handoff protocol, model-checked over thousands of schedules.

Services of a model take one step at a time, in random orders and at
random speeds; the checker holds that no key is ever managed by two and
that every schedule converges on the ring of the members.
"""

import random

from hashring import handoff
from hashring import ring
from hashring.tests import base
from hashring.tests import worlds

KEYS = worlds.KEYS


class Service:
    """One member running the protocol, one step at a time."""

    def __init__(self, name, model):
        self.name = name
        self.model = model
        self.alive = True
        self.leaving = False
        self.applied = None
        self.target = None
        self.phase = 'idle'
        self.claims = []
        self.owned = set()
        self.cache = handoff.RingCache()

    def publish(self, applied, intended):
        self.model.store[self.name] = handoff.Claim(
            self.name,
            None if applied is None else handoff.RingSpec.of(applied),
            None if intended is None else handoff.RingSpec.of(intended),
        )

    def step(self):
        model = self.model
        if not self.alive:
            return
        if self.phase == 'idle':
            self.target = model.ring_for(self)
            if self.applied is None or (
                self.target.fingerprint != self.applied.fingerprint
            ):
                # 1. Announce the intent before reading anyone's claims.
                self.publish(self.applied, self.target)
            self.phase = 'intended'
        elif self.phase == 'intended':
            # 2. Read the live peers' claims.
            self.claims = [
                c for m, c in model.store.items() if m not in model.dead
            ]
            self.phase = 'read'
        elif self.phase == 'read':
            # 3. Manage what the protocol gives: releases and takes.
            self.owned = set(
                handoff.owned(
                    self.target,
                    self.name,
                    KEYS,
                    self.claims,
                    self.cache,
                    held=self.owned,
                )
            )
            self.phase = 'acted'
        elif self.phase == 'acted':
            # 4. Acknowledge: the target is applied.
            if self.applied is None or (
                self.target.fingerprint != self.applied.fingerprint
            ):
                self.publish(self.target, None)
            self.applied = self.target
            self.phase = 'idle'
            if self.leaving and model.acknowledged_without(self.name):
                # Every live peer applies a ring without it: it may go.
                del model.store[self.name]
                self.alive = False
                model.left.add(self.name)


class Model:
    """Services, the shared store of claims, and the membership."""

    def __init__(self, rng, count, service=Service):
        self.service = service
        self.rng = rng
        self.store = {}
        self.dead = set()  # crashed and judged dead
        self.left = set()
        self.weights = {}
        self.points = rng.choice([2, 4, 8])
        self.hash_function = 'md5'
        self.services = {}
        for _ in range(count):
            self.join()

    def join(self):
        name = f's{len(self.services)}'
        self.services[name] = self.service(name, self)
        self.weights[name] = 1

    def members(self):
        return {
            n: self.weights[n]
            for n, s in self.services.items()
            if n not in self.dead and n not in self.left and not s.leaving
        }

    def ring_for(self, service):
        # Each service reads the membership when it refreshes: services
        # that refresh at other moments build other rings.
        return ring.HashRing(
            self.members(),
            hash_function=self.hash_function,
            points=self.points,
        )

    def acknowledged_without(self, name):
        return all(
            s.applied is not None and name not in s.applied.members
            for n, s in self.services.items()
            if s.alive and n != name
        )

    def live(self):
        return [s for s in self.services.values() if s.alive]

    def check(self):
        seen = {}
        for s in self.live():
            for key in s.owned:
                assert key not in seen, (
                    f'{key} managed by {seen[key]} and {s.name}'
                )
                seen[key] = s.name
        return seen

    def event(self):
        live = [s for s in self.live() if not s.leaving]
        kind = self.rng.choice(
            ['join', 'leave', 'crash', 'reweight', 'points', 'hash']
        )
        if kind == 'join' or len(live) < 2:
            self.join()
        elif kind == 'leave':
            self.rng.choice(live).leaving = True
        elif kind == 'crash':
            victim = self.rng.choice(live)
            victim.alive = False
            victim.owned = set()  # the process is gone
            self.pending_dead.append(victim.name)
        elif kind == 'reweight':
            self.weights[self.rng.choice(live).name] = self.rng.randint(1, 3)
        elif kind == 'points':
            self.points = self.rng.choice([2, 3, 4, 8])
        else:
            self.hash_function = self.rng.choice(['md5', 'sha256'])

    def run(self, steps):
        self.pending_dead = []
        for _ in range(steps):
            roll = self.rng.random()
            if roll < 0.05:
                self.event()
            elif roll < 0.08 and self.pending_dead:
                # The outage-safe judgement finds the crashed member dead.
                self.dead.add(self.pending_dead.pop(0))
            else:
                # Any live service may go next: some are slow, some stall.
                live = self.live()
                weights = (
                    [s.speed for s in live]
                    if all(hasattr(s, 'speed') for s in live)
                    else None
                )
                self.rng.choices(live, weights)[0].step()
            self.check()

    def settle(self):
        """Judge the dead, then run every live service to a fixed point."""
        self.dead.update(self.pending_dead)
        self.pending_dead = []
        for _ in range(12):
            for s in list(self.live()):
                for _ in range(4):
                    s.step()
                    self.check()


class Unannounced(Service):
    """The protocol with step 1 left out: it reads, then announces."""

    def publish(self, applied, intended):
        if intended is None:
            super().publish(applied, intended)


class ProtocolTestCase(base.TestCase):
    """A randomised checker over thousands of schedules."""

    def schedules(self, count, service=Service, seed=20261201):
        rng = random.Random(seed)
        for schedule in range(count):
            model = Model(rng, rng.randint(2, 5), service)
            for s in model.services.values():
                s.speed = rng.choice([1, 1, 1, 0.2, 0.02])
            yield schedule, rng, model

    def test_announcing_before_reading_is_what_makes_it_safe(self):
        # The checker can fail: without step 1, two services racing for a
        # node both take it in some schedule.
        failures = 0
        for _, rng, model in self.schedules(400, Unannounced):
            try:
                model.run(rng.randint(50, 250))
            except AssertionError as exc:
                self.assertIn('managed by', str(exc))
                failures += 1
        self.assertGreater(failures, 10)

    def test_never_two_owners_and_always_converges(self):
        for schedule, rng, model in self.schedules(2000):
            with self.subTest(schedule=schedule):
                model.run(rng.randint(50, 250))
                model.settle()
                owners = model.check()
                target = ring.HashRing(
                    model.members(),
                    hash_function=model.hash_function,
                    points=model.points,
                )
                self.assertEqual(
                    dict(zip(KEYS, target.map_keys(KEYS))), owners
                )

    def test_without_the_protocol_rings_alone_overlap(self):
        # The checker can fail: the same schedules, each service taking
        # what its own ring gives it, manage nodes twice.
        rng = random.Random(7)
        overlaps = 0
        for _ in range(50):
            model = Model(rng, 3)
            model.pending_dead = []
            for s in model.services.values():
                s.owned = set(
                    KEYS[i]
                    for i, o in enumerate(model.ring_for(s).map_keys(KEYS))
                    if o == s.name
                )
            model.join()
            newcomer = model.services[f's{len(model.services) - 1}']
            newcomer.owned = {
                k
                for k, o in zip(KEYS, model.ring_for(newcomer).map_keys(KEYS))
                if o == newcomer.name
            }
            try:
                model.check()
            except AssertionError:
                overlaps += 1
        self.assertGreater(overlaps, 40)
