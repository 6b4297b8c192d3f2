/* Linked against Debian bookworm's libcrypto.so.3 by name (no headers needed). */
#include <stdio.h>
const char *OpenSSL_version(int type);
int main(void) { printf("linked against %s\n", OpenSSL_version(0)); return 0; }
