/* fork(2) and wait4(2): the child runs on a copy-on-write copy of memory
 * (its writes stay its own), shares the pipe, and its exit status (normal
 * and by signal) is collected with waitpid; ECHILD without children. */
#include "check.h"
#include <sys/wait.h>
static int shared_var = 1;
int main(void) {
    start();
    int p[2];
    MUST(pipe(p));
    pid_t pid = fork();
    if (pid == 0) {
        shared_var = 99;
        char c = 'k';
        write(p[1], &c, 1);
        _exit(5);
    }
    VALUE("fork_returned_child", pid > 0 && pid != getpid());
    char c = 0;
    CHECK("read_from_child", read(p[0], &c, 1));
    VALUE("child_byte", c);
    int st = 0;
    CHECK_ADDR("waitpid", waitpid(pid, &st, 0), pid);
    VALUE("exited", WIFEXITED(st));
    VALUE("status", WEXITSTATUS(st));
    VALUE("parent_var_untouched", shared_var);
    CHECK("waitpid_no_children", waitpid(-1, &st, 0));
    CHECK("wait_nohang_no_children", waitpid(-1, &st, WNOHANG));
    pid = fork();
    if (pid == 0) { abort(); }
    CHECK_ADDR("waitpid_signaled", waitpid(pid, &st, 0), pid);
    VALUE("signaled", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    pid = fork();
    if (pid == 0) {
        for (;;)
            pause();
    }
    CHECK("kill_child", kill(pid, SIGTERM));
    CHECK_ADDR("waitpid_killed", waitpid(pid, &st, 0), pid);
    VALUE("killed_by", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
    CHECK("kill_reaped_child", kill(pid, 0));
    return 0;
}
