"""The initial stack builder, checked byte for byte against Linux."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from loader_support import DUMP_C, NativeStack, parse_image

from sentry.linuxerr import E2BIG
from sentry.loader import LoadError, build_stack, check_args
from sentry.loader.auxv import AT_EXECFN, AT_HWCAP, AT_PAGESZ, AT_PLATFORM, AT_RANDOM
from sentry.loader.stack import ARG_MAX, MAX_ARG_STRLEN, arg_space_limit

TOP = 0x7FFFFFFFF000
RANDOM = bytes(range(0xA0, 0xB0))
AUXV: list[tuple[int, int | None]] = [
    (AT_HWCAP, 0x1234),
    (AT_PAGESZ, 4096),
    (AT_RANDOM, None),
    (AT_EXECFN, None),
    (AT_PLATFORM, None),
]

CASES = [
    ([b"./dump", b"x", b"yy"], [b"A=1", b"BB=22"]),
    ([], [b"A=1"]),
    ([], []),
    ([b"a"], []),
    ([b"", b"", b"an argument with spaces"], [b"", b"X=" + b"y" * 300]),
    ([b"p"] * 7, [b"E%d=%d" % (i, i) for i in range(5)]),
    ([b"q" * 15], [b"r" * 16]),
]


def _cstring(data: bytes, off: int) -> bytes:
    return data[off : data.index(b"\0", off)]


@pytest.mark.parametrize(("argv", "envv"), CASES)
def test_matches_linux_byte_for_byte(
    build: Callable[..., Path],
    native_run: Callable[..., NativeStack],
    argv: list[bytes],
    envv: list[bytes],
) -> None:
    """Given Linux's own auxv and random bytes, the builder reproduces the
    native initial stack exactly: every pointer, string, pad byte and sp."""
    prog = build(DUMP_C, "glibc", "dump")
    native = native_run(prog, argv, envv)
    random = native.mem[native.aux(AT_RANDOM) - native.sp :][:16]
    template = [(k, None if k in (AT_RANDOM, AT_EXECFN, AT_PLATFORM) else v) for k, v in native.auxv]
    image = build_stack(native.top, argv, envv, bytes(prog), random, template)
    assert hex(image.sp) == hex(native.sp)
    assert image.data == native.mem
    assert list(image.auxv) == native.auxv


@pytest.mark.parametrize(("argv", "envv"), CASES)
def test_layout_invariants(argv: list[bytes], envv: list[bytes]) -> None:
    execfn = b"/bin/prog"
    image = build_stack(TOP, argv, envv, execfn, RANDOM, AUXV)
    data, sp = image.data, image.sp
    assert sp % 16 == 0
    assert sp + len(data) == TOP
    argc, argp, envp, auxv = parse_image(data)
    want_argv = argv or [b""]
    assert argc == image.argc == len(want_argv)
    assert [_cstring(data, a - sp) for a in argp] == want_argv
    assert [_cstring(data, e - sp) for e in envp] == envv
    assert tuple(argp) == image.argv and tuple(envp) == image.envp
    aux = dict(auxv)
    assert auxv == list(image.auxv)
    assert data[aux[AT_RANDOM] - sp :][:16] == RANDOM
    assert _cstring(data, aux[AT_PLATFORM] - sp) == b"x86_64"
    assert _cstring(data, aux[AT_EXECFN] - sp) == execfn
    # Strings: contiguous argv, envp, execfn, then 8 zero bytes at the top.
    assert data[image.arg_start - sp : image.arg_end - sp] == b"".join(a + b"\0" for a in want_argv)
    assert data[image.env_start - sp : image.env_end - sp] == b"".join(e + b"\0" for e in envv)
    assert image.env_end == image.execfn_addr == TOP - 8 - len(execfn) - 1
    assert data[-8:] == bytes(8)
    # Linux order below the strings: pad to 16, platform, random.
    assert image.platform_addr == (image.arg_start & ~15) - 7
    assert image.random_addr == image.platform_addr - 16


def test_other_missing_auxv_value_is_an_error() -> None:
    with pytest.raises(ValueError, match="auxv entry"):
        build_stack(TOP, [b"a"], [], b"a", RANDOM, [(AT_HWCAP, None)])


def test_caller_bugs_are_not_load_errors() -> None:
    with pytest.raises(ValueError, match="NUL"):
        build_stack(TOP, [b"a\0b"], [], b"a", RANDOM, AUXV)
    with pytest.raises(TypeError, match="bytes"):
        build_stack(TOP, ["a"], [], b"a", RANDOM, AUXV)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="16 bytes"):
        build_stack(TOP, [b"a"], [], b"a", b"short", AUXV)


def test_single_string_limit() -> None:
    check_args([b"x" * (MAX_ARG_STRLEN - 1)], [], b"f")
    with pytest.raises(LoadError) as e:
        check_args([b"x" * MAX_ARG_STRLEN], [], b"f")
    assert e.value.err is E2BIG
    with pytest.raises(LoadError):
        check_args([], [b"x" * MAX_ARG_STRLEN], b"f")
    with pytest.raises(LoadError):
        check_args([], [], b"x" * MAX_ARG_STRLEN)


def test_total_limit_boundary() -> None:
    """Strings plus pointers may use exactly a quarter of the stack limit."""
    limit = arg_space_limit(8 << 20)
    assert limit == 2 << 20
    assert arg_space_limit(64 << 20) == 6 << 20  # capped at 3/4 of _STK_LIM
    assert arg_space_limit(4096) == ARG_MAX
    chunk = MAX_ARG_STRLEN - 1
    n = 15
    ptrs = (n + 1) * 8
    execfn = b"f"
    used = n * (chunk + 1) + len(execfn) + 1
    last = limit - ptrs - used - 1  # the last string's length, NUL excluded
    args = [b"a" * chunk] * n + [b"b" * last]
    check_args(args, [], execfn)
    image = build_stack(TOP, args, [], execfn, RANDOM, AUXV)
    assert image.sp % 16 == 0 and image.argc == n + 1
    with pytest.raises(LoadError) as e:
        check_args([*args[:-1], b"b" * (last + 1)], [], execfn)
    assert e.value.err is E2BIG
    assert "\n" not in str(e.value)
