#ifndef RELAY_FUZZER_DRIVER_H
#define RELAY_FUZZER_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/// Runs libFuzzer (LLVMFuzzerRunDriver from libclang_rt.fuzzer_no_main) with `callback` as the
/// target. Returns -1 without doing anything when the binary was linked without libFuzzer (the
/// normal, uninstrumented build): the caller then replays files instead.
int relay_fuzzer_run(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));

#endif
