#!/bin/sh
# /init of the busybox initramfs (scripts/linux-guest --initramfs): busybox-static's sh
# and applets, symhv-agent, smp_threads. Mounts /proc and /dev, says how many CPUs Linux
# brought up, runs each program named after "--" on the kernel command line (Linux
# passes them to init as arguments; "prog,arg1,arg2" is one program with its arguments,
# as the linux suite's own /init takes them), or with none a shell on the console
# (symhv's stdin: `printf 'nproc\n' | symhv ...`; its end, a ^D, ends the shell); then
# restarts the machine, which ends symhv's run.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc || echo "init: mount /proc failed"
mount -t devtmpfs devtmpfs /dev || echo "init: mount /dev failed"
echo "init: busybox, $(nproc) CPUs"
ran=0
for arg in "$@"; do
    case "$arg" in
    /*) ;;
    *) continue ;; # a kernel option Linux did not know, passed on to init
    esac
    ran=1
    set -f # the words are the program and its arguments, never patterns
    cmd=$(echo "$arg" | tr , ' ')
    $cmd
    echo "init: $cmd exited $?"
    set +f
done
if [ "$ran" = 0 ]; then
    echo "init: a shell on the console (exit or ^D ends it)"
    setsid cttyhack sh
    echo "init: the shell exited $?"
fi
echo "init: done, restarting"
sync
reboot -f
