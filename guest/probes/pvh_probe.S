/* A minimal PVH kernel: what symhv's PVH boot (the Linux vmlinux protocol) must hand
 * over. In 32-bit protected mode it checks the hvm_start_info magic and memory map,
 * prints "pvh ok: <command line>" on the 8250 UART and exits through the hypercall port
 * (status 0, or 1 if the start info is wrong). */
    .code32
    .text
    .global pvh_start
pvh_start:
    mov $stack_top, %esp              /* PVH hands over no stack */
    cmpl $0x336ec578, (%ebx)          /* hvm_start_info.magic */
    jne bad
    cmpl $2, 48(%ebx)                 /* memmap_entries: at least low RAM + high RAM */
    jb bad
    mov $msg_ok, %esi
    call puts
    mov 24(%ebx), %esi                /* cmdline_paddr */
    call puts
    mov $newline, %esi
    call puts
    xor %esi, %esi
    jmp done
bad:
    mov $1, %esi
done:
    mov $2, %edi                      /* SYMHV_HC_EXIT, status in esi */
    mov $0x510, %dx
    in %dx, %eax
1:  hlt
    jmp 1b

puts:                                 /* NUL-terminated string at esi to COM1 */
    mov $0x3f8, %dx
2:  movb (%esi), %al
    test %al, %al
    jz 3f
    out %al, %dx
    inc %esi
    jmp 2b
3:  ret

    .data
    .p2align 4
    .space 1024
stack_top:

    .section .rodata
msg_ok:  .asciz "pvh ok: "
newline: .asciz "\n"

    /* XEN_ELFNOTE_PHYS32_ENTRY: the 32-bit entry point. */
    .section .note.Xen, "a"
    .p2align 2
    .long 4, 4, 18
    .asciz "Xen"
    .long pvh_start
