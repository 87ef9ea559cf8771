/* hello-asm: no libc at all.  write(1, "hello, world\n", 13); exit(0).
 * Built with gcc -nostdlib -static (toolchain "nolibc"). */
        .section .rodata
msg:    .ascii "hello, world\n"
        .set msglen, . - msg

        .text
        .globl _start
        .type _start, @function
_start:
        mov     $1, %eax                /* SYS_write */
        mov     $1, %edi                /* fd 1 */
        lea     msg(%rip), %rsi
        mov     $msglen, %edx
        syscall
        mov     $60, %eax               /* SYS_exit */
        xor     %edi, %edi
        syscall
        hlt                             /* not reached */
        .size _start, . - _start

        .section .note.GNU-stack, "", @progbits
