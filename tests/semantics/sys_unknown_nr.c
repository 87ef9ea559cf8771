/* Syscall numbers x86-64 does not assign: the gap 335-423, 470-511 after
 * the newest calls, the x32-only 512-547 and numbers far beyond: ENOSYS
 * (the sentry's table has no entry for them). */
#include "check.h"

int main(void)
{
    start();
    CHECK("nr_400", SC(400, 0, 0, 0));
    CHECK("nr_423", SC(423, 0, 0, 0));
    CHECK("nr_470", SC(470, 0, 0, 0));
    CHECK("nr_511", SC(511, 0, 0, 0));
    CHECK("nr_512_x32", SC(512, 0, 0, 0));
    CHECK("nr_547_x32", SC(547, 0, 0, 0));
    CHECK("nr_548", SC(548, 0, 0, 0));
    CHECK("nr_100000", SC(100000, 0, 0, 0));
    CHECK("nr_minus_1", SC(-1L, 0, 0, 0));
    return 0;
}
