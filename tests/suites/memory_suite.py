"""A suite for the memory room: a body that leaks ~200 KB per call, one that allocates and
frees the same amount, and one that allocates without bound until the worker's cap stops it.

Every body stays bounded without a cap too, since timing workers run uncapped: the leak
keeps at most LEAK_KEPT blocks, the runaway stops at RUNAWAY_UNCAPPED_BYTES.
"""

import collections
import resource

import perfkit

BLOCK_BYTES = 200_000
LEAK_KEPT = 100  # 20 MB at most, far beyond the calls of a memory worker
CHUNK_BYTES = 10_000_000
RUNAWAY_UNCAPPED_BYTES = 20_000_000


@perfkit.benchmark(params={"size": [BLOCK_BYTES]})
def leaky(size):
    kept = collections.deque(maxlen=LEAK_KEPT)

    def body():
        # b"x" * n writes every byte, so the block is resident, not just reserved.
        kept.append(b"x" * size)

    return body


@perfkit.benchmark(params={"size": [BLOCK_BYTES]})
def alloc_and_free(size):
    def body():
        block = b"x" * size
        return len(block)

    return body


@perfkit.benchmark()
def runaway():
    soft_cap, _ = resource.getrlimit(resource.RLIMIT_AS)
    uncapped = soft_cap == resource.RLIM_INFINITY
    limit = RUNAWAY_UNCAPPED_BYTES if uncapped else 2 * soft_cap

    def body():
        chunks = []
        while len(chunks) * CHUNK_BYTES < limit:
            chunks.append(b"x" * CHUNK_BYTES)
        return len(chunks)

    return body
