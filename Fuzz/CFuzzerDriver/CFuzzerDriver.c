#include "CFuzzerDriver.h"

// Weak: in the normal build nothing defines it and its address is NULL; the fuzz build links
// libclang_rt.fuzzer_no_main with `-u LLVMFuzzerRunDriver` so the archive member is pulled in.
extern int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t))
    __attribute__((weak));

int relay_fuzzer_run(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size)) {
    if (!LLVMFuzzerRunDriver) return -1;
    return LLVMFuzzerRunDriver(argc, argv, callback);
}
