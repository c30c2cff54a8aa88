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

"""A world of services running the handoff protocol, for the tests.

:class:`World` runs several services, each with the real
:class:`~hashring.RingManager` and protocol, over one simulated membership
whose backend can go away (:class:`Flaky`), on a simulated clock; a test
drives it with random joins, leaves, crashes, new weights and exponents,
stalls and outages, and checks at every step that no node is managed
twice and, outside outages, that no node once held is lost: one let go
is in transit, or waits on a crash to be seen.
"""

from hashring import claims
from hashring import convergence
from hashring import exception
from hashring import manager
from hashring.membership import values
from hashring import ring
from hashring import taking

#: The nodes the services manage.
KEYS = [f'node-{i}' for i in range(60)]


#: The membership's timings.  Its calls fail or answer at once: none waits
#: out a read_timeout, which would keep a member silent after an outage.
TIMING = {'heartbeat_interval': 0.5, 'dead_after': 2.0, 'read_timeout': 0.5}


class Flaky(convergence.SimulatedMembership):
    """A shared simulated membership whose backend can go away."""

    def __init__(self, clock, shared=None, **overrides):
        super().__init__(clock, shared, **overrides)
        self.outage = [False] if shared is None else shared.outage

    def _check(self):
        if self.outage[0]:
            raise exception.MembershipUnavailable(self.backend, 'outage')

    def _read(self, group):
        self._check()
        return super()._read(group)

    def _register(self, group, record):
        self._check()
        super()._register(group, record)

    def _beat(self, groups, record, recovering):
        self._check()
        return super()._beat(groups, record, recovering)


class Running:
    """One service of a schedule: the real manager and protocol."""

    def __init__(self, world, name, rng):
        self.name = name
        self.world = world
        self.source = Flaky(world.clock, world.shared, **TIMING)
        world.shared.beats[name] = world.clock()
        self.source.join(name)
        self.manager = manager.RingManager(
            self.source,
            host=name,
            reset_interval=rng.choice([0, 0.3, 1.0]),
            clock=world.clock,
        )
        # Some ask about one node at a time (Ironic), some about all.
        self.per_key = rng.random() < 0.3
        self.believed = set()  # what its consumer acts on
        self.asked_at = {}
        self.leaving = False
        self.holding = False
        self.drained = False
        self.stalled_until = 0.0

    def drain(self):
        """Drain as a leaver does; after an outage, again."""
        try:
            if self.holding:
                self.manager.handoff.drain()
            else:
                self.source.drain()
            self.drained = True
        except exception.MembershipUnavailable:
            pass  # the record cannot say so yet: it drains again later

    def step(self, rng):
        try:
            if self.per_key:
                # An answer is good for one action, dead_after at most.
                now = self.world.now
                for key, at in list(self.asked_at.items()):
                    if now - at >= self.source.dead_after:
                        self.believed.discard(key)
                        del self.asked_at[key]
                key = rng.choice(KEYS)
                if self.manager.owns(key):
                    self.believed.add(key)
                    self.asked_at[key] = now
                else:
                    self.believed.discard(key)
            else:
                self.believed = set(self.manager.owned(KEYS))
        except (
            exception.MembershipUnavailable,
            exception.RingUnavailable,
            exception.NoMembersError,
        ):
            pass  # an outage: it keeps acting on what it was told


class World:
    """Services running the real protocol over one flaky membership."""

    def __init__(self, rng):
        self.rng = rng
        self.now = 0.0
        self.shared = Flaky(self.clock, **TIMING)
        self.services = {}
        self.gone = set()
        self.crashed = set()
        self.last_holder = {}
        self.cache = taking.RingCache()
        self.mapped = {}
        self.count = 0
        for _ in range(rng.randint(2, 4)):
            self.join()

    def clock(self):
        return self.now

    def join(self):
        if self.shared.outage[0]:
            return  # it cannot register: it retries after the outage
        self.count += 1
        name = f's{self.count}'
        self.services[name] = Running(self, name, self.rng)

    def live(self):
        return [s for n, s in self.services.items() if n not in self.gone]

    def check(self):
        seen = {}
        for s in self.live():
            for key in s.believed:
                if s.per_key and (
                    self.now - s.asked_at[key] >= s.source.dead_after
                ):
                    continue  # its consumer asks again before acting
                assert key not in seen, (
                    f'{key} managed by {seen[key]} and {s.name} at '
                    f'{self.now:.1f}'
                )
                seen[key] = s.name
        self.last_holder.update(seen)
        if not self.shared.outage[0]:
            self.check_unmanaged(seen)
        return seen

    def check_unmanaged(self, seen):
        """A node let go is in transit, or waits on a crash to be seen.

        In transit: a live member publishes a ring that gives the node to
        itself - its holder, which has not acknowledged letting it go, or
        the member that announced it will take it.  Else its last holder
        crashed, or a live member's ring gives it to one that crashed
        (not yet judged dead) or has yet to announce its first ring.  A
        node that has been held and falls out of all that is lost.
        (Rings that disagree can leave a node nobody has held yet to
        nobody until they converge, and a rolling change of exponent any
        node the old and new rings give to members yet to move.)
        """
        claimed = set()
        waits = set()
        kinds = set()
        records = list(self.shared.records.items())
        # Those it may wait on: a crash not yet seen, a newcomer yet to
        # announce (it takes the node at its first call).
        pending = self.crashed | {
            host
            for host, record in records
            if values.CLAIM_ATTRIBUTE not in record.attributes
        }
        for host, record in records:
            data = record.attributes.get(values.CLAIM_ATTRIBUTE)
            if data is None or host in self.gone:
                continue
            for spec in claims.Claim.from_dict(host, data).rings():
                kinds.add((spec.points, spec.hash_function))
                owners = self.mapped.get(spec.fingerprint)
                if owners is None:
                    owners = self.mapped[spec.fingerprint] = self.cache.get(
                        spec
                    ).map_keys(KEYS)
                for key, owner in zip(KEYS, owners):
                    if owner == host:
                        claimed.add(key)
                    elif owner in pending:
                        waits.add(key)
        # What each live member's ring will give it once it reads the
        # membership as it is now: rings that disagree meanwhile leave a
        # node to a member that has yet to see that it is its own.
        up = {
            host: record.weight
            for host, record in records
            if host not in self.gone and record.state is values.State.UP
        }
        for s in self.live():
            m = s.manager
            shape = (tuple(sorted(up.items())), m.partition_exponent)
            owners = self.mapped.get(shape)
            if owners is None and up:
                owners = self.mapped[shape] = ring.HashRing(
                    up, m.partition_exponent, m.hash_function
                ).map_keys(KEYS)
            waits.update(k for k, o in zip(KEYS, owners or ()) if o == s.name)
        if len(kinds) > 1:
            # A rolling change of exponent or hash function: a node the
            # old and new rings give to different members waits until
            # both have moved (see the rebalancing docs).
            return
        for key in KEYS:
            if key in seen or key in claimed:
                continue
            holder = self.last_holder.get(key)
            assert holder is None or holder in self.crashed or key in waits, (
                f'{key} managed by nobody and claimed by no live member at '
                f'{self.now:.1f}, last held by {holder}'
            )

    def event(self):
        rng = self.rng
        live = [s for s in self.live() if not s.leaving]
        kind = rng.choice(
            [
                'join',
                'leave',
                'crash',
                'reweight',
                'exponent',
                'outage',
                'stall',
            ]
        )
        if kind == 'join' or len(live) < 2:
            self.join()
        elif kind == 'leave':
            victim = rng.choice(live)
            victim.leaving = True
            # Half of them leave as Protocol.leave() does, keeping their
            # nodes until their peers are ready; the others drain through
            # the source, handing their nodes over while they run.
            victim.holding = rng.random() < 0.5
            victim.drain()
        elif kind == 'crash':
            victim = rng.choice(live)
            self.gone.add(victim.name)  # its process, and belief, are gone
            self.crashed.add(victim.name)
        elif kind == 'reweight':
            victim = rng.choice(live)
            try:
                victim.source.join(victim.name, weight=rng.randint(1, 3))
            except exception.MembershipUnavailable:
                pass
        elif kind == 'exponent':
            # A rolling change: one service now, the others later.
            rng.choice(live).manager.reconfigure(
                partition_exponent=rng.choice([3, 4, 5])
            )
        elif kind == 'outage':
            self.shared.outage[0] = not self.shared.outage[0]
        else:
            # Slow, not dead: shorter than dead_after, and not one stall
            # on another (together they may last longer).
            ready = [s for s in live if s.stalled_until <= self.now]
            if ready:
                victim = rng.choice(ready)
                victim.stalled_until = self.now + rng.uniform(0, 1.5)

    def tick(self):
        self.now = round(self.now + 0.1, 6)
        for s in self.live():
            if s.leaving and not s.drained and not self.shared.outage[0]:
                s.drain()
        for s in self.live():
            if s.stalled_until <= self.now:
                try:
                    s.source.heartbeat()  # its streak, as a thread's beat
                except exception.MembershipUnavailable:
                    pass  # tried, as a thread's beat in an outage is
        for s in self.live():
            if s.leaving and s.drained and (s.holding or not s.believed):
                try:
                    if s.holding:
                        # What Protocol.leave() waits for; its consumer
                        # acts on its nodes up to the moment it goes.
                        done = not s.manager.handoff.waiting_for()
                    else:
                        # Every member applies a ring without it.
                        agreed = s.manager.convergence().fingerprint
                        ring_ = s.manager.get_ring()
                        done = agreed == ring_.fingerprint and (
                            s.name not in ring_
                        )
                    if done:
                        s.source.leave()
                        self.gone.add(s.name)
                except exception.HashRingError:
                    pass

    def run(self, steps):
        for _ in range(steps):
            roll = self.rng.random()
            if roll < 0.04:
                self.event()
            else:
                ready = [s for s in self.live() if s.stalled_until <= self.now]
                if ready:
                    self.rng.choice(ready).step(self.rng)
            self.tick()
            self.check()

    def settle(self):
        """End the outage, wait out dead_after, and let everyone run."""
        self.shared.outage[0] = False
        if all(s.leaving for s in self.live()):
            self.join()
        for _ in range(60):
            for s in self.live():
                s.stalled_until = 0.0
                s.per_key = False
                s.asked_at.clear()
                s.step(self.rng)
                self.check()
            self.tick()
        # Every service on one exponent at last, as a rolling change ends.
        # Leavers held up by it then go together: their peers presume them
        # alive for dead_after (a mass disappearance), and read again up
        # to a second later.
        for s in self.live():
            s.manager.reconfigure(partition_exponent=5)
        for _ in range(40):
            for s in self.live():
                s.step(self.rng)
                self.check()
            self.tick()
