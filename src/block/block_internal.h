/* SPDX-License-Identifier: MIT */
/* The block layer's own helpers, shared by its backends. */
#ifndef NV_BLOCK_INTERNAL_H
#define NV_BLOCK_INTERNAL_H

#include <stdbool.h>

/*
 * Opens an image file and takes its lock (exclusive, or shared when readonly
 * and not exclusive): 0 and *fd, or -errno with *why set to a reason for a
 * user (NULL: strerror says it). Never blocks: a FIFO or a held lock is
 * refused, and anything but a regular file or a block device is -EINVAL.
 */
int block_file_open(const char *path, bool readonly, bool exclusive, int *fd, const char **why);

#endif
