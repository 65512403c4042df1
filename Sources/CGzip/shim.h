// zlib's gz* file interface, for the gzip-compressed IDX files of (Fashion-)MNIST.
#include <zlib.h>
