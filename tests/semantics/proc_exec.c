/* execve: errors leave the caller intact; a successful exec replaces the
 * image (re-executing /proc/self/exe in "child" mode), keeps ordinary fds,
 * closes O_CLOEXEC ones, keeps ignored signals ignored and resets handled
 * ones to the default, passes argv and envp, and the parent sees the new
 * image's exit status through wait4. */
#include "check.h"

#include <signal.h>
#include <sys/wait.h>

static void handler(int sig) { (void)sig; }

static int child_mode(int argc, char **argv)
{
    /* argv: self "child" keep_fd cloexec_fd */
    VALUE("child_argc", argc);
    VALUE("child_argv1_is_child", strcmp(argv[1], "child") == 0);
    int keep = atoi(argv[2]), cloexec = atoi(argv[3]);
    CHECK("child_kept_fd_open", fcntl(keep, F_GETFD));
    CHECK("child_cloexec_fd_closed", fcntl(cloexec, F_GETFD));
    const char *e = getenv("EXEC_TEST");
    VALUE("child_env_passed", e != NULL && strcmp(e, "yes") == 0);
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    VALUE("child_handled_signal_reset", sa.sa_handler == SIG_DFL);
    sigaction(SIGUSR2, NULL, &sa);
    VALUE("child_ignored_signal_kept", sa.sa_handler == SIG_IGN);
    char buf[16] = {0};
    CHECK("child_read_kept_fd", read(keep, buf, 5));
    VALUE("child_kept_fd_offset_shared", strcmp(buf, "world") == 0);
    return 7;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "child") == 0)
        return child_mode(argc, argv);
    start();
    char *const noargs[] = {"x", NULL};
    char *const noenv[] = {NULL};
    CHECK("execve_missing", SC(SYS_execve, "/nonexistent/prog", noargs, noenv));
    CHECK("execve_empty_path", SC(SYS_execve, "", noargs, noenv));
    CHECK("execve_directory", SC(SYS_execve, "/", noargs, noenv));
    CHECK("execve_bad_path_pointer", SC(SYS_execve, 1, noargs, noenv));
    CHECK("execve_bad_argv_pointer", SC(SYS_execve, "/proc/self/exe", 1, noenv));
    int fd = MUST(open("plain", O_CREAT | O_WRONLY | O_TRUNC, 0644));
    MUST(write(fd, "not a program\n", 14));
    close(fd);
    CHECK("execve_not_executable", SC(SYS_execve, "plain", noargs, noenv));
    MUST(chmod("plain", 0755));
    CHECK("execve_bad_format", SC(SYS_execve, "plain", noargs, noenv));
    VALUE("still_running_after_failures", 1);

    int keep = MUST(open("data", O_CREAT | O_RDWR | O_TRUNC, 0644));
    MUST(write(keep, "helloworld", 10));
    MUST(lseek(keep, 5, SEEK_SET));
    int cloexec = MUST(open("data", O_RDONLY | O_CLOEXEC));
    signal(SIGUSR1, handler);
    signal(SIGUSR2, SIG_IGN);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char k[16], c[16];
        snprintf(k, sizeof k, "%d", keep);
        snprintf(c, sizeof c, "%d", cloexec);
        char *const av[] = {argv[0], "child", k, c, NULL};
        char *const ev[] = {"EXEC_TEST=yes", NULL};
        execve("/proc/self/exe", av, ev);
        printf("exec_failed: ret=-1 errno=%s\n", errno_name(errno));
        _exit(99);
    }
    int status = 0;
    CHECK("wait_exec_child", waitpid(pid, &status, 0) == pid);
    VALUE("exec_child_exited", WIFEXITED(status));
    VALUE("exec_child_status", WEXITSTATUS(status));
    VALUE("parent_offset_moved_by_child", lseek(keep, 0, SEEK_CUR));
    return 0;
}
