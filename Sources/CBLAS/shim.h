// The BLAS and LAPACK entry points DFCSpice calls: OpenBLAS's cblas and the
// reference LAPACKE C interface (both from Debian's -dev packages).
#include <cblas.h>
#include <lapacke.h>
