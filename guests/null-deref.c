/* null-deref: stores through a NULL pointer; dies of SIGSEGV (shell status 139).
 * The pointer is read from a volatile so the compiler cannot turn the store
 * into a trap instruction. */
#include <stddef.h>

int *volatile target = NULL;

int main(void)
{
    *target = 42;
    return 0;
}
