#include <stdio.h>
int main(void) { puts("hello from a gcc-built binary"); return 0; }
