/* The symbolic sidecar (symhv-symex) on a real guest: two vCPUs interpreted at once,
 * the agent's assume/print_expr seen by the interpreter, the guest clock held still
 * while a vCPU is interpreted, and a sidecar that dies mid-handoff. */
#include <check.h>
#include "check_main.h"

#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "symhv_run.h"

#define SIDECAR_CHECK(mode, dir, ...)                                                        \
    (const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",         \
                           "@sidecar_check", "--cmdline", "mode=" mode, "--timeout", "120", \
                           "-o", (dir), __VA_ARGS__ }

START_TEST(two_vcpus_are_interpreted_in_parallel)
{
    const char *dir = test_temp_dir();
    expect_symhv(SIDECAR_CHECK("1", dir, NULL), 0, "parallel loops done", NULL);
    ck_assert_int_eq(summary_value(dir, "handoffs"), 2);
    /* both long handoffs were in the sidecar at the same moment */
    ck_assert_int_eq(summary_value(dir, "parallel handoffs (peak)"), 2);
    ck_assert_int_eq(summary_value(dir, "symbolic branches"), 2);
    ck_assert(output_file_exists(dir, "branch-000-first.bin"));
    ck_assert(output_file_exists(dir, "branch-001-second.bin"));
}
END_TEST

/* symhv_assume(in[0] == 'A') is false on the first input "xyzw": the input generated
 * for the next branch (in[1] == 'B') must satisfy it as well, and replays to it. */
START_TEST(assume_and_print_expr_reach_the_interpreter)
{
    const char *dir = test_temp_dir();
    expect_symhv(SIDECAR_CHECK("2", dir, NULL), 0, "agent calls done (0)",
                 "symhv_assume at rip");
    ck_assert_int_eq(summary_value(dir, "assumptions"), 1);
    /* the assume's condition (a sete, no branch) is a flip candidate, then the branch */
    ck_assert_int_eq(summary_value(dir, "symbolic branches"), 2);
    size_t len;
    char *input = read_output_file(dir, "select-000-in.bin", &len);
    ck_assert_int_eq(len, 4);
    ck_assert_int_eq(input[0], 'A');
    free(input);
    input = read_output_file(dir, "branch-001-in.bin", &len);
    ck_assert_int_eq(len, 4);
    ck_assert_int_eq(input[0], 'A');
    ck_assert_int_eq(input[1], 'B');
    free(input);
    char *exprs = read_output_file(dir, "expressions.txt", NULL);
    ck_assert_contains(exprs, "first_plus_one = (bvadd (zext 64 in[0]) 0x1:64) (concrete 0x79)");
    /* by the VMM natively, or by the sidecar still interpreting (renting): alike */
    ck_assert_contains(exprs, "constant = 0x2a (concrete)\n");
    free(exprs);

    char path[512];
    snprintf(path, sizeof path, "%s/branch-001-in.bin", dir);
    expect_symhv((const char *const[]){ "replay", path, "--smp", "2", "--kernel",
                                        "@symhv-kernel", "--initrd", "@sidecar_check",
                                        "--cmdline", "mode=2", "--timeout", "120", NULL },
                 0, "agent calls done (1)", NULL);
}
END_TEST

/* The guest times a loop that is interpreted from start to end. */
static double guest_loop_seconds(const struct run_result *r)
{
    const char *p = strstr(r->out, "guest time for the interpreted loop: ");
    ck_assert_msg(p != NULL, "no timing in:\n%s", r->out);
    return strtod(p + strlen("guest time for the interpreted loop: "), NULL) * 1e-6;
}

START_TEST(guest_clock_stands_still_while_interpreted)
{
    struct run_result r;
    const char *plain = test_temp_dir(), *slowed = test_temp_dir();
    /* Without the option the guest sees (at least) the interpretation time ... */
    run_symhv(&r, SIDECAR_CHECK("3", plain, NULL));
    ck_assert_msg(r.status == 0, "%s", r.err);
    double interpreted = summary_value(plain, "interpreter seconds");
    ck_assert_double_ge(guest_loop_seconds(&r), 0.9 * interpreted);
    ck_assert_double_eq(summary_value(plain, "guest clock cycles hidden"), 0);
    run_result_free(&r);
    /* ... with it, the guest's clock stood still during it. */
    run_symhv(&r, SIDECAR_CHECK("3", slowed, "--clock-slow-down", NULL));
    ck_assert_msg(r.status == 0, "%s", r.err);
    interpreted = summary_value(slowed, "interpreter seconds");
    ck_assert_double_lt(guest_loop_seconds(&r), 0.1 * interpreted);
    ck_assert_double_gt(summary_value(slowed, "guest clock cycles hidden"), 0);
    run_result_free(&r);
}
END_TEST

/* The sidecar aborts in the middle of the loop: the vCPU resumes natively after the
 * last instruction the sidecar retired, and the loop's result is still right. */
START_TEST(sidecar_crash_resumes_the_vcpu_and_the_run_goes_on)
{
    const char *dir = test_temp_dir();
    setenv("SYMHV_SYMEX_CRASH_AFTER", "5000", 1);
    struct run_result r;
    run_symhv(&r, SIDECAR_CHECK("3", dir, NULL));
    unsetenv("SYMHV_SYMEX_CRASH_AFTER");
    ck_assert_msg(r.status == 0, "status %d:\n%s", r.status, r.err);
    ck_assert_contains(r.out, "sidecar_check: result consistent");
    ck_assert_contains(r.err, "the sidecar died (killed by signal 6");
    ck_assert_contains(r.err, "the run continues concretely");
    ck_assert_contains(r.err, "resumes natively at rip");
    run_result_free(&r);
    ck_assert_int_eq(summary_value(dir, "handoffs resumed from a checkpoint"), 1);
    char *summary = read_output_file(dir, "summary.txt", NULL);
    ck_assert_contains(summary, "sidecar: the sidecar died");
    free(summary);
}
END_TEST

/* A sidecar started on its own (symhv-symex --listen) serves a symhv run that attaches
 * to it, then exits; nobody listening is one clear error and a concrete run. */
START_TEST(attached_sidecar_serves_a_run)
{
    const char *dir = test_temp_dir(), *out = test_temp_dir();
    char sock[256];
    snprintf(sock, sizeof sock, "%s/symex.sock", dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 2);
        execl(getenv("SYMHV_SYMEX"), "symhv-symex", "--listen", sock, (char *)NULL);
        _exit(98);
    }
    struct stat st;
    for (int i = 0; i < 100 && stat(sock, &st) < 0; i++)
        usleep(50 * 1000);
    expect_symhv((const char *const[]){ "-v", "--smp", "2", "--kernel", "@symhv-kernel",
                                        "--initrd", "@magic", "--timeout", "120", "-o", out,
                                        "--symex-socket", sock, NULL },
                 0, "magic: input rejected", "attached to the symbolic sidecar at");
    int ws;
    ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
    ck_assert_msg(WIFEXITED(ws) && WEXITSTATUS(ws) == 0, "sidecar status 0x%x", ws);
    ck_assert_int_eq(summary_value(out, "symbolic branches"), 1);
    ck_assert(output_file_exists(out, "branch-000-input.bin"));
    char *summary = read_output_file(out, "summary.txt", NULL);
    ck_assert_contains(summary, "sidecar: ok");
    free(summary);

    expect_symhv((const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                        "@magic", "--timeout", "120", "-o", test_temp_dir(),
                                        "--symex-socket", sock, NULL },
                 0, "magic: input rejected", "cannot attach to the sidecar at");
}
END_TEST

/* No sidecar binary: one clear error, the input stays concrete, the run completes. */
START_TEST(missing_sidecar_leaves_the_run_concrete)
{
    const char *dir = test_temp_dir();
    setenv("SYMHV_SYMEX", "/nonexistent/symhv-symex", 1);
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                         "@magic", "--timeout", "120", "-o", dir, NULL });
    ck_assert_msg(r.status == 0, "status %d:\n%s", r.status, r.err);
    ck_assert_contains(r.err, "cannot start the symbolic sidecar /nonexistent/symhv-symex");
    ck_assert_contains(r.err, "input 'input' stays concrete");
    ck_assert_contains(r.out, "magic: input rejected");
    run_result_free(&r);
    ck_assert_int_eq(summary_value(dir, "handoffs"), 0);
}
END_TEST

/* Run `program args` (program from the environment variable `env`) with stderr merged
 * into stdout; returns the exit status and the first line of output. */
static int run_tool(const char *env, const char *args, char *line, size_t size)
{
    const char *exe = getenv(env);
    ck_assert_msg(exe != NULL, "%s is not set (run through meson test)", env);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s %s 2>&1", exe, args);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    line[0] = 0;
    if (!fgets(line, (int)size, p))
        line[0] = 0;
    while (fgetc(p) != EOF)
        ;
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Started by hand, without symhv's descriptors: one clear line, exit status 2. */
START_TEST(sidecar_refuses_to_run_by_hand)
{
    char line[512];
    ck_assert_int_eq(run_tool("SYMHV_SYMEX", "", line, sizeof line), 2);
    ck_assert_contains(line, "symhv starts this program itself");
    ck_assert_int_eq(run_tool("SYMHV_SYMEX", "--help", line, sizeof line), 0);
    ck_assert_contains(line, "usage: symhv-symex");
}
END_TEST

/* The agent command checks its arguments before it issues any hypercall (it runs
 * inside Linux guests; here only its argument handling can run). */
START_TEST(agent_command_checks_arguments)
{
    char line[512];
    ck_assert_int_eq(run_tool("SYMHV_AGENT", "--help", line, sizeof line), 0);
    ck_assert_contains(line, "usage: symhv-agent COMMAND");
    ck_assert_int_eq(run_tool("SYMHV_AGENT", "", line, sizeof line), 2);
    ck_assert_contains(line, "no command given");
    ck_assert_int_eq(run_tool("SYMHV_AGENT", "kill many oops", line, sizeof line), 2);
    ck_assert_contains(line, "kill needs STATUS (0..255) and MESSAGE");
    ck_assert_int_eq(run_tool("SYMHV_AGENT", "frobnicate", line, sizeof line), 2);
    ck_assert_contains(line, "unknown command 'frobnicate'");
    ck_assert_int_eq(run_tool("SYMHV_AGENT", "symbolic /nonexistent/file", line, sizeof line), 1);
    ck_assert_contains(line, "cannot open /nonexistent/file");
}
END_TEST


/* A sidecar that stops answering (SIGSTOP) mid-handoff is treated as dead after
 * --symex-stall-timeout: killed, the vCPU resumes from its checkpoint, the run finishes. */
START_TEST(stopped_sidecar_is_given_up_after_the_stall_timeout)
{
    struct symhv_child c;
    start_symhv(&c, (const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                           "@trap_edge", "--cmdline", "case=3 rounds=300000000",
                                           "--timeout", "100", "--symex-stall-timeout", "2",
                                           "-o", test_temp_dir(), NULL });
    pid_t sidecar = child_of(c.pid, 30);
    ck_assert_int_gt(sidecar, 0);
    usleep(1500 * 1000); /* the checksum loop is being interpreted by now */
    kill(sidecar, SIGSTOP);
    struct run_result r;
    finish_symhv(&c, &r);
    ck_assert_msg(r.status == 0, "status %d; stderr:\n%s", r.status, r.err);
    ck_assert_contains(r.err, "no progress for 2 s (--symex-stall-timeout)");
    ck_assert_contains(r.out, "trap_edge: checksum differs\n");
    run_result_free(&r);
}
END_TEST


/* --symex-max-time / --symex-max-memory: past a limit the sidecar says so once, symbolic
 * execution stops and the run finishes concretely (a loop that would take the
 * interpreter minutes ends early). */
START_TEST(sidecar_limits_end_symbolic_execution_not_the_run)
{
    static const char *const limit[][2] = { { "--symex-max-time", "2" },
                                            { "--symex-max-memory", "1M" } };
    static const char *const says[] = { "reached its time limit", "reached its memory limit" };
    const char *dir = test_temp_dir();
    struct run_result r;
    run_symhv(&r, (const char *const[]){ "--smp", "2", "--kernel", "@symhv-kernel", "--initrd",
                                         "@trap_edge", "--cmdline", "case=3 rounds=300000000",
                                         "--timeout", "100", limit[_i][0], limit[_i][1], "-o",
                                         dir, NULL });
    ck_assert_msg(r.status == 0, "status %d; stderr:\n%s", r.status, r.err);
    ck_assert_contains(r.err, says[_i]);
    ck_assert_contains(r.out, "trap_edge: checksum differs\n");
    run_result_free(&r);
    /* The limit ended symbolic execution inside the loop, and the CPU ran the rest: the
     * loop is 300 M rounds of at least 8 instructions each, 2.4 G in all, which no
     * interpreter gets through before the limit, whatever the machine's speed. */
    double interpreted = summary_value(dir, "interpreted instructions");
    ck_assert_double_gt(interpreted, 0);
    ck_assert_double_lt(interpreted, 8 * 300e6);
}
END_TEST

int main(void)
{
    skip_suite_without_kvm("sidecar");
    Suite *s = suite_create("sidecar");
    TCase *tc = tcase_create("sidecar");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, two_vcpus_are_interpreted_in_parallel);
    tcase_add_test(tc, assume_and_print_expr_reach_the_interpreter);
    tcase_add_test(tc, guest_clock_stands_still_while_interpreted);
    tcase_add_test(tc, sidecar_crash_resumes_the_vcpu_and_the_run_goes_on);
    tcase_add_test(tc, missing_sidecar_leaves_the_run_concrete);
    tcase_add_test(tc, attached_sidecar_serves_a_run);
    tcase_add_test(tc, sidecar_refuses_to_run_by_hand);
    tcase_add_test(tc, agent_command_checks_arguments);
    tcase_add_test(tc, stopped_sidecar_is_given_up_after_the_stall_timeout);
    tcase_add_loop_test(tc, sidecar_limits_end_symbolic_execution_not_the_run, 0, 2);
    suite_add_tcase(s, tc);
    return run_suite(s);
}
