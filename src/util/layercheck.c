// SPDX-License-Identifier: MIT
/*
 * The layer check (meson.build): linked with one layer's objects whole and
 * its lower layers' libraries only, so that an upward call is an undefined
 * symbol at build time. It runs nothing.
 */
int main(void);
int main(void)
{
	return 0;
}
