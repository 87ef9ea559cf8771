/* vfork and posix_spawn (both libcs spawn with clone(CLONE_VM|CLONE_VFORK)):
 * the parent resumes only after the child execs or exits, sees its
 * status, and a vfork child's exit leaves the parent's memory usable. */
#include "check.h"

#include <spawn.h>
#include <sys/wait.h>

extern char **environ;

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return atoi(argv[2]);
    start();
    char *const av[] = {argv[0], "child", "9", NULL};
    pid_t pid = 0;
    fflush(stdout);
    int r = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, av, environ);
    VALUE("posix_spawn_ok", r);
    int status = 0;
    CHECK("wait_spawned", waitpid(pid, &status, 0) == pid);
    VALUE("spawned_status", WEXITSTATUS(status));
    char *const bad[] = {"nope", NULL};
    r = posix_spawn(&pid, "/nonexistent/prog", NULL, NULL, bad, environ);
    VALUE("posix_spawn_missing_is_enoent", r == ENOENT);

    volatile int shared = 1;
    pid = vfork();
    if (pid == 0) {
        shared = 2; /* the child borrows the parent's memory */
        _exit(5);
    }
    VALUE("vfork_child_ran_first_and_shared_memory", shared);
    CHECK("wait_vfork_child", waitpid(pid, &status, 0) == pid);
    VALUE("vfork_child_status", WEXITSTATUS(status));
    pid = vfork();
    if (pid == 0) {
        execve("/proc/self/exe", av, environ);
        _exit(99);
    }
    CHECK("wait_vfork_exec", waitpid(pid, &status, 0) == pid);
    VALUE("vfork_exec_status", WEXITSTATUS(status));
    return 0;
}
