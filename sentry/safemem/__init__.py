"""Host memory the sentry touches on the guest's behalf: Blocks and BlockSeqs.

Compare gVisor's ``pkg/safemem``. A :class:`Block` is a byte memoryview of
host memory (guest pages live in host memory, so the sentry's view of guest
memory is a sequence of Blocks); :class:`BlockSeq` is an immutable sequence
of non-empty Blocks; :class:`Reader` / :class:`Writer` stream bytes into and
out of BlockSeqs with gVisor's partial-read/write contracts.
"""

from sentry.safemem.block import (
    ZERO_CHUNK,
    Block,
    ReadableBuffer,
    WritableBuffer,
    byte_view,
    compare_and_swap_uint32,
    copy,
    load_uint32,
    swap_uint32,
    zero,
    zero_view,
)
from sentry.safemem.block_seq import BlockSeq, copy_seq, zero_seq
from sentry.safemem.io import (
    EOF,
    ERR_END_OF_BLOCK_SEQ,
    BlockSeqReader,
    BlockSeqWriter,
    EndOfBlockSeq,
    EndOfFile,
    FromIOReader,
    FromIOWriter,
    FromVecReaderFunc,
    FromVecWriterFunc,
    Reader,
    ReaderFunc,
    ReadToBlocksFunc,
    ReadVecFunc,
    WriteFromBlocksFunc,
    Writer,
    WriterFunc,
    WriteVecFunc,
    read_full_to_blocks,
    write_full_from_blocks,
)

__all__ = [
    "EOF",
    "ERR_END_OF_BLOCK_SEQ",
    "ZERO_CHUNK",
    "Block",
    "BlockSeq",
    "BlockSeqReader",
    "BlockSeqWriter",
    "EndOfBlockSeq",
    "EndOfFile",
    "FromIOReader",
    "FromIOWriter",
    "FromVecReaderFunc",
    "FromVecWriterFunc",
    "ReadToBlocksFunc",
    "ReadVecFunc",
    "ReadableBuffer",
    "Reader",
    "ReaderFunc",
    "WritableBuffer",
    "WriteFromBlocksFunc",
    "WriteVecFunc",
    "Writer",
    "WriterFunc",
    "byte_view",
    "compare_and_swap_uint32",
    "copy",
    "copy_seq",
    "load_uint32",
    "read_full_to_blocks",
    "swap_uint32",
    "write_full_from_blocks",
    "zero",
    "zero_seq",
    "zero_view",
]
