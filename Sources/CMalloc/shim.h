// glibc malloc tuning (mallopt), used once at start-up by dfcspice.
#include <malloc.h>
