/*
** util/utf8.c: the library's one UTF-8 decoder and validator, on utf8proc
** (utf8proc_iterate). Well-formed means what Unicode's table 3-7 says:
** no stray continuation byte or invalid lead byte (C0, C1, F5..FF), no
** truncated sequence, no overlong form, no surrogate (U+D800..U+DFFF),
** nothing past U+10FFFF. Every caller that checks or decodes UTF-8 comes
** here (the tokenizers of src/text/, the embedding providers' input check,
** the CLI's JSON writer through sc_utf8_char_len); what each does with a
** bad byte (skip, replace, refuse) stays its own.
*/
#include <utf8proc.h>

#include "util/util.h"

size_t util_utf8_decode(const char *s, size_t n, int32_t *cp) {
    if (n == 0) return 0;
    utf8proc_int32_t c;
    /* a character is at most 4 bytes: utf8proc reads no further, and the
    ** length stays positive (a negative one means NUL-terminated to it) */
    utf8proc_ssize_t r = utf8proc_iterate((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)(n < 4 ? n : 4), &c);
    if (r <= 0) return 0;
    if (cp) *cp = c;
    return (size_t)r;
}

size_t util_utf8_span(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n && p[i] >= 0x80) {
        size_t len = util_utf8_decode(s + i, n - i, NULL);
        if (!len) break;
        i += len;
    }
    return i;
}

bool util_utf8_valid(const char *s, size_t n, size_t *bad_at) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) { /* ASCII needs no decoding */
            i++;
            continue;
        }
        size_t len = util_utf8_decode(s + i, n - i, NULL);
        if (!len) {
            if (bad_at) *bad_at = i;
            return false;
        }
        i += len;
    }
    return true;
}

size_t sc_utf8_char_len(const char *s, size_t n) {
    return s ? util_utf8_decode(s, n, NULL) : 0;
}
