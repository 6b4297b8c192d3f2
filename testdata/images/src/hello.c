#include <stdio.h>
int main(void) { puts("hello from the fixture"); return 0; }
