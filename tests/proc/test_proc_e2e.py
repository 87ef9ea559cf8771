"""/proc under the real sentry: the executable's guest name with and
without ``--root`` (readlink of /proc/self/exe and the maps lines), and the
guest_path rule the runner uses."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sentry.runner import guest_path
from sentry.testing.build import build_c

SOURCE = r"""
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
int main(void)
{
    char exe[4096], maps[65536];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    int fd = open("/proc/self/maps", O_RDONLY);
    ssize_t m = read(fd, maps, sizeof maps - 1);
    maps[m > 0 ? m : 0] = 0;
    /* The first line maps the executable: its name is column 73 on. */
    char *nl = strchr(maps, '\n');
    if (nl)
        *nl = 0;
    printf("exe=%s\nmaps=%s\n", exe, strlen(maps) > 73 ? maps + 73 : "");
    return 0;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src") / "procexe.c"
    src.write_text(SOURCE)
    return build_c(src, "musl")


def run(args: list[str], cwd: Path) -> str:
    r = subprocess.run([sys.executable, "-m", "sentry.cli", *args], cwd=cwd, capture_output=True,
                       timeout=120, check=False)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout.decode()


def test_exe_is_absolute_host_path_by_default(program: Path, tmp_path: Path) -> None:
    out = run([str(program)], tmp_path)
    assert out == f"exe={program}\nmaps={program}\n"


def test_exe_is_guest_path_under_root(program: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy(program, root / "bin" / "prog")
    out = run(["--root", str(root), str(root / "bin" / "prog")], tmp_path)
    assert out == "exe=/bin/prog\nmaps=/bin/prog\n"


def test_guest_path_rule(tmp_path: Path) -> None:
    (tmp_path / "r" / "x").mkdir(parents=True)
    assert guest_path(str(tmp_path / "r" / "x" / "p"), str(tmp_path / "r")) == "/x/p"
    assert guest_path(str(tmp_path / "r"), str(tmp_path / "r")) == "/"
    assert guest_path(str(tmp_path / "other"), str(tmp_path / "r")) == str(tmp_path / "other")
    assert guest_path("rel/p", None).endswith("/rel/p")
