/*
 * jsonpos.h: where in a JSON text a value stands, for error messages with line and column.
 *
 * cJSON keeps no positions; this scanner walks the text itself (never recursing deeper than
 * JPOS_MAX_DEPTH) to the value at a path such as jobs[3].request.TrainingJobName.
 */
#ifndef SM_JSONPOS_H
#define SM_JSONPOS_H

#include <stddef.h>

#define JPOS_MAX_DEPTH 64

/* Line and column (1-based) of byte `offset` in text. */
void jpos_line_col(const char *text, size_t offset, int *line, int *col);

/* Offset of the value at `path` ("a.b[2].c"; "" for the root) in the JSON text, or of the
 * deepest part of the path that exists. Returns 0 when nothing can be found. */
size_t jpos_find(const char *text, size_t len, const char *path);

/* Offset just past the value that starts at `at` (after white space), or 0 when there is none.
 * Lenient: it finds where a value ends, it does not check that it is valid JSON. */
size_t jpos_skip(const char *text, size_t len, size_t at);

#endif
