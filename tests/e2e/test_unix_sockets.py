"""AF_UNIX sockets end to end: Debian's CPython using socket.socketpair,
fd passing (socket.send_fds), makefile, a multiprocessing Pipe to a
forked Process, a multiprocessing.connection Listener/Client pair
between two processes and a multiprocessing.Manager print the same as
natively; a socket bound under
``--root`` is a socket inode inside the root and nowhere else; a host
process's socket is refused; an accept nobody can serve is a deadlock."""

from __future__ import annotations

import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sentry.testing.build import build_c
from sentry.testing.harness import compare

pytestmark = pytest.mark.differential

HERE = Path(__file__).resolve().parent


@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs Debian's python3")
def test_python_sockets_and_multiprocessing_match_native() -> None:
    c = compare("/usr/bin/python3", ["-S", str(HERE / "unix_sockets_guest.py")])
    assert c.agree, c.report()
    assert '"upper": "ROUND TRIP"' in c.sentry.stdout_text, c.report()



@pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="needs Debian's python3")
def test_python_multiprocessing_manager_matches_native() -> None:
    """A Manager's server process (AF_UNIX listener under /tmp) shares a
    dict and a list with a forked worker."""
    c = compare("/usr/bin/python3", ["-S", str(HERE / "unix_manager_guest.py")])
    assert c.agree, c.report()
    assert "hello from child" in c.sentry.stdout_text, c.report()


BIND_IN_ROOT = r"""
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
int main(void) {
    struct sockaddr_un sa = {AF_UNIX, "/../../srv.sock"};
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(s, (struct sockaddr *)&sa, sizeof sa) || listen(s, 1)) { perror("bind"); return 1; }
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un ca = {AF_UNIX, "/srv.sock"};
    if (connect(c, (struct sockaddr *)&ca, sizeof ca)) { perror("connect"); return 1; }
    int a = accept(s, NULL, NULL);
    char buf[8] = {0};
    write(c, "ok", 2);
    read(a, buf, sizeof buf - 1);
    printf("%s\n", buf);
    return 0;
}
"""


def test_bind_under_root_makes_the_inode_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    src = tmp_path / "bind.c"
    src.write_text(BIND_IN_ROOT)
    prog = root / "bin" / "bind"
    prog.write_bytes(build_c(src, "glibc").read_bytes())
    prog.chmod(0o755)
    r = subprocess.run([sys.executable, "-m", "sentry.cli", "--root", str(root), str(prog)],
                       capture_output=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == b"ok\n"
    assert stat.S_ISSOCK((root / "srv.sock").lstat().st_mode)
    assert not (tmp_path / "srv.sock").exists()


CONNECT_HOST_SOCKET = r"""
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(void) {
    struct sockaddr_un sa = {AF_UNIX, "host.sock"};
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    int r = connect(c, (struct sockaddr *)&sa, sizeof sa);
    printf("connect %d %s\n", r, r ? strerror(errno) : "");
    return 0;
}
"""


def test_host_sockets_are_unreachable(tmp_path: Path) -> None:
    """A socket a host process listens on in the guest's working
    directory is only a socket inode to the guest: connect is refused."""
    src = tmp_path / "connect.c"
    src.write_text(CONNECT_HOST_SOCKET)
    prog = build_c(src, "glibc")
    work = tmp_path / "work"
    work.mkdir()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as host:
        host.bind(str(work / "host.sock"))
        host.listen(1)
        host.setblocking(False)
        r = subprocess.run([sys.executable, "-m", "sentry.cli", str(prog)], capture_output=True,
                           timeout=120, cwd=work)
        assert r.stdout == b"connect -1 Connection refused\n", r.stderr
        with pytest.raises(BlockingIOError):
            host.accept()


BLOCKED_ACCEPT = r"""
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(void) {
    struct sockaddr_un sa = {AF_UNIX, "\0sentry-blocked"};
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(s, (struct sockaddr *)&sa, sizeof sa);
    listen(s, 1);
    printf("listening\n");
    fflush(stdout);
    accept(s, NULL, NULL);   /* nobody will ever connect */
    printf("accepted\n");
    return 0;
}
"""


def test_accept_nobody_can_serve_is_a_deadlock(tmp_path: Path) -> None:
    src = tmp_path / "accept.c"
    src.write_text(BLOCKED_ACCEPT)
    prog = build_c(src, "glibc")
    r = subprocess.run([sys.executable, "-m", "sentry.cli", str(prog)], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout == "listening\n"
    assert r.stderr.startswith("run-guest: deadlock: every task is blocked (tid 1 accepts socket:["), r.stderr
