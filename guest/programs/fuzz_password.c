/* A libFuzzer target behind a 12-character password checked with the runtime's strcmp
 * (no coverage inside strcmp): the compare log hands the password over. */
#include <stddef.h>
#include <stdint.h>

#include "guest.h"

static volatile uintptr_t unmapped_address = 8;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char word[32];
    if (size < 1 || size >= sizeof word)
        return 0;
    memcpy(word, data, size);
    word[size] = 0;
    if (strcmp(word, "s3cr3t_p4ss!") == 0)
        *(volatile int *)unmapped_address = 1;
    return 0;
}
