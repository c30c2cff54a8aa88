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
    """Check every target at every size; returns a line each."""
    lines = []
    for row in results['sizes']:
        for target, ratio in row['ratios'].items():
            what, most = TARGETS[target]
            verdict = 'met' if ratio.median <= most else 'MISSED'
            lines.append(
                f'{row["members"]:>5} members, exponent {row["exponent"]:>2}: '
                f'{what} {ratio} (target {most}): {verdict}'
            )
    return lines


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
        '',
    ]
    rows = [
        (
            'members',
            'exp',
            'md5 us',
            'get_node us',
            'tooz us',
            'uhashring us',
            'get_node/md5',
            'map_keys/get_node',
            'pure',
            'replicas=3/get_node',
        )
    ]
    for row in results['sizes']:
        lk, r = row['lookup_us'], row['ratios']
        rows.append(
            (
                str(row['members']),
                str(row['exponent']),
                f'{lk["md5"]:.3f}',
                f'{lk["get_node"]:.3f}',
                f'{lk["tooz"]:.3f}',
                f'{lk["uhashring"]:.3f}',
                f'{r["get_node"]}',
                f'{r["map_keys"]}',
                f'{r["map_keys_pure"]}',
                f'{r["replicas"]}',
            )
        )
    out += harness.rst(rows) + ['']
    rows = [
        (
            'members',
            'exp',
            'hashring ms',
            'tooz ms',
            'uhashring ms',
            'hashring/tooz',
            'pure/tooz',
            'join/build',
            'leave/build',
            'churn/build',
            'refresh/build',
            'tooz churn ms',
        )
    ]
    for row in results['sizes']:
        b, r = row['build_ms'], row['ratios']
        rows.append(
            (
                str(row['members']),
                str(row['exponent']),
                f'{b["hashring"]:.2f}',
                f'{b["tooz"]:.2f}',
                f'{b["uhashring"]:.2f}',
                f'{r["build"]}',
                f'{r["build_pure"]}',
                f'{r["join"]}',
                f'{r["leave"]}',
                f'{r["churn"]}',
                f'{r["refresh"]}',
                f'{b["tooz_churn"]:.2f}',
            )
        )
    out += harness.rst(rows) + ['']
    rows = [
        (
            'members',
            'exp',
            'hashring MiB',
            'tooz MiB',
            'uhashring MiB',
            'retained/tooz',
            'peak/tooz',
            'pure peak/tooz',
        )
    ]
    for row in results['sizes']:
        mem = row['memory_mib']
        rows.append(
            (
                str(row['members']),
                str(row['exponent']),
                f'{mem["hashring"][0]:.2f}',
                f'{mem["tooz"][0]:.2f}',
                f'{mem["uhashring"][0]:.2f}',
                f'{row["ratios"]["memory"].median:.2f}',
                f'{row["ratios"]["peak"].median:.2f}',
                f'{row["ratios"]["peak_pure"].median:.2f}',
            )
        )
    out += harness.rst(rows) + ['']
    rows = [
        (
            'members',
            'exponent 5',
            'exponent 8',
            'exponent 10',
            'uhashring',
            'join moved',
            'join ideal',
            'leave moved',
            'leave ideal',
        )
    ]
    for count, row in results['members'].items():
        p, mv = row['peak_to_mean'], row['moved']
        rows.append(
            (
                str(count),
                f'{p[5]:.2f}',
                f'{p[8]:.2f}',
                f'{p[10]:.2f}',
                f'{p["uhashring"]:.2f}',
                f'{mv["join"]:.4f}',
                f'{mv["join_ideal"]:.4f}',
                f'{mv["leave"]:.4f}',
                f'{mv["leave_ideal"]:.4f}',
            )
        )
    out += harness.rst(rows) + ['']
    rows = [('members', 'OwnershipFilter/Nova loop')]
    for row in results['sizes']:
        if 'filter' in row['ratios']:
            rows.append((str(row['members']), f'{row["ratios"]["filter"]}'))
    out += harness.rst(rows)
    return '\n'.join(out)


def balance_table(results):
    """Format the peak-to-mean loads alone, for the exponent advice."""
    rows = [('members', 'exponent 5', 'exponent 8', 'exponent 10')]
    for count, row in results['members'].items():
        p = row['peak_to_mean']
        rows.append((str(count), f'{p[5]:.2f}', f'{p[8]:.2f}', f'{p[10]:.2f}'))
    m = results['machine']
    return '\n'.join(
        harness.rst(rows)
        + ['', f'Measured {m["date"]} with {results["keys"]} UUID keys.']
    )
