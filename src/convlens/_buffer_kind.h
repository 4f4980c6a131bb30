/* Shared by convlens' compiled modules (_engine/_directsum.c, matching/_boxsums.c). */
#ifndef CONVLENS_BUFFER_KIND_H
#define CONVLENS_BUFFER_KIND_H

#include <Python.h>

/* A buffer's element type code ('f', 'd', ...); a leading byte-order mark of the native order
   is allowed, anything else (a foreign byte order, a struct) gives '?' */
static char
element_kind(const Py_buffer *b)
{
    const char *f = b->format;
    if (f == NULL)
        return 'B';
    if ((f[0] == '@' || f[0] == '=' || f[0] == '<') && f[1] != '\0')
        f++;
    return f[1] == '\0' ? f[0] : '?';
}

#endif
