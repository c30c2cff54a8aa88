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

"""How many buckets a ring's index has, and how wide its entries are.

The index (:mod:`hashring._table`) has several buckets per point, so that
most keys land in a bucket that holds no point and need no bisect.  More
buckets make fewer bisects but a larger index; these rules trade the two,
as measured by ``benchmarks/run.py``.
"""

import array


#: Buckets per point are at least 2**BUCKET_SLACK_BITS, so that at most
#: about one key in five lands in a bucket that needs a bisect.  More
#: buckets make fewer bisects but a larger index, which small rings, whose
#: own fixed costs weigh most, cannot afford (:data:`DENSE_MIN_POINTS`).
BUCKET_SLACK_BITS = 2

#: Rings of more points than two bytes count (32,768) take twice the
#: buckets per point (2**WIDE_SLACK_BITS): their entries count from their
#: run (:data:`hashring._table.RUN_BITS`) in two bytes, so the index takes
#: the memory of four-byte entries at half the buckets, and half as many
#: keys bisect.  get_node took 0.89 to 0.90 of its time at 100,000,
#: 320,000 and a million points (medians of 31 rounds in one process, each
#: against md5).
WIDE_SLACK_BITS = BUCKET_SLACK_BITS + 1

#: Rings of at least DENSE_MIN_POINTS points have at least
#: DENSE_BUCKETS_PER_POINT buckets per point, where the slack bits alone
#: give as few as four: at 1,000 members and exponent 5 (32,000 points,
#: 8 buckets a point instead of 4) get_node took 0.92 of its time and
#: map_keys 0.82, in one process, for 0.09 of tooz's memory more (0.97
#: of it in all).  Smaller rings keep their index small: their own fixed
#: costs bring them near the memory target (10 members at exponent 5
#: keep 1.16 of tooz's memory; 6.4 buckets a point at 10 members and
#: exponent 10, which a rule from fewer points would double, 1.04).
DENSE_MIN_POINTS = 1 << 11
DENSE_BUCKETS_PER_POINT = 6

#: Cap on the bucket index: 2**26 buckets, 128 MiB in two bytes each,
#: reached past four million points (whose digests take four times that),
#: so that a ring of ten million points still has six buckets per point.
#: At 2**24, 46% of that ring's buckets held points and get_node cost 3.4
#: md5s.
MAX_BUCKET_BITS = 26

# Index entries in 2 bytes where the members' numbers fit, which halves
# the index (a third of a ring's memory); else in 4 bytes where the
# platform has them (it does, but C only promises 2 for an int).  Offsets
# in 4 bytes.
WIDE = 'i' if array.array('i').itemsize >= 4 else 'l'
#: The typecode of an index of two-byte entries.
SHORT = 'h'
#: How many members, or points of one run, two-byte entries count.
SHORT_LIMIT = 1 << (8 * array.array(SHORT).itemsize - 1)


def bits_for(count: int, size: int, members: int) -> int:
    """Return how many top bits of a digest make a bucket.

    :param count: how many points the ring has.
    :param size: the digests' size, in bytes.
    :param members: how many members it numbers: where their numbers fit
        two-byte entries, rings of more than :data:`SHORT_LIMIT` points
        take twice the buckets (:data:`WIDE_SLACK_BITS`), and rings of
        :data:`DENSE_MIN_POINTS` or more at least
        :data:`DENSE_BUCKETS_PER_POINT` buckets per point.
    """
    slack = BUCKET_SLACK_BITS
    if count > SHORT_LIMIT >= members:
        slack = WIDE_SLACK_BITS
    bits = count.bit_length() + slack
    if count >= DENSE_MIN_POINTS and members <= SHORT_LIMIT:
        bits = max(bits, (DENSE_BUCKETS_PER_POINT * count - 1).bit_length())
    return min(bits, MAX_BUCKET_BITS, size * 8)


def typecode(members: int) -> str:
    """Return the typecode of an index of so many members.

    Its entries run from ``~n`` for the most points ``n`` of a run to
    ``members - 1``.  The builds widen them where a run holds more points
    than :data:`SHORT_LIMIT`, which a hash of uniform points never does.
    """
    return SHORT if members <= SHORT_LIMIT else WIDE
