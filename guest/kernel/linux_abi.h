/* The x86-64 Linux system-call ABI as symhv's kernel speaks it: numbers, errno values
 * and the structures programs exchange with the kernel (from the kernel's uapi headers:
 * asm/unistd_64.h, asm-generic/errno*.h, asm/stat.h, linux/sched.h, asm/signal.h,
 * asm/sigcontext.h, asm/ucontext.h, linux/time_types.h, linux/dirent.h, linux/stat.h). */
#ifndef LINUX_ABI_H
#define LINUX_ABI_H

#include <stdint.h>

enum {
    LX_read = 0, LX_write = 1, LX_open = 2, LX_close = 3, LX_stat = 4, LX_fstat = 5,
    LX_lstat = 6, LX_poll = 7, LX_lseek = 8, LX_mmap = 9, LX_mprotect = 10, LX_munmap = 11,
    LX_brk = 12, LX_rt_sigaction = 13, LX_rt_sigprocmask = 14, LX_rt_sigreturn = 15,
    LX_ioctl = 16, LX_pread64 = 17, LX_pwrite64 = 18, LX_readv = 19, LX_writev = 20,
    LX_access = 21, LX_pipe = 22, LX_sched_yield = 24, LX_shmat = 30, LX_shmctl = 31,
    LX_shmdt = 67, LX_mremap = 25, LX_msync = 26,
    LX_mincore = 27, LX_madvise = 28, LX_dup = 32, LX_dup2 = 33, LX_pause = 34,
    LX_nanosleep = 35, LX_getitimer = 36, LX_alarm = 37, LX_setitimer = 38, LX_getpid = 39,
    LX_clone = 56, LX_fork = 57, LX_vfork = 58, LX_execve = 59, LX_exit = 60, LX_wait4 = 61,
    LX_kill = 62, LX_uname = 63, LX_fcntl = 72, LX_flock = 73, LX_fsync = 74,
    LX_fdatasync = 75, LX_ftruncate = 77, LX_getcwd = 79, LX_chdir = 80, LX_fchdir = 81,
    LX_rename = 82, LX_mkdir = 83, LX_rmdir = 84, LX_creat = 85, LX_unlink = 87,
    LX_readlink = 89, LX_chmod = 90, LX_fchmod = 91, LX_umask = 95, LX_gettimeofday = 96,
    LX_getrlimit = 97, LX_getrusage = 98, LX_sysinfo = 99, LX_times = 100, LX_getuid = 102,
    LX_getgid = 104, LX_setuid = 105, LX_setgid = 106, LX_geteuid = 107, LX_getegid = 108,
    LX_setpgid = 109, LX_getppid = 110, LX_getpgrp = 111, LX_setsid = 112,
    LX_getgroups = 115, LX_getpgid = 121, LX_getsid = 124, LX_rt_sigpending = 127,
    LX_rt_sigtimedwait = 128, LX_rt_sigsuspend = 130, LX_sigaltstack = 131,
    LX_personality = 135, LX_statfs = 137, LX_fstatfs = 138, LX_getpriority = 140,
    LX_setpriority = 141, LX_sched_getparam = 143, LX_sched_setscheduler = 144,
    LX_sched_getscheduler = 145, LX_sched_get_priority_max = 146,
    LX_sched_get_priority_min = 147, LX_mlock = 149, LX_munlock = 150, LX_prctl = 157,
    LX_arch_prctl = 158, LX_setrlimit = 160, LX_sync = 162, LX_gettid = 186, LX_tkill = 200,
    LX_time = 201, LX_futex = 202, LX_sched_setaffinity = 203, LX_sched_getaffinity = 204,
    LX_getdents64 = 217, LX_set_tid_address = 218, LX_fadvise64 = 221,
    LX_clock_gettime = 228, LX_clock_getres = 229, LX_clock_nanosleep = 230,
    LX_exit_group = 231, LX_tgkill = 234, LX_openat = 257, LX_mkdirat = 258,
    LX_newfstatat = 262, LX_unlinkat = 263, LX_readlinkat = 267, LX_faccessat = 269,
    LX_ppoll = 271, LX_set_robust_list = 273, LX_get_robust_list = 274, LX_pipe2 = 293,
    LX_dup3 = 292, LX_prlimit64 = 302, LX_getcpu = 309, LX_getrandom = 318,
    LX_membarrier = 324, LX_statx = 332, LX_rseq = 334, LX_clone3 = 435,
    LX_close_range = 436, LX_faccessat2 = 439,
    LX_NR_MAX = 512, /* numbers the kernel keeps track of (unknown ones listed at exit) */
};

/* Linux's highest user address + 1 page: FS/GS bases at or above it are refused (EPERM) */
#define LX_TASK_SIZE_MAX 0x00007ffffffff000ull

enum {
    LX_EPERM = 1, LX_ENOENT = 2, LX_ESRCH = 3, LX_EINTR = 4, LX_EIO = 5, LX_EBADF = 9,
    LX_ECHILD = 10, LX_EAGAIN = 11, LX_ENOMEM = 12, LX_EACCES = 13, LX_EFAULT = 14,
    LX_EEXIST = 17, LX_ENOTDIR = 20, LX_EISDIR = 21, LX_EINVAL = 22, LX_EMFILE = 24,
    LX_ENOTTY = 25, LX_ESPIPE = 29, LX_EROFS = 30, LX_ERANGE = 34, LX_ENAMETOOLONG = 36,
    LX_ENOSYS = 38, LX_ENOTEMPTY = 39, LX_ELOOP = 40, LX_ETIMEDOUT = 110,
    LX_EOPNOTSUPP = 95,
};

/* open flags */
#define LX_O_ACCMODE 3
#define LX_O_WRONLY 1
#define LX_O_RDWR 2
#define LX_O_CREAT 0100
#define LX_O_EXCL 0200
#define LX_O_TRUNC 01000
#define LX_O_APPEND 02000
#define LX_O_NONBLOCK 04000
#define LX_O_DIRECTORY 0200000
#define LX_O_NOFOLLOW 0400000
#define LX_O_CLOEXEC 02000000
#define LX_O_PATH 010000000
#define LX_AT_FDCWD (-100)
#define LX_AT_SYMLINK_NOFOLLOW 0x100
#define LX_AT_EMPTY_PATH 0x1000

#define LX_S_IFMT 0170000
#define LX_S_IFDIR 0040000
#define LX_S_IFCHR 0020000
#define LX_S_IFREG 0100000
#define LX_S_IFLNK 0120000

struct lx_timespec { int64_t tv_sec, tv_nsec; };
struct lx_timeval { int64_t tv_sec, tv_usec; };

struct lx_stat {           /* asm/stat.h, x86-64 */
    uint64_t st_dev, st_ino, st_nlink;
    uint32_t st_mode, st_uid, st_gid, pad0;
    uint64_t st_rdev;
    int64_t st_size, st_blksize, st_blocks;
    struct lx_timespec st_atim, st_mtim, st_ctim;
    int64_t reserved[3];
};

struct lx_statx_timestamp { int64_t tv_sec; uint32_t tv_nsec; int32_t reserved; };
struct lx_statx {
    uint32_t stx_mask, stx_blksize;
    uint64_t stx_attributes;
    uint32_t stx_nlink, stx_uid, stx_gid;
    uint16_t stx_mode, spare0;
    uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
    struct lx_statx_timestamp stx_atime, stx_btime, stx_ctime, stx_mtime;
    uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
    uint64_t spare2[14];
};
#define LX_STATX_BASIC_STATS 0x7ffu

struct lx_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
    char d_name[];
};

struct lx_iovec { uint64_t base, len; };

struct lx_utsname { char sysname[65], nodename[65], release[65], version[65], machine[65],
                    domainname[65]; };

struct lx_rlimit { uint64_t cur, max; };
#define LX_RLIM_INFINITY (~0ull)
enum { LX_RLIMIT_STACK = 3, LX_RLIMIT_NOFILE = 7, LX_RLIMIT_NLIMITS = 16 };

struct lx_sysinfo {
    int64_t uptime;
    uint64_t loads[3], totalram, freeram, sharedram, bufferram, totalswap, freeswap;
    uint16_t procs, pad;
    uint32_t pad2;
    uint64_t totalhigh, freehigh;
    uint32_t mem_unit;
    char reserved[4];
};

/* clone flags */
#define LX_CSIGNAL 0xff
#define LX_CLONE_VM 0x100
#define LX_CLONE_FS 0x200
#define LX_CLONE_FILES 0x400
#define LX_CLONE_SIGHAND 0x800
#define LX_CLONE_PIDFD 0x1000
#define LX_CLONE_VFORK 0x4000
#define LX_CLONE_THREAD 0x10000
#define LX_CLONE_SYSVSEM 0x40000
#define LX_CLONE_SETTLS 0x80000
#define LX_CLONE_PARENT_SETTID 0x100000
#define LX_CLONE_CHILD_CLEARTID 0x200000
#define LX_CLONE_CHILD_SETTID 0x1000000

struct lx_clone_args {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
    uint64_t set_tid, set_tid_size, cgroup;
};

/* futex */
enum { LX_FUTEX_WAIT = 0, LX_FUTEX_WAKE = 1, LX_FUTEX_REQUEUE = 3, LX_FUTEX_CMP_REQUEUE = 4,
       LX_FUTEX_WAKE_OP = 5, LX_FUTEX_WAIT_BITSET = 9, LX_FUTEX_WAKE_BITSET = 10 };
#define LX_FUTEX_PRIVATE 128
#define LX_FUTEX_CLOCK_REALTIME 256
#define LX_FUTEX_BITSET_ALL 0xffffffffu

/* arch_prctl */
enum { LX_ARCH_SET_GS = 0x1001, LX_ARCH_SET_FS = 0x1002, LX_ARCH_GET_FS = 0x1003,
       LX_ARCH_GET_GS = 0x1004 };

/* clocks */
enum { LX_CLOCK_REALTIME = 0, LX_CLOCK_MONOTONIC = 1, LX_CLOCK_PROCESS_CPUTIME_ID = 2,
       LX_CLOCK_THREAD_CPUTIME_ID = 3, LX_CLOCK_MONOTONIC_RAW = 4,
       LX_CLOCK_REALTIME_COARSE = 5, LX_CLOCK_MONOTONIC_COARSE = 6, LX_CLOCK_BOOTTIME = 7 };
#define LX_TIMER_ABSTIME 1

/* mmap */
#define LX_PROT_WRITE 2
#define LX_MAP_SHARED 0x01
#define LX_MAP_PRIVATE 0x02
#define LX_MAP_FIXED 0x10
#define LX_MAP_ANONYMOUS 0x20
#define LX_MAP_FIXED_NOREPLACE 0x100000
#define LX_MREMAP_MAYMOVE 1
#define LX_MREMAP_FIXED 2
#define LX_MADV_DONTNEED 4

/* signals */
enum { LX_SIGHUP = 1, LX_SIGINT = 2, LX_SIGQUIT = 3, LX_SIGILL = 4, LX_SIGTRAP = 5,
       LX_SIGABRT = 6, LX_SIGBUS = 7, LX_SIGFPE = 8, LX_SIGKILL = 9, LX_SIGUSR1 = 10,
       LX_SIGSEGV = 11, LX_SIGUSR2 = 12, LX_SIGPIPE = 13, LX_SIGALRM = 14, LX_SIGTERM = 15,
       LX_SIGCHLD = 17, LX_SIGCONT = 18, LX_SIGSTOP = 19, LX_SIGTSTP = 20, LX_SIGTTIN = 21,
       LX_SIGTTOU = 22, LX_SIGURG = 23, LX_SIGWINCH = 28, LX_NSIG = 64 };
#define LX_SIG_DFL 0
#define LX_SIG_IGN 1
#define LX_SA_SIGINFO 4u
#define LX_SA_ONSTACK 0x08000000u
#define LX_SA_RESTORER 0x04000000u
#define LX_SA_NODEFER 0x40000000u
#define LX_SA_RESETHAND 0x80000000u
enum { LX_SIG_BLOCK = 0, LX_SIG_UNBLOCK = 1, LX_SIG_SETMASK = 2 };
#define LX_SS_ONSTACK 1
#define LX_SS_DISABLE 2
#define LX_MINSIGSTKSZ 2048

struct lx_sigaction { uint64_t handler, flags, restorer, mask; };
struct lx_stack { uint64_t sp; int32_t flags, pad; uint64_t size; };

struct lx_siginfo {
    int32_t si_signo, si_errno, si_code, pad;
    union {
        struct { int32_t pid; uint32_t uid; } kill;
        uint64_t addr;         /* SIGSEGV, SIGBUS, SIGILL, SIGFPE */
        uint8_t bytes[112];
    } u;
};
enum { LX_SI_USER = 0, LX_SI_TKILL = -6, LX_SEGV_MAPERR = 1, LX_SEGV_ACCERR = 2,
       LX_ILL_ILLOPN = 2, LX_FPE_INTDIV = 1, LX_TRAP_BRKPT = 1, LX_BUS_ADRALN = 1 };

struct lx_sigcontext {     /* asm/sigcontext.h, x86-64 */
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp,
        rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2, fpstate, reserved1[8];
};

struct lx_ucontext {
    uint64_t uc_flags, uc_link;
    struct lx_stack uc_stack;
    struct lx_sigcontext uc_mcontext;
    uint64_t uc_sigmask;
};

struct lx_rt_sigframe {
    uint64_t pretcode;     /* the handler returns to sa_restorer (rt_sigreturn) */
    struct lx_ucontext uc;
    struct lx_siginfo info;
};

/* auxiliary vector */
enum { LX_AT_NULL = 0, LX_AT_PHDR = 3, LX_AT_PHENT = 4, LX_AT_PHNUM = 5, LX_AT_PAGESZ = 6,
       LX_AT_BASE = 7, LX_AT_FLAGS = 8, LX_AT_ENTRY = 9, LX_AT_UID = 11, LX_AT_EUID = 12,
       LX_AT_GID = 13, LX_AT_EGID = 14, LX_AT_PLATFORM = 15, LX_AT_HWCAP = 16,
       LX_AT_CLKTCK = 17, LX_AT_SECURE = 23, LX_AT_RANDOM = 25, LX_AT_HWCAP2 = 26,
       LX_AT_EXECFN = 31, LX_AT_MINSIGSTKSZ = 51 };

#endif
