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

"""A ring manager's figures, as a dict and as Prometheus metrics.

:class:`Recorder` follows one :class:`hashring.RingManager` and gives, per
group, the figures an operator graphs: members by state, keys owned by
the manager's host, rebuilds, keys gained and lost, seconds served stale
through an outage, seconds since the group converged, and outages.
:meth:`Recorder.figures` returns them as a plain dict for any exporter;
:class:`Collector` (``pip install 'oslo.hashring[prometheus]'``) hands
them to ``prometheus_client``, under these names:

=======================================  =======  =====================
metric                                   type     labels
=======================================  =======  =====================
``hashring_members``                     gauge    group, state
``hashring_keys_owned``                  gauge    group, host
``hashring_ring_rebuilds_total``         counter  group
``hashring_keys_gained_total``           counter  group, host
``hashring_keys_lost_total``             counter  group, host
``hashring_stale_seconds``               gauge    group
``hashring_seconds_since_convergence``   gauge    group
``hashring_membership_outages_total``    counter  group
=======================================  =======  =====================

``hashring_seconds_since_convergence`` is NaN while the members do not
apply one ring, or cannot be read.  Collecting reads nothing from the
membership except for the convergence: one read of every group with a
ring at once, which in an outage fails after ``read_timeout`` once.
"""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
import math
import threading
from typing import Any

from hashring import exception
from hashring.membership import identity
from hashring.membership import values
from hashring import notify

#: The metrics, with their help text: (name, type, labels, help).
METRICS = (
    ('hashring_members', 'gauge', ('group', 'state'), 'Members by state.'),
    (
        'hashring_keys_owned',
        'gauge',
        ('group', 'host'),
        'Keys the ring gives to this host.',
    ),
    (
        'hashring_ring_rebuilds',
        'counter',
        ('group',),
        'Rings built for the group.',
    ),
    (
        'hashring_keys_gained',
        'counter',
        ('group', 'host'),
        'Keys this host gained on ring changes.',
    ),
    (
        'hashring_keys_lost',
        'counter',
        ('group', 'host'),
        'Keys this host lost on ring changes.',
    ),
    (
        'hashring_stale_seconds',
        'gauge',
        ('group',),
        'Seconds the ring has been served through a membership outage.',
    ),
    (
        'hashring_seconds_since_convergence',
        'gauge',
        ('group',),
        'Seconds since every live member applied one ring; NaN if not.',
    ),
    (
        'hashring_membership_outages',
        'counter',
        ('group',),
        'Membership reads that failed after one that worked.',
    ),
)


class Recorder:
    """Follow a ring manager, and give its figures per group.

    :param manager: a :class:`hashring.RingManager`.
    :param keys: the keys to count as owned, gained and lost by the
        manager's host: a collection, or a callable returning the current
        one (the node list); None counts none.
    """

    def __init__(
        self,
        manager: Any,
        keys: Iterable[Any] | Callable[[], Iterable[Any]] | None = None,
    ) -> None:
        self.manager = manager
        self._keys = notify.checked_keys(keys)
        self._gained: dict[str, int] = {}
        self._lost: dict[str, int] = {}
        self._lock = threading.Lock()
        manager.subscribe(self._changed, self._keys)

    def _changed(self, change: Any) -> None:
        with self._lock:
            group = change.group
            self._gained[group] = self._gained.get(group, 0) + len(
                change.gained
            )
            self._lost[group] = self._lost.get(group, 0) + len(change.lost)

    def figures(self) -> dict[str, dict[str, Any]]:
        """Return each group's figures, by group.

        Runtime complexity: ``O(k)`` per group for ``k`` keys, and one
        membership read of every group at once for the convergence.

        :returns: per group: ``members`` (by state), ``keys_owned``,
            ``rebuilds``, ``keys_gained``, ``keys_lost``,
            ``stale_seconds``, ``seconds_since_convergence`` (None while
            not converged or unreadable) and ``outages``.
        """
        manager = self.manager
        keys = self._keys() if callable(self._keys) else self._keys
        key_list = None if keys is None else list(keys)
        # A copy: another thread may drop a group (reset(), a group left
        # empty) while this one reads.
        entries = dict(manager._entries)
        groups = sorted(entries)
        try:
            # One read of every group: in an outage a scrape then waits
            # read_timeout once, not twice per group (a refresh of the
            # ring, then the members), past the scraper's own timeout.
            read = manager.source.get_groups(groups)
        except exception.HashRingError:
            read = {}  # an outage: the stale figures say so
        found = {}
        for group in groups:
            stats = manager.stats(group)
            ring = entries[group].ring
            owned = 0
            if key_list is not None and manager.host is not None:
                names = identity.names_of(ring.members, manager.host)
                owned = sum(1 for o in ring.map_keys(key_list) if o in names)
            since = None
            if group in read:
                state = manager._converged(group, ring, read[group])
                if state.fingerprint is not None:
                    since = max(
                        0.0,
                        (values.utcnow() - state.since).total_seconds(),
                    )
            with self._lock:
                gained = self._gained.get(group, 0)
                lost = self._lost.get(group, 0)
            found[group] = {
                'members': stats['states'],
                'keys_owned': owned,
                'rebuilds': stats['rebuilds'],
                'keys_gained': gained,
                'keys_lost': lost,
                'stale_seconds': stats['stale_seconds'],
                'seconds_since_convergence': since,
                'outages': stats['outages'],
            }
        return found


class Collector:
    """A ``prometheus_client`` collector of a :class:`Recorder`'s figures.

    ``prometheus_client.REGISTRY.register(Collector(recorder))``, then
    serve the registry as usual (``start_http_server``).

    :raises hashring.exception.MissingDependency: ``prometheus_client``
        is not installed.
    """

    def __init__(self, recorder: Recorder) -> None:
        try:
            from prometheus_client import core
        except ImportError as exc:
            raise exception.MissingDependency(
                'The Prometheus collector', 'prometheus_client'
            ) from exc
        self._core = core
        self.recorder = recorder

    def describe(self) -> list[Any]:
        """Return the metric families, empty (so registering reads nothing)."""
        return list(self._families().values())

    def collect(self) -> Iterator[Any]:
        """Yield the metric families with the recorder's figures."""
        families = self._families()
        host = self.recorder.manager.host or ''
        for group, f in self.recorder.figures().items():
            for state, count in sorted(f['members'].items()):
                families['hashring_members'].add_metric([group, state], count)
            since = f['seconds_since_convergence']
            rows = (
                ('hashring_keys_owned', [group, host], f['keys_owned']),
                ('hashring_ring_rebuilds', [group], f['rebuilds']),
                ('hashring_keys_gained', [group, host], f['keys_gained']),
                ('hashring_keys_lost', [group, host], f['keys_lost']),
                ('hashring_stale_seconds', [group], f['stale_seconds']),
                (
                    'hashring_seconds_since_convergence',
                    [group],
                    math.nan if since is None else since,
                ),
                ('hashring_membership_outages', [group], f['outages']),
            )
            for name, labels, value in rows:
                families[name].add_metric(labels, value)
        yield from families.values()

    def _families(self) -> dict[str, Any]:
        kinds = {
            'gauge': self._core.GaugeMetricFamily,
            'counter': self._core.CounterMetricFamily,
        }
        return {
            name: kinds[kind](name, text, labels=list(labels))
            for name, kind, labels, text in METRICS
        }
