/* ud2: executes the ud2 instruction; dies of SIGILL (shell status 132). */
int main(void)
{
    __asm__ volatile("ud2");
    return 0;
}
