// libngspice's shared-library interface (Debian's libngspice0-dev).
#include <stdbool.h>
#include <ngspice/sharedspice.h>
