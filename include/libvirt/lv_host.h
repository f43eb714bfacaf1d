/* SPDX-License-Identifier: MIT */
/* What virtvmmd tells about the host: node info, hostname, capabilities XML. */
#ifndef NV_LV_HOST_H
#define NV_LV_HOST_H

#include "lv_codec.h"

/* root prefixes /proc and /sys ("" or NULL: the real ones). 0 or -errno. */
int lv_host_node_info(const char *root, struct lv_node_info *out);
/* malloc'd hostname (gethostname), or NULL. */
char *lv_host_hostname(void);
/* The capabilities XML (libxml2's text writer), malloc'd; 0 or -errno. */
int lv_host_capabilities(const char *root, char **xml);

#endif
