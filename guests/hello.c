/* hello: prints "hello, world", argc and every argv entry, exits 0.
 * Built three ways: hello-musl, hello-glibc, hello-static-pie. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("hello, world\n");
    printf("argc=%d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]=%s\n", i, argv[i]);
    return 0;
}
