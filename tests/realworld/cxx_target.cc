// A libFuzzer target in C++ as OSS-Fuzz has them: std::string, the C library's strtol,
// and a bug behind a key compare (memcmp inside std::string) and a number. Built with
// build/cc/symhv-c++ -fsanitize=fuzzer.
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string s(reinterpret_cast<const char *>(data), size);
    size_t colon = s.find(':');
    if (colon == std::string::npos)
        return 0;
    std::string key = s.substr(0, colon);
    long value = strtol(s.c_str() + colon + 1, nullptr, 10);
    if (key == "depth" && value > 1000)
        abort(); // the bug: a depth nobody checked
    return 0;
}
