/*
 * buildid.h: a text that differs between any two builds of sagemock: the version and the
 * linker's GNU build-id (a hash of the program's code and data), or, in a binary linked
 * without one, the version and the compilation time of this file.
 */
#ifndef SM_BUILDID_H
#define SM_BUILDID_H

const char *build_id(void);

#endif
