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

"""Report what :mod:`benchmarks.run` measured: tables and verdicts.

The tables are those doc/source/user/benchmarks.rst includes, and a
verdict line says, per size, whether each target is met.
"""

from benchmarks import harness

#: The targets, each a ratio of medians of per-round ratios: (what,
#: the most it may be).  A verdict line is printed for each, per size.
TARGETS = {
    'build': ('build / tooz build', 0.8),
    'build_pure': ('build without NumPy / tooz build', 0.8),
    'join': ('with_members(one more) / build', 0.2),
    'leave': ('with_members(one fewer) / build', 0.2),
    'churn': ('ToozHashRing add_node + remove_node / build', 0.4),
    'refresh': ('RingManager.refresh, one member changed / build', 1.1),
    'memory': ('memory retained / tooz', 1.2),
    'peak': ('memory at the build peak / tooz', 1.3),
    'peak_pure': ('memory at the build peak without NumPy / tooz', 1.3),
    'get_node': ('get_node / md5', 2.0),
    'replicas': ('get_nodes(replicas=3) / get_node', 2.0),
    'map_keys': ('map_keys / a loop of get_node', 0.6),
    'map_keys_pure': ('map_keys without NumPy / a loop of get_node', 0.6),
    'filter': ('OwnershipFilter / Nova loop over tooz', 0.5),
}


def verdicts(results):
    """Check every target at every size; returns a line each, and a sum."""
    lines = []
    met = firm_met = firm_missed = 0
    for row in results['sizes']:
        for target, ratio in row['ratios'].items():
            what, most = TARGETS[target]
            said = verdict(ratio, most)
            met += said.startswith('met')
            firm_met += said == 'met'
            firm_missed += said == 'MISSED'
            lines.append(
                f'{row["members"]:>5} members, exponent {row["exponent"]:>2}: '
                f'{what} {ratio} (target {most}): {said}'
            )
    lines.append(
        f'{met} of {len(lines)} targets met, {firm_met} of them in every '
        f'round; {len(lines) - met} missed, {firm_missed} of them in every '
        f'round.'
    )
    return lines


def verdict(ratio, most):
    """Say whether a ratio meets its target, and whether every round does.

    A target is met or missed by the median of the per-round ratios.  A
    median near the target can fall on either side of it from one run to
    the next, and the rounds of such a run disagree with each other: the
    verdict says so, and in how many rounds.

    :param ratio: a :class:`benchmarks.harness.Ratio`.
    :param most: the target, the most the ratio may be.
    :returns: ``met`` or ``MISSED``, and how many rounds disagree.
    """
    rounds = len(ratio.rounds)
    within = ratio.rounds_within(most)
    if ratio.median <= most:
        if within == rounds:
            return 'met'
        return f'met, though missed in {rounds - within} of {rounds} rounds'
    if not within:
        return 'MISSED'
    return f'MISSED, though met in {within} of {rounds} rounds'


def table(results):
    """Format the results as reStructuredText tables."""
    m = results['machine']
    out = [
        f'Measured {m["date"]} on {m["cpu"]}, Python {m["python"]}; '
        f'hashring {m["hashring"]}, tooz {m["tooz"]}, uhashring '
        f'{m["uhashring"]}, NumPy {m["numpy"]} ("pure": without it); '
        f'{results["keys"]} UUID keys, looked up '
        f'{results["chunk_keys"]} a call; '
        f'thread CPU time, {results["rounds"]} interleaved rounds of '
        f'shuffled blocks (up to {harness.BLOCKS} per case); ratios are the '
        'median (least-greatest) of the per-round ratios.',
    ]
    sizes = results['sizes']
    for columns, rows in (
        (_LOOKUPS, sizes),
        (_BUILDS, sizes),
        (_MEMORY, sizes),
        (_BALANCE, results['members'].items()),
        (_FILTER, [r for r in sizes if 'filter' in r['ratios']]),
    ):
        out += [''] + _rst(columns, rows)
    return '\n'.join(out)


def balance_table(results):
    """Format the peak-to-mean loads alone, for the exponent advice."""
    m = results['machine']
    return '\n'.join(
        _rst(_BALANCE[:4], results['members'].items())
        + ['', f'Measured {m["date"]} with {results["keys"]} UUID keys.']
    )


def _rst(columns, rows):
    """Format rows as a table of columns: ``(heading, cell of a row)``."""
    return harness.rst(
        [tuple(heading for heading, _ in columns)]
        + [tuple(cell(row) for _, cell in columns) for row in rows]
    )


def _of(field, key, spec=''):
    """Return the cell of ``row[field][key]``, formatted by spec."""
    return lambda row: format(row[field][key], spec)


def _ratio(key):
    """Return the cell of a ratio's median."""
    return lambda row: f'{row["ratios"][key].median:.2f}'


def _mib(key):
    """Return the cell of the memory a ring keeps."""
    return lambda row: f'{row["memory_mib"][key][0]:.2f}'


_SIZE = [
    ('members', lambda row: str(row['members'])),
    ('exp', lambda row: str(row['exponent'])),
]
_LOOKUPS = _SIZE + [
    ('md5 us', _of('lookup_us', 'md5', '.3f')),
    ('get_node us', _of('lookup_us', 'get_node', '.3f')),
    ('tooz us', _of('lookup_us', 'tooz', '.3f')),
    ('uhashring us', _of('lookup_us', 'uhashring', '.3f')),
    ('get_node/md5', _of('ratios', 'get_node')),
    ('map_keys/get_node', _of('ratios', 'map_keys')),
    ('pure', _of('ratios', 'map_keys_pure')),
    ('replicas=3/get_node', _of('ratios', 'replicas')),
]
_BUILDS = _SIZE + [
    ('hashring ms', _of('build_ms', 'hashring', '.2f')),
    ('tooz ms', _of('build_ms', 'tooz', '.2f')),
    ('uhashring ms', _of('build_ms', 'uhashring', '.2f')),
    ('hashring/tooz', _of('ratios', 'build')),
    ('pure/tooz', _of('ratios', 'build_pure')),
    ('join/build', _of('ratios', 'join')),
    ('leave/build', _of('ratios', 'leave')),
    ('churn/build', _of('ratios', 'churn')),
    ('refresh/build', _of('ratios', 'refresh')),
    ('tooz churn ms', _of('build_ms', 'tooz_churn', '.2f')),
]
_MEMORY = _SIZE + [
    ('hashring MiB', _mib('hashring')),
    ('tooz MiB', _mib('tooz')),
    ('uhashring MiB', _mib('uhashring')),
    ('retained/tooz', _ratio('memory')),
    ('peak/tooz', _ratio('peak')),
    ('pure peak/tooz', _ratio('peak_pure')),
]
# Rows of (member count, results['members'][count]).
_BALANCE = [
    ('members', lambda row: str(row[0])),
    ('exponent 5', lambda row: f'{row[1]["peak_to_mean"][5]:.2f}'),
    ('exponent 8', lambda row: f'{row[1]["peak_to_mean"][8]:.2f}'),
    ('exponent 10', lambda row: f'{row[1]["peak_to_mean"][10]:.2f}'),
    ('uhashring', lambda row: f'{row[1]["peak_to_mean"]["uhashring"]:.2f}'),
    ('join moved', lambda row: f'{row[1]["moved"]["join"]:.4f}'),
    ('join ideal', lambda row: f'{row[1]["moved"]["join_ideal"]:.4f}'),
    ('leave moved', lambda row: f'{row[1]["moved"]["leave"]:.4f}'),
    ('leave ideal', lambda row: f'{row[1]["moved"]["leave_ideal"]:.4f}'),
]
_FILTER = [
    ('members', lambda row: str(row['members'])),
    ('OwnershipFilter/Nova loop', _of('ratios', 'filter')),
]
