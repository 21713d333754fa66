#include "run.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "console.h"
#include "dump.h"
#include "engine.h"
#include "fuzzer.h"
#include "hypercall.h"
#include "log.h"
#include "pc.h"
#include "pvm.h"
#include "races.h"
#include "util.h"
#include "vcpu.h"
#include "vm.h"

#define MAIN_TICK_NS (20 * 1000 * 1000) /* how often the main thread looks around */

/* A plain run ends as the guest says; its output first. */
static void plain_end(struct vcpu *v, const struct guest_end *e, void *opaque)
{
    console_flush(opaque);
    end_plain_run(v, e, NULL);
}

/* What became of the order --schedule (or the replayed file's name) forced. */
static void report_order(struct races *r, const struct fz_order *o)
{
    races_quiesce(r);
    enum order_result res = races_order_result(r);
    unsigned long long w = o->wait_pc, f = o->for_pc, p = o->page;
    if (res == ORDER_FORCED)
        hv_notice("schedule: forced: the access at pc 0x%llx went right after another vCPU's "
                  "at pc 0x%llx (page 0x%llx), before that vCPU's next one", w, f, p);
    else if (res == ORDER_TIMED_OUT)
        hv_notice("schedule: not forced: the access at pc 0x%llx waited %.0f s and no other "
                  "vCPU accessed page 0x%llx at pc 0x%llx", w, RACES_ORDER_WAIT_S, p, f);
    else if (res == ORDER_CUT)
        hv_notice("schedule: not forced: the access at pc 0x%llx waited for pc 0x%llx when the "
                  "run ended", w, f);
    else if (res == ORDER_LOST)
        hv_notice("schedule: not forced: an instruction KVM cannot emulate touched page "
                  "0x%llx, which then ran unwatched", p);
    else
        hv_notice("schedule: not forced: no access at pc 0x%llx to page 0x%llx came (another "
                  "input, program or build places it elsewhere)", w, p);
}

/* A plain run's races: on stderr, and in the output directory's races/. */
static void report_races(struct races *r, struct engine *engine)
{
    struct race *found = malloc(RACES_MAX * sizeof *found);
    size_t n = found ? races_take_new(r, found, RACES_MAX) : 0;
    for (size_t i = 0; i < n; i++) {
        char name[64], text[1024];
        races_format(&found[i], NULL, text, sizeof text);
        fputs(text, stderr);
        snprintf(name, sizeof name, "races/race-%06zu.txt", i);
        engine_write_output(engine, name, text, strlen(text));
    }
    free(found);
    if (n)
        hv_notice("races: their reports are in %s/races/", engine_output_dir(engine));
    struct race_stats st = races_stats(r);
    hv_notice("races: %zu found (%llu samples, %llu pages watched, %llu accesses held, %llu "
              "pairs with a locked instruction, not races)", n, (unsigned long long)st.samples,
              (unsigned long long)st.watches, (unsigned long long)st.held,
              (unsigned long long)st.sync_pairs);
}

/* The main thread while the vCPUs run: signals, --timeout, and the fuzzer's work. */
static void main_loop(struct vm *vm, struct console *con, double timeout_s, struct fuzzer *f)
{
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    double deadline = timeout_s > 0 ? now_s() + timeout_s : 0;
    while (!vm_is_stopping(vm)) {
        struct timespec wait = { 0, f ? 0 : MAIN_TICK_NS };
        int sig = sigtimedwait(&stop_signals, NULL, &wait);
        if (sig == SIGINT || sig == SIGTERM) {
            console_flush(con);
            hv_error("interrupted by %s, stopping the guest", strsignal(sig));
            vm_request_stop(vm, HV_EXIT_SIGNAL);
        } else if (deadline && now_s() > deadline) {
            console_flush(con);
            hv_error("guest did not finish within --timeout %.1f s, stopping it", timeout_s);
            vm_request_stop(vm, HV_EXIT_TIMEOUT);
        } else if (f && !fuzzer_tick(f)) {
            break;
        }
    }
}

int run(const struct options *opt, struct cmplog_peer *peer)
{
    /* SIGINT/SIGTERM are taken synchronously by the main thread; vCPU threads inherit
     * the blocked mask so they never see them. */
    sigset_t stop_signals, old_mask;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);

    /* struct vm holds every vCPU inline: keep it off the stack. */
    struct vm *vm = calloc(1, sizeof *vm);
    struct console *con = calloc(1, sizeof *con);
    struct hypercalls *hc = calloc(1, sizeof *hc);
    struct pc *pc = calloc(1, sizeof *pc);
    struct engine *engine = NULL;
    struct fuzzer *fuzzer = NULL;
    struct races *races = NULL;
    int status = HV_EXIT_SETUP_ERROR;
    if (!vm || !con || !hc || !pc) {
        hv_error("out of memory");
        goto out;
    }
    /* a campaign's target reads an empty stdin, as afl-fuzz gives its target /dev/null:
     * symhv's own stdin would block a vCPU that the settle between executions waits for */
    console_init(con, STDOUT_FILENO, STDERR_FILENO, opt->fuzzing ? -1 : STDIN_FILENO);
    struct boot_info boot;
    if (vm_create(vm, &opt->vm) < 0 || vcpus_create(vm) < 0 || console_attach(con, vm) < 0 ||
        hypercalls_attach(hc, vm, con) < 0 || boot_load(vm, &opt->boot, &boot) < 0)
        goto out;
    /* a Linux kernel looks for a PC's MP table, PIT, clock and reset; symhv's does not */
    if (boot.is_linux && pc_attach(pc, vm) < 0)
        goto out;
    if (boot.is_linux)
        console_watch_linux(con);
    if (vm->pvm_host)
        vm_set_emulation_fix(vm, pvm_fix_emulation, NULL);
    vm_set_end_policy(vm, plain_end, con);
    struct engine_config ecfg = opt->engine;
    ecfg.pvh = boot.is_linux; /* no symhv_pv_clock */
    /* Campaigns (fuzz, explore) do not rent: the interpreted vCPU staying longer changes
     * a threaded target's interleavings (explore then missed records.c's crash now and
     * then); a single symbolic run rents. */
    ecfg.no_renting = opt->fuzzing;
    ecfg.campaign = opt->fuzzing;
    if (!(engine = engine_attach(vm, hc, &ecfg)))
        goto out;
    if (opt->fuzzing && !(fuzzer = fuzzer_attach(vm, hc, engine, con, &opt->fuzz)))
        goto out;
    if (fuzzer)
        fuzzer_set_program(fuzzer, opt->boot.launch.program);
    if (fuzzer && fuzzer_set_cmplog_peer(fuzzer, peer, opt->cmplog_peer_fd) < 0)
        goto out;
    if (opt->races.on || opt->has_order) { /* over the engine's RAM trap */
        struct races_config rc = opt->races;
        /* On PVM a single step of ring-3 code is not reported to the VMM: its #DB goes
         * into the guest (a SIGTRAP the program never asked for). */
        rc.no_stepping = boot.is_linux || vm->pvm_host;
        rc.no_sampling = !opt->races.on;
        if (rc.no_stepping && opt->races.on)
            hv_notice("races: %s: samples are taken where a kicked vCPU stands, without "
                      "single steps (fewer land on memory accesses)",
                      boot.is_linux ? "on a Linux guest" : "on a PVM host");
        if (!(races = races_attach(vm, &rc)))
            goto out;
        if (fuzzer)
            fuzzer_set_races(fuzzer, races);
        if (opt->has_order && races_force_order(races, &opt->order, RACES_ORDER_WAIT_S) < 0)
            goto out;
    }

    hv_info("booting %s on %u vCPU(s), %llu MiB", opt->boot.kernel_path, vm->ncpus,
            (unsigned long long)(vm->mem.bytes >> 20));
    if (vcpus_start(vm) == 0) {
        if (races && races_start(races) < 0)
            vm_request_stop(vm, HV_EXIT_SETUP_ERROR);
        /* Linux reads its console from the UART; symhv's kernel reads stdin by hypercall */
        if (boot.is_linux && !opt->fuzzing && console_start_input(con) < 0)
            hv_notice("the guest's serial line gets no input");
        main_loop(vm, con, opt->timeout_s, fuzzer);
    }
    races_stop(races); /* no kick after the vCPU threads are gone */
    if (vm_join(vm) < 0) {
        /* a thread that may still use the machine: no teardown, no results written
         * from under it; what was saved as it came stays */
        console_flush(con);
        hv_error("ending without the stuck vCPU thread(s)");
        _exit(vm->exit_status ? vm->exit_status : HV_EXIT_SETUP_ERROR);
    }
    console_stop_input(con);
    console_flush(con);
    status = vm->exit_status;
    if (races && !fuzzer && opt->races.on)
        report_races(races, engine);
    struct fz_order handoff;
    if (races && !fuzzer && !opt->has_order && status == HV_EXIT_GUEST_CRASH &&
        races_take_handoff(races, &handoff)) {
        char text[FZ_ORDER_TEXT];
        fz_order_format(&handoff, text, sizeof text);
        hv_notice("races: before the crash, the last held access went right after another "
                  "vCPU's (pc 0x%llx after pc 0x%llx): --schedule %s forces that order again",
                  (unsigned long long)handoff.wait_pc, (unsigned long long)handoff.for_pc, text);
    }
    if (races && opt->has_order)
        report_order(races, &opt->order);
    if (fuzzer) {
        status = fuzzer_finish(fuzzer, status);
    } else if (engine_finish(engine) < 0) {
        hv_error("results in %s are incomplete: some could not be written", engine_output_dir(engine));
        status = HV_EXIT_SETUP_ERROR;
    }
    engine_report(engine);
out:
    /* the reverse of the set-up: the features before the machine they use */
    races_detach(races);
    fuzzer_detach(fuzzer);
    engine_detach(engine);
    if (vm) {
        vcpus_destroy(vm);
        vm_destroy(vm);
    }
    free(pc);
    free(hc);
    free(con);
    free(vm);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    return status;
}
