// Process set-up used once at start-up by dfcspice: glibc malloc tuning (mallopt) and
// stdout buffering.
#include <malloc.h>
#include <stdio.h>

/// Line-buffered stdout, so progress lines and a final error line (stderr) stay in
/// order when both go to one log file. (Swift 6 cannot name C's `stdout` directly.)
static inline void dfc_line_buffered_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }
