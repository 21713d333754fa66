/* /init of the linux suite's initramfs (static, musl): mounts /proc and /dev, says how
 * many CPUs Linux brought up, runs each program named after "--" on the kernel command
 * line (Linux hands them to init as arguments, with the options it did not know: only
 * absolute paths count) and says how it ended, then restarts
 * the machine, which ends symhv's run (the keyboard controller's reset). Our own small
 * init rather than busybox: each MB of initramfs costs seconds of ring-0 unpacking on
 * PVM hosts. */
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (mount("proc", "/proc", "proc", 0, NULL) < 0)
        perror("symhv-init: mount /proc");
    if (mount("devtmpfs", "/dev", "devtmpfs", 0, NULL) < 0)
        perror("symhv-init: mount /dev");
    printf("symhv-init: nproc %ld\n", sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] != '/')
            continue; /* a kernel option Linux did not know, passed on to init */
        /* "prog,arg1,arg2": one program with its arguments (the command line splits
         * on spaces) */
        char *args[16], *save = NULL;
        int n = 0;
        for (char *t = strtok_r(argv[i], ",", &save); t && n < 15; t = strtok_r(NULL, ",", &save))
            args[n++] = t;
        args[n] = NULL;
        if (!n)
            continue;
        pid_t pid = fork();
        if (pid == 0) {
            execv(args[0], args);
            perror("symhv-init: exec");
            _exit(127);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) < 0) {
            perror("symhv-init: fork/wait");
            continue;
        }
        if (WIFEXITED(status))
            printf("symhv-init: %s exited %d\n", args[0], WEXITSTATUS(status));
        else
            printf("symhv-init: %s killed by signal %d\n", args[0], WTERMSIG(status));
        fflush(stdout);
    }
    printf("symhv-init: done, restarting\n");
    fflush(stdout);
    sync();
    reboot(RB_AUTOBOOT);
    perror("symhv-init: reboot");
    return 1;
}
