// SPDX-License-Identifier: MIT
#include <string.h>

#include "pvpanic.h"

void pvpanic_io(void *opaque, uint64_t offset, uint8_t *data, unsigned size, bool is_write)
{
	struct pvpanic *p = opaque;
	if (!is_write) {
		memset(data, 0, size);
		data[0] = PVPANIC_PANICKED | PVPANIC_CRASH_LOADED;
		return;
	}
	uint8_t ev = data[0] & (PVPANIC_PANICKED | PVPANIC_CRASH_LOADED);
	if (ev && p->event)
		p->event(p->opaque, ev);
}
