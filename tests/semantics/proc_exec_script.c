/* execve of #! scripts (Linux fs/binfmt_script.c): the interpreter gets
 * its own path, the one optional argument (inner blanks kept, the line cut
 * at the 256-byte buffer), the script's filename and the original
 * arguments without argv[0]; a CR stays part of the name; ENOEXEC only
 * for a blank line or a name that does not end inside the buffer; EACCES
 * for a directory or a non-executable interpreter or script; 5 nested
 * interpreters work and the 6th is ELOOP; execveat names the script
 * /dev/fd/N/path (or /dev/fd/N), ENOENT when N is close-on-exec.
 *
 * The interpreter is this program itself ("#!<argv[0]>"): run as an
 * interpreter (SCRIPT_CASE set) it checks its argv, AT_EXECFN, comm and
 * /proc/self/exe against what the parent expected and prints verdicts. */
#include "check.h"

#include <sys/auxv.h>
#include <sys/wait.h>

#define MAXV 16

static const char *self;

/* The expected argv, AT_EXECFN and comm travel in the environment. */
static int interpreter_mode(int argc, char **argv, const char *name)
{
    char key[32];
    int ok = 1;
    const char *want_argc = getenv("WANT_ARGC");
    ok = want_argc && atoi(want_argc) == argc;
    for (int i = 0; ok && i < argc; i++) {
        snprintf(key, sizeof key, "WANT_ARGV%d", i);
        const char *want = getenv(key);
        ok = want && strcmp(want, argv[i]) == 0;
    }
    printf("%s_argv: ret=%d errno=0\n", name, ok);
    const char *execfn = (const char *)getauxval(AT_EXECFN);
    const char *want_execfn = getenv("WANT_EXECFN");
    printf("%s_execfn: ret=%d errno=0\n", name, execfn && want_execfn && strcmp(execfn, want_execfn) == 0);
    const char *want_comm = getenv("WANT_COMM");
    if (want_comm) {
        char comm[32] = {0};
        int fd = open("/proc/self/comm", O_RDONLY);
        long n = fd >= 0 ? read(fd, comm, sizeof comm - 1) : -1;
        if (n > 0 && comm[n - 1] == '\n')
            comm[n - 1] = 0;
        printf("%s_comm: ret=%d errno=0\n", name, strcmp(comm, want_comm) == 0);
    }
    char exe[4096] = {0}, real[4096] = {0};
    long n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    printf("%s_exe_is_interpreter: ret=%d errno=0\n", name,
           n > 0 && realpath(self, real) && strcmp(exe, real) == 0);
    return 0;
}

static void write_file(const char *path, const char *data, long len, int mode)
{
    int fd = MUST(open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600));
    MUST(write(fd, data, len));
    MUST(close(fd));
    MUST(chmod(path, mode));
}

static void script(const char *path, const char *fmt, const char *arg)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, fmt, arg);
    write_file(path, buf, n, 0755);
}

/* Run one exec in a child. want[] is the interpreter's expected argv (NULL
 * when the exec must fail); a failure prints "<name>: ret=-1 errno=X". */
static void run(const char *name, int dirfd, const char *path, int flags, char *const *argv,
                char *const *want, const char *execfn, const char *comm)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *envp[MAXV + 8];
        static char bufs[MAXV + 8][1200];
        int e = 0, n = 0;
        snprintf(bufs[e], sizeof bufs[e], "SCRIPT_CASE=%s", name);
        envp[e] = bufs[e], e++;
        snprintf(bufs[e], sizeof bufs[e], "SCRIPT_SELF=%s", self);
        envp[e] = bufs[e], e++;
        while (want && want[n]) {
            snprintf(bufs[e], sizeof bufs[e], "WANT_ARGV%d=%s", n, want[n]);
            envp[e] = bufs[e], e++, n++;
        }
        snprintf(bufs[e], sizeof bufs[e], "WANT_ARGC=%d", n);
        envp[e] = bufs[e], e++;
        snprintf(bufs[e], sizeof bufs[e], "WANT_EXECFN=%s", execfn ? execfn : path);
        envp[e] = bufs[e], e++;
        if (comm) {
            snprintf(bufs[e], sizeof bufs[e], "WANT_COMM=%s", comm);
            envp[e] = bufs[e], e++;
        }
        envp[e] = NULL;
        long r = SC(SYS_execveat, dirfd, path, argv, envp, flags);
        report(name, r, errno);
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    MUST(waitpid(pid, &status, 0));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        printf("%s_status: ret=%d errno=0\n", name, status);
}

int main(int argc, char **argv)
{
    self = getenv("SCRIPT_SELF");
    const char *case_name = getenv("SCRIPT_CASE");
    if (case_name && self)
        return interpreter_mode(argc, argv, case_name);
    start();
    self = argv[0];
    setenv("SCRIPT_SELF", self, 1);
    char *const args[] = {"name0", "a", "b c", NULL};
    char *const noargs[] = {"only", NULL};
    char plain_want_buf[3][4096];

    script("plain", "#!%s\necho not reached\n", self);
    char *const want_plain[] = {(char *)self, "./plain", "a", "b c", NULL};
    run("plain", AT_FDCWD, "./plain", 0, args, want_plain, NULL, "plain");

    script("onearg", "#!%s  one  two \t\nrest\n", self);
    char *const want_onearg[] = {(char *)self, "one  two", "./onearg", NULL};
    run("one_argument", AT_FDCWD, "./onearg", 0, noargs, want_onearg, NULL, "onearg");

    script("tabs", "#!\t %s\t-x\n", self);
    char *const want_tabs[] = {(char *)self, "-x", "./tabs", "a", "b c", NULL};
    run("tabs", AT_FDCWD, "./tabs", 0, args, want_tabs, NULL, NULL);

    script("nolf", "#!%s", self);
    char *const want_nolf[] = {(char *)self, "./nolf", NULL};
    run("no_newline", AT_FDCWD, "./nolf", 0, noargs, want_nolf, NULL, NULL);

    script("crlf", "#!%s\r\n", self);
    run("crlf_interpreter", AT_FDCWD, "./crlf", 0, args, NULL, NULL, NULL);

    /* An argument running past the 256-byte buffer is cut at byte 255. */
    char longarg[400];
    memset(longarg, 'a', sizeof longarg - 1);
    longarg[sizeof longarg - 1] = 0;
    char line[1024];
    snprintf(line, sizeof line, "#!%s %s\n", self, longarg);
    write_file("longarg", line, strlen(line), 0755);
    snprintf(plain_want_buf[0], sizeof plain_want_buf[0], "%.*s", (int)(255 - 3 - strlen(self)), longarg);
    char *const want_long[] = {(char *)self, plain_want_buf[0], "./longarg", NULL};
    run("long_argument_truncated", AT_FDCWD, "./longarg", 0, noargs, want_long, NULL, NULL);

    char longname[400] = "#!/";
    memset(longname + 3, 'n', 300);
    longname[303] = '\n';
    write_file("longname", longname, 304, 0755);
    run("long_interpreter_name", AT_FDCWD, "./longname", 0, noargs, NULL, NULL, NULL);

    write_file("empty", "", 0, 0755);
    run("empty_file", AT_FDCWD, "./empty", 0, noargs, NULL, NULL, NULL);
    write_file("blank", "#!  \t \nx\n", 9, 0755);
    run("blank_line", AT_FDCWD, "./blank", 0, noargs, NULL, NULL, NULL);
    write_file("bare", "#!", 2, 0755);
    run("bare_hash_bang", AT_FDCWD, "./bare", 0, noargs, NULL, NULL, NULL);
    script("missing", "#!%s\n", "/nonexistent/interpreter");
    run("missing_interpreter", AT_FDCWD, "./missing", 0, noargs, NULL, NULL, NULL);
    script("dirinterp", "#!%s\n", "/");
    run("directory_interpreter", AT_FDCWD, "./dirinterp", 0, noargs, NULL, NULL, NULL);
    write_file("noexec_interp", "#!/bin/sh\n", 10, 0644);
    script("noexec_user", "#!%s\n", "./noexec_interp");
    run("non_executable_interpreter", AT_FDCWD, "./noexec_user", 0, noargs, NULL, NULL, NULL);
    write_file("noexec_script", "#!/bin/sh\n", 10, 0644);
    run("non_executable_script", AT_FDCWD, "./noexec_script", 0, noargs, NULL, NULL, NULL);

    /* s0 is run by this program; s<k> by s<k-1>: k+1 scripts in a chain. */
    script("s0", "#!%s\n", self);
    char *want_chain[MAXV] = {(char *)self};
    char names[8][8];
    for (int k = 1; k <= 6; k++) {
        char prev[8];
        snprintf(prev, sizeof prev, "./s%d", k - 1);
        snprintf(names[k], sizeof names[k], "s%d", k);
        script(names[k], "#!%s\n", prev);
    }
    for (int k = 0; k <= 5; k++) {
        int n = 1;
        static char paths[8][8];
        for (int j = 0; j <= k; j++) {
            snprintf(paths[j], sizeof paths[j], "./s%d", j);
            want_chain[n++] = paths[j];
        }
        want_chain[n] = NULL;
        char name[32], path[8];
        snprintf(name, sizeof name, "nested_%d_scripts", k + 1);
        snprintf(path, sizeof path, "./s%d", k);
        run(name, AT_FDCWD, path, 0, noargs, k < 5 ? want_chain : NULL, NULL, NULL);
    }

    /* execveat: the script is named through /dev/fd. */
    int dirfd = MUST(open(".", O_RDONLY | O_DIRECTORY));
    snprintf(plain_want_buf[1], sizeof plain_want_buf[1], "/dev/fd/%d/plain", dirfd);
    char *const want_at[] = {(char *)self, plain_want_buf[1], "a", "b c", NULL};
    run("execveat_relative", dirfd, "plain", 0, args, want_at, plain_want_buf[1], "plain");
    int sfd = MUST(open("plain", O_RDONLY));
    snprintf(plain_want_buf[2], sizeof plain_want_buf[2], "/dev/fd/%d", sfd);
    char *const want_empty[] = {(char *)self, plain_want_buf[2], "a", "b c", NULL};
    run("execveat_empty_path", sfd, "", AT_EMPTY_PATH, args, want_empty, plain_want_buf[2], NULL);
    int cdir = MUST(open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    run("execveat_cloexec_dir", cdir, "plain", 0, args, NULL, NULL, NULL);
    int cfd = MUST(open("plain", O_RDONLY | O_CLOEXEC));
    run("execveat_cloexec_fd", cfd, "", AT_EMPTY_PATH, args, NULL, NULL, NULL);
    VALUE("done", 1);
    return 0;
}
