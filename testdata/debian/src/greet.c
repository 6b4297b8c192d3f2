const char *greet(void) { return "hello from libgreet.so.1"; }
