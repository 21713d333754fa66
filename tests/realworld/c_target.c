/* A libFuzzer target in C against musl, with the C library's strstr and an assert():
 * built with SYMHV_LIBC=musl build/cc/symhv-cc -fsanitize=fuzzer. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[256];
    if (size >= sizeof text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    if (strstr(text, "<!--"))
        assert(strchr(text, '>') != NULL); /* the bug: an unterminated comment */
    return 0;
}
