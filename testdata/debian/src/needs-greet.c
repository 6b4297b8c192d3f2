#include <stdio.h>
const char *greet(void);
int main(void) { puts(greet()); return 0; }
